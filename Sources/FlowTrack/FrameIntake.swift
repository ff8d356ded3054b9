/// Turns captured frames into the packets the tracker takes: decoding (link layer to
/// transport), 802.11 A-MSDU subframes, the outer headers of tunnels, and IP fragment
/// reassembly. One per reading loop; nothing is allocated per packet but for fragments.
package struct FrameIntake {
    /// Decodes reassembled datagrams (raw IP).
    let raw: PacketDecoder
    /// Whether fragments are reassembled (``TrackerConfiguration/reassembleFragments``).
    let reassemble: Bool
    /// The fragments held until their datagrams complete.
    package private(set) var reassembler: IPReassembler
    /// Whether the reassembler holds datagrams (so that a packet without fragments about costs
    /// one test, not a look into its table).
    var holding: Bool
    /// The last frame's packet (or the datagram it completed).
    package var packet = DecodedPacket()
    /// The last frame's A-MSDU subframes after the first (valid when `packet.nextSubframe != 0`).
    package var subframes: [DecodedPacket] = []
    /// The last packet's tunnels (valid when `packet.tunnelDepth > 0`).
    package var tunnels = TunnelStack()
    /// The last frame's fragment, as decoded, when the last frame was one (``packet`` may be
    /// the datagram it completed; an IPv6 datagram no longer has its fragment header).
    package private(set) var fragmentSeen: DecodedPacket?
    /// Whether the last frame was a fragment (checked per packet without copying the optional).
    package private(set) var fragmentPending = false
    /// The bytes of the last datagram a fragment completed (``packet``'s offsets refer to
    /// them when ``fragmentPending`` is set and the frame was not held).
    package private(set) var datagram: [UInt8] = []
    /// The position of the last packet handed to the tracker (each frame's packet and each
    /// A-MSDU subframe takes one; see `ConnectionTable.begin(ordinal:)`).
    package var ordinal: UInt64

    package init(configuration: TrackerConfiguration, reassembler: IPReassembler, ordinal: UInt64 = 0) {
        self.ordinal = ordinal
        // Raw IP is always decodable.
        raw = (try? PacketDecoder(linkType: LinkType(rawValue: 101), verifyChecksums: configuration.verifyChecksums))!
        reassemble = configuration.reassembleFragments
        self.reassembler = reassembler
        holding = reassembler.pending > 0
    }

    /// Decodes one frame into ``packet``; `false` when it is a fragment held until its
    /// datagram completes (nothing for the tracker yet; count it with ``held(_:)``).
    @inline(__always)
    package mutating func take(_ bytes: Span<UInt8>, _ meta: PacketMetadata, with decoder: PacketDecoder) -> Bool {
        decoder.decode(bytes, wireLength: meta.wireLength, into: &packet)
        if fragmentPending { fragmentSeen = nil; fragmentPending = false }
        if holding {
            reassembler.expire(at: meta.timestamp.nanoseconds)
            holding = reassembler.pending > 0
        }
        // A first fragment may cut its transport header short (tiny fragments): the IP header decides.
        if reassemble, packet.layers.contains(.fragment), packet.ipVersion != 0, packet.fragmentHeaderOffset > 0 {
            let fragment = packet
            fragmentSeen = fragment
            fragmentPending = true
            let completed = reassembler.add(bytes, fragment, time: meta.timestamp.nanoseconds)
            holding = reassembler.pending > 0
            guard let whole = completed else { return false }
            datagram = whole
            let raw = self.raw
            var assembled = DecodedPacket()
            raw.decode(whole.span, wireLength: whole.count, into: &assembled)
            // A datagram reassembled inside a tunnel keeps the tunnels of its last fragment's frame.
            var stack = fragment.tunnelDepth > 0 ? decoder.tunnels(in: bytes, wireLength: meta.wireLength, of: fragment) : TunnelStack()
            if assembled.tunnelDepth > 0 { stack.append(contentsOf: raw.tunnels(in: whole.span, wireLength: whole.count, of: assembled)) }
            if stack.count > 0 {
                tunnels = stack
                assembled.tunnelDepth = UInt8(stack.count)
            }
            packet = assembled
            return true
        }
        if packet.tunnelDepth > 0 { tunnels = decoder.tunnels(in: bytes, wireLength: meta.wireLength, of: packet) }
        if packet.nextSubframe != 0 { decoder.decodeSubframes(bytes, wireLength: meta.wireLength, after: packet, into: &subframes) }
        return true
    }

    /// Counts a fragment ``take(_:_:with:)`` held.
    package mutating func held(_ statistics: inout PacketStatistics) {
        if fragmentPending, let fragment = fragmentSeen { statistics.add(fragment) }
        fragmentSeen = nil
        fragmentPending = false
    }

    /// Hands ``packet`` (with its tunnels) and any subframes to the tracker, counting them,
    /// and each of them after it is processed to `each` with the bytes its offsets refer
    /// to (`frame`, or the reassembled datagram).
    @inline(__always)
    package mutating func track(_ tracker: inout ConnectionTable, at time: Timestamp, _ statistics: inout PacketStatistics,
                                frame: Span<UInt8>, _ handler: (ConnectionEvent) -> Void,
                                each: (DecodedPacket, borrowing ConnectionTable, Span<UInt8>) -> Void) {
        // One immutable copy that the calls borrow (the stored packet would be copied for each).
        let current = packet
        let reassembled = fragmentPending  // `held` clears it
        if reassembled {
            held(&statistics)  // the frame as read; its datagram goes to the tracker
        } else {
            statistics.add(current)
        }
        ordinal += 1
        tracker.begin(ordinal: ordinal)
        if current.tunnelDepth == 0 { tracker.process(current, at: time, handler) } else {
            tracker.process(current, tunnels: tunnels, at: time, handler)
        }
        if reassembled { each(current, tracker, datagram.span) } else { each(current, tracker, frame) }
        if current.nextSubframe != 0 {
            for sub in subframes {
                statistics.add(sub)
                ordinal += 1
                tracker.begin(ordinal: ordinal)
                tracker.process(sub, at: time, handler)
                each(sub, tracker, frame)
            }
        }
    }

    /// Hands ``packet`` (with its tunnels) and any subframes to `shards`, counting them and
    /// numbering them as ``track(_:at:_:_:)`` does.
    @inline(__always)
    package mutating func dispatch(to shards: inout PacketDispatcher, at time: Timestamp, _ statistics: inout PacketStatistics) {
        let reassembled = fragmentPending
        if reassembled { held(&statistics) } else { statistics.add(packet) }
        ordinal += 1
        shards.add(packet, tunnels: packet.tunnelDepth == 0 ? nil : tunnels, at: time.nanoseconds, ordinal: ordinal)
        if packet.nextSubframe != 0 {
            for sub in subframes {
                statistics.add(sub)
                ordinal += 1
                shards.add(sub, tunnels: nil, at: time.nanoseconds, ordinal: ordinal)
            }
        }
    }

    /// Hands ``packet`` (with its tunnels) and any subframes to the tracker, counting them.
    @inline(__always)
    package mutating func track(_ tracker: inout ConnectionTable, at time: Timestamp, _ statistics: inout PacketStatistics,
                                _ handler: (ConnectionEvent) -> Void) {
        let noFrame: [UInt8] = []
        track(&tracker, at: time, &statistics, frame: noFrame.span, handler) { _, _, _ in }
    }
}
