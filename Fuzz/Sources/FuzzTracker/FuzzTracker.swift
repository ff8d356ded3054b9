import FlowTrack
import FuzzSupport

/// One input = a flags byte, then Ethernet frames: [time step byte][length byte][frame]…
/// Each is decoded and tracked (checksums off, so crafted segments reach the TCP
/// logic; a small table so eviction runs); every record is formatted in every format.
///
/// The entry point: SwiftPM links this executable with `--defsym main=FuzzTracker_main`.
@_cdecl("FuzzTracker_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in testOneInput(data, size) }
}

/// libFuzzer's runtime also references this symbol; it runs one input.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    do {
        guard let data, size > 0 else { return 0 }
        let bytes = Array(UnsafeBufferPointer(start: data, count: size))
        var configuration = TrackerConfiguration()
        configuration.verifyChecksums = bytes[0] & 1 == 1
        configuration.maxFlows = 4
        configuration.events = bytes[0] & 4 == 4 ? .all : [.ended]
        configuration.computeCommunityID = bytes[0] & 8 == 8
        configuration.profile = bytes[0] & 2 == 2 ? .conntrack : .zeek
        configuration.tunnelLog = bytes[0] & 16 == 16
        configuration.recordVLANs = bytes[0] & 32 == 32
        configuration.recordL2Addresses = bytes[0] & 32 == 32
        configuration.vlanInKey = bytes[0] & 64 == 64
        var tracker = ConnectionTable(configuration: configuration)
        let decoder = try! PacketDecoder(linkType: .ethernet, verifyChecksums: configuration.verifyChecksums)
        let columns = ConnLogColumns(communityID: configuration.computeCommunityID)
        var packet = DecodedPacket()
        var reassembler = IPReassembler()
        let raw = try! PacketDecoder(linkType: LinkType(rawValue: 101), verifyChecksums: configuration.verifyChecksums)
        var time: Int64 = 1_700_000_000_000_000_000
        var i = 1
        func consume(_ event: ConnectionEvent) {
            let c = event.connection
            _ = ZeekLogWriter(columns: columns).rowBytes(c)
            _ = JSONLinesWriter(columns: columns).rowBytes(c)
            _ = CSVWriter(columns: columns).rowBytes(c)
        }
        while i + 2 <= bytes.count {
            // Steps of 50 ms up to 12.45 s (timers fire), and from 250 up, years (captures jump).
            let step = Int64(bytes[i])
            time += step < 250 ? step * 50_000_000 : (step - 249) * 100_000_000_000_000_000
            time = min(time, 4_294_967_295_000_000_000)  // pcap seconds are 32-bit
            let length = Int(bytes[i + 1])
            i += 2
            let frame = Array(bytes[i..<min(bytes.count, i + length)])
            i += length
            decoder.decode(frame.span, wireLength: frame.count, into: &packet)
            // As FlowTracker takes frames: fragments reassembled, tunnels' outer headers read again.
            if packet.layers.contains(.fragment), packet.ipVersion != 0 {
                guard let whole = reassembler.add(frame.span, packet, time: time) else { continue }
                raw.decode(whole.span, wireLength: whole.count, into: &packet)
                let tunnels = raw.tunnels(in: whole.span, wireLength: whole.count, of: packet)
                tracker.process(packet, tunnels: tunnels, at: Timestamp(nanoseconds: time), consume)
            } else if packet.tunnelDepth > 0 {
                let tunnels = decoder.tunnels(in: frame.span, wireLength: frame.count, of: packet)
                tracker.process(packet, tunnels: tunnels, at: Timestamp(nanoseconds: time), consume)
            } else {
                tracker.process(packet, at: Timestamp(nanoseconds: time), consume)
            }
            _ = tracker.takeTunnelRecords()
        }
        tracker.flush(consume)
        precondition(tracker.activeConnections == 0)
        return 0
    }
}
