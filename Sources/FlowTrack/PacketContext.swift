/// One packet as the tracker has just processed it: its headers, the connection it was
/// attributed to, its direction in that connection, and its payload bytes, borrowed from
/// the capture's buffer without a copy.
///
/// A context lives only as long as the call that receives it (it is `~Escapable`, like the
/// `Span` it holds): copy out what must outlive it.
///
/// ```swift
/// var tracker = FlowTracker()
/// var bytesToPort80 = 0
/// try tracker.run(file: "trace.pcap", packets: { packet in
///     if packet.packet.destinationPort == 80, packet.direction == .original {
///         bytesToPort80 += packet.payload.count
///     }
/// }, events: { _ in })
/// ```
public struct PacketContext: ~Escapable {
    /// When the packet was captured and its lengths.
    public let metadata: PacketMetadata
    /// The decoded headers (of the innermost packet when it came through tunnels; of the
    /// whole datagram when it completed an IP fragment reassembly).
    public let packet: DecodedPacket
    /// The tracker's number of the connection the packet was attributed to
    /// (`Connection.id`), or `nil` for a packet that belongs to none (not IP, malformed,
    /// a bad checksum, a later fragment…).
    public let connectionID: UInt64?
    /// The packet's direction in that connection: `.original` from the
    /// originator, `.reply` from the responder; `nil` without a connection.
    public let direction: Direction?
    /// The transport payload as captured (TCP segment data, UDP datagram data, ICMP data),
    /// borrowed from the capture buffer; empty when the packet carries none.
    public let payload: Span<UInt8>
    let uidSalt: UInt64
    let stopRequest: CaptureStop

    @_lifetime(copy payload)
    init(metadata: PacketMetadata, packet: DecodedPacket, connectionID: UInt64?, direction: Direction?,
         payload: Span<UInt8>, uidSalt: UInt64, stopRequest: CaptureStop) {
        self.metadata = metadata
        self.packet = packet
        self.connectionID = connectionID
        self.direction = direction
        self.payload = payload
        self.uidSalt = uidSalt
        self.stopRequest = stopRequest
    }

    /// The uid of the packet's connection (`Connection.uid`), computed on demand.
    public var uid: String? { connectionID.map { ConnectionTable.uid($0, salt: uidSalt) } }

    /// Ends the run after this packet: the method returns (without a failure) and the
    /// connections still open stay open until ``FlowTracker/finish(_:)``.
    public func stop() { stopRequest.stop() }
}

/// The failure of a run with throwing handlers: the capture's, or the first error a
/// handler threw (the run stopped at that packet).
public enum RunError<HandlerError: Error>: Error {
    /// The capture file could not be read (a `CaptureError`).
    case capture(CaptureError)
    /// A handler threw; no handler was called after it.
    case handler(HandlerError)
}

extension FlowTracker {
    /// Reads a capture file, handing every packet the tracker processes to `packets`
    /// (with its connection, direction and payload) and every connection event to `events`,
    /// in packet order.
    ///
    /// The first error either handler throws stops the run at that packet and comes out as
    /// ``RunError/handler(_:)``, typed; ``PacketContext/stop()`` stops it without an error.
    /// Connections still open stay open: call ``finish(_:)`` for them. A fragment held for
    /// reassembly is handed over as the datagram it completes.
    public mutating func run<HandlerError: Error>(
        file path: String, filter: String? = nil, stop: CaptureStop = CaptureStop(),
        packets packetHandler: (borrowing PacketContext) throws(HandlerError) -> Void,
        events eventHandler: (ConnectionEvent) throws(HandlerError) -> Void
    ) throws(RunError<HandlerError>) {
        try run(files: [path], filter: filter, stop: stop, packets: packetHandler, events: eventHandler)
    }

    /// Reads several capture files as one capture (merged by timestamp, as
    /// `run(files:filter:progress:stop:failure:_:)` reads them), handing every packet to
    /// `packets` and every event to `events` as the one-file form does. A file that cannot be
    /// read ends the run with ``RunError/capture(_:)`` (the packets before it were handled).
    public mutating func run<HandlerError: Error>(
        files paths: [String], filter: String? = nil, stop: CaptureStop = CaptureStop(),
        packets packetHandler: (borrowing PacketContext) throws(HandlerError) -> Void,
        events eventHandler: (ConnectionEvent) throws(HandlerError) -> Void
    ) throws(RunError<HandlerError>) {
        var merge = PcapMerge(paths: paths, filter: filter)
        var decoders: [PacketDecoder?] = []
        for type in merge.linkTypes {
            guard let type else { decoders.append(nil); continue }
            guard let decoder = try? PacketDecoder(linkType: type, verifyChecksums: configuration.verifyChecksums) else {
                throw .capture(.unsupportedLinkType(linkType: type, name: linkTypeName(type.rawValue)))
            }
            decoders.append(decoder)
        }
        var intake = FrameIntake(configuration: configuration, reassembler: reassembler)
        var tracker = self.tracker
        var stats = packetStatistics
        var counts = Array(repeating: 0, count: paths.count)
        var failure: HandlerError?
        defer {
            for (i, n) in counts.enumerated() where n > 0 { if let type = merge.linkTypes[i] { stats.addLinkType(type, packets: n) } }
            self.tracker = tracker
            packetStatistics = stats
            reassembler = intake.reassembler
        }
        func events(_ event: ConnectionEvent) {
            guard failure == nil else { return }
            do throws(HandlerError) { try eventHandler(event) } catch { failure = error; stop.stop() }
        }
        while !stop.isStopped {
            let read: Int?
            do throws(PcapMerge.SourceError) {
                read = try merge.next { source, meta, bytes in
                    guard let decoder = decoders[source] else { return source }
                    guard intake.take(bytes, meta, with: decoder) else {
                        intake.held(&stats)
                        return source
                    }
                    intake.track(&tracker, at: meta.timestamp, &stats, frame: bytes, events) { packet, tracker, frame in
                        guard failure == nil, !stop.isStopped else { return }
                        let id = tracker.lastConnectionID
                        let start = min(packet.payloadOffset, frame.count)
                        let end = min(start + max(0, packet.capturedPayloadLength), frame.count)
                        let context = PacketContext(
                            metadata: meta, packet: packet, connectionID: id,
                            direction: id == nil ? nil : tracker.lastFromOriginator ? .original : .reply,
                            payload: frame.extracting(start..<end), uidSalt: tracker.uidSaltValue, stopRequest: stop)
                        do throws(HandlerError) { try packetHandler(context) } catch { failure = error; stop.stop() }
                    }
                    return source
                }
            } catch {
                throw .capture(error.error)
            }
            guard let source = read else { break }
            counts[source] += 1
        }
        if let failure { throw .handler(failure) }
    }
}
