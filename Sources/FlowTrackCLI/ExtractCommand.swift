import ArgumentParser
import FlowTrack

/// `flowtrack extract`: the packets of one connection, written to a pcap file.
public struct ExtractCommand: ParsableCommand {
    /// The command's help text.
    public static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Write exactly the packets of one connection to a pcap file.",
        discussion: """
            The connection is named by its uid (as `flowtrack conn` printed it for the same \
            files and options), its Community ID, or its 5-tuple; a tuple that was reused \
            selects all of its rows. Packets are attributed as `conn` attributes them, so \
            the output holds exactly the packets counted in that row.

            EXAMPLES:
              flowtrack extract trace.pcap --uid CLWNqGF8EP1yne1Qk -w one.pcap
              flowtrack extract trace.pcap --community-id '1:LQU9qZl…rg=' -w one.pcap
              flowtrack extract t.pcap --tuple 'tcp 10.0.0.1:40000 10.0.0.2:80' -w 1.pcap
              flowtrack extract t.pcap --tuple 'udp [fe80::1]:53 [ff02::fb]:53' -w 2.pcap
            """)

    /// The options shared with `conn`.
    @OptionGroup public var tracking: TrackingOptions

    /// uid to extract.
    @Option(help: "The uid of the connection.")
    public var uid: String?

    /// Community ID to extract.
    @Option(name: .customLong("community-id"), help: "The Community ID of the connection.")
    public var communityID: String?

    /// 5-tuple to extract.
    @Option(help: "The 5-tuple: 'PROTO ADDR:PORT ADDR:PORT' (IPv6 in brackets), either direction.")
    public var tuple: String?

    /// Output file.
    @Option(name: [.customShort("w"), .customLong("write")], help: "The pcap file to write.")
    public var output: String

    /// Creates the command.
    public init() {}

    /// A parsed `--tuple`.
    struct Tuple: Equatable {
        var transport: String
        var a: Endpoint
        var b: Endpoint

        init?(_ text: String) {
            let parts = text.split(separator: " ").map(String.init)
            guard parts.count == 3, ["tcp", "udp", "icmp", "unknown_transport"].contains(parts[0]),
                  let a = Self.endpoint(parts[1]), let b = Self.endpoint(parts[2]) else { return nil }
            transport = parts[0]
            self.a = a
            self.b = b
        }

        static func endpoint(_ s: String) -> Endpoint? {
            guard let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]) else { return nil }
            var host = String(s[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard let address = IPAddress(host), address.isIPv4 != host.contains(":") else { return nil }
            return Endpoint(address, port)
        }

        func matches(_ c: Connection) -> Bool {
            c.transport.description == transport
                && ((c.originator == a && c.responder == b) || (c.originator == b && c.responder == a))
        }
    }

    /// Validates options.
    public func validate() throws {
        let given = [uid != nil, communityID != nil, tuple != nil].filter { $0 }.count
        guard given == 1 else { throw ValidationError("give exactly one of --uid, --community-id or --tuple") }
        if let tuple, Tuple(tuple) == nil {
            throw ValidationError("--tuple must look like 'tcp 10.0.0.1:1234 10.0.0.2:80' (got '\(tuple)')")
        }
    }

    /// Runs against standard output and standard error.
    public func run() throws {
        try runWithStandardStreams { out, err in execute(out: &out, err: &err) }
    }

    /// Runs the command, writing to the given sinks, and returns the exit status.
    public func execute(out: inout some TextSink, err: inout some TextSink) -> ExitStatus {
        let configuration = tracking.configuration(communityID: communityID != nil)
        let wanted = tuple.flatMap(Tuple.init)
        // Pass 1: which connections (tracker numbers) are wanted.
        var first = FlowTracker(configuration: configuration)
        var ids = Set<UInt64>()
        var quiet = tracking
        quiet.quiet = true
        let status = quiet.track(&first, err: &err) { event in
            guard case let .ended(c) = event else { return }
            if let uid, c.uid == uid { ids.insert(c.id) }
            if let communityID, c.communityID == communityID { ids.insert(c.id) }
            if let wanted, wanted.matches(c) { ids.insert(c.id) }
        }
        guard !ids.isEmpty else {
            err.writeError("no connection matches \(uid.map { "uid \($0)" } ?? communityID.map { "community id \($0)" } ?? "tuple '\(tuple ?? "")'")")
            return status == .success ? .failure : status
        }
        // Pass 2: the same tracking again, writing the packets attributed to them.
        var tracker = ConnectionTable(configuration: configuration)
        var writer: PcapWriter?
        var written = 0
        // The files merged by time exactly as pass 1 read them.
        var merge = PcapMerge(paths: tracking.files, filter: tracking.filter)
        let decoders = merge.linkTypes.map { type in type.flatMap { try? PacketDecoder(linkType: $0, verifyChecksums: configuration.verifyChecksums) } }
        if let first = merge.linkTypes.lazy.compactMap({ $0 }).first {
            if let other = merge.linkTypes.firstIndex(where: { $0 != nil && $0 != first }) {
                err.writeError("\(tracking.files[other]): link type \(linkTypeName(merge.linkTypes[other]!.rawValue)) differs from the first file's; one pcap holds one link type")
                return .failure
            }
            do throws(CaptureError) { writer = try PcapWriter(path: output, linkType: first, snapshotLength: 262_144) } catch {
                err.writeError("\(error)")
                return .failure
            }
        }
        var intake = FrameIntake(configuration: configuration, reassembler: IPReassembler())
        // Fragments wait with their datagram: written with it when it completes and is wanted.
        var held: [String: [(PacketMetadata, [UInt8])]] = [:]
        while true {
            do throws(PcapMerge.SourceError) {
                guard try merge.next({ source, meta, bytes in
                    guard let decoder = decoders[source] else { return }
                    let ready = intake.take(bytes, meta, with: decoder)
                    // A fragment's datagram: its addresses and identification (IPv4's or the IPv6 fragment header's).
                    let fragmentKey = intake.fragmentPending ? intake.fragmentSeen.map { "\($0.source) \($0.destination) \($0.fragmentIdentification)" } : nil
                    guard ready else {
                        guard let fragmentKey else { return }
                        if held[fragmentKey, default: []].count < 1024 {
                            var copy = [UInt8](repeating: 0, count: bytes.count)
                            for i in bytes.indices { copy[i] = bytes[i] }
                            held[fragmentKey, default: []].append((meta, copy))
                        }
                        return
                    }
                    let packet = intake.packet
                    // Numbered as pass 1 numbered them, so that connections get the same numbers.
                    intake.ordinal += 1
                    tracker.begin(ordinal: intake.ordinal)
                    tracker.process(packet, tunnels: intake.tunnels, at: meta.timestamp) { _ in }
                    // A tunnelled frame is written whole, for its inner connection or for the UDP one carrying it.
                    var wanted = tracker.lastConnectionID.map(ids.contains) ?? false
                    if let carrier = tracker.lastCarrierConnectionID, ids.contains(carrier) { wanted = true }
                    if packet.nextSubframe != 0 {
                        // An A-MSDU: the frame is written if any of its subframes is wanted.
                        for sub in intake.subframes {
                            intake.ordinal += 1
                            tracker.begin(ordinal: intake.ordinal)
                            tracker.process(sub, at: meta.timestamp) { _ in }
                            if let id = tracker.lastConnectionID, ids.contains(id) { wanted = true }
                        }
                    }
                    let earlier = held.isEmpty ? [] : fragmentKey.flatMap { held.removeValue(forKey: $0) } ?? []
                    if wanted {
                        for (m, frame) in earlier { writer?.write(m, bytes: frame.span) }
                        writer?.write(meta, bytes: bytes)
                        written += 1 + earlier.count
                    }
                }) != nil else { break }
            } catch {
                continue  // pass 1 reported it; the packets before the damage are written
            }
        }
        do throws(CaptureError) { try writer?.flush() } catch {
            err.writeError("\(error)")
            return .failure
        }
        err.writeError("wrote \(written) packets of \(ids.count) connection\(ids.count == 1 ? "" : "s") to \(output)")
        return status
    }
}
