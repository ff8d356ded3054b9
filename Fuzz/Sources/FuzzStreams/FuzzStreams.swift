import FlowTrack
import FuzzSupport

/// One input = a flags byte, then segments: [control][seq delta][ack delta][length][payload]…
/// control: bit 0 side (0 originator), bits 1-2 connection (4 of them), bits 3-7 TCP flags
/// (FIN, SYN, RST, PSH, ACK). Sequence and acknowledgment numbers move by signed deltas
/// around start values near 2^32, so segments overlap, leave holes, repeat and wrap. Tiny
/// limits make overflows frequent. After every segment the held bytes must stay within the
/// limit; at the end every stream must have ended and nothing may be held.
@_cdecl("FuzzStreams_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in testOneInput(data, size) }
}

struct Checker: StreamHandler {
    var received = [0, 0]
    var ended = false
    let onEnd: () -> Void
    mutating func receive(_ bytes: Span<UInt8>, from direction: Direction) {
        precondition(!ended && bytes.count > 0)
        received[direction == .original ? 0 : 1] += bytes.count
    }
    mutating func gap(_ length: Int, in direction: Direction) { precondition(!ended && length > 0) }
    mutating func end(_ reason: StreamEnd) {
        precondition(!ended)
        ended = true
        onEnd()
    }
}

/// libFuzzer's runtime also references this symbol; it runs one input.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = StreamLimits(perDirection: 64 + Int(bytes[0] & 0x3F) * 8, total: 256)
    var streams = StreamDemultiplexer(limits: limits)
    var started = 0, ended = 0
    streams.register(port: 80, overflow: bytes[0] & 0x80 == 0 ? .skipAhead : .dropStream) { _ in
        started += 1
        return Checker(onEnd: { ended += 1 })
    }
    let server = Endpoint(IPAddress("192.0.2.80")!, 80)
    let connections = (0..<4).map { k in
        StreamStart(connectionID: UInt64(k), uid: "C\(k)", originator: Endpoint(IPAddress("10.0.0.\(k + 1)")!, 40000), responder: server,
                    transport: .tcp)
    }
    var seq: [UInt32] = [0xFFFF_FF00, 0x7FFF_FFF0, 0, 0xFFFF_FFF0, 12345, 99, 0xFFFF_0000, 1]
    var ack: [UInt32] = [0, 0, 0, 0, 0, 0, 0, 0]
    let payloadBytes = [UInt8](repeating: 0x61, count: 255)
    var i = 1
    while i + 4 <= bytes.count {
        let control = bytes[i], k = Int(control >> 1 & 3), side = Int(control & 1)
        let slot = k * 2 + side
        seq[slot] = seq[slot] &+ UInt32(bitPattern: Int32(Int8(bitPattern: bytes[i + 1])) * 16)
        ack[slot] = ack[slot] &+ UInt32(bitPattern: Int32(Int8(bitPattern: bytes[i + 2])) * 16)
        let length = Int(bytes[i + 3])
        i += 4
        var flags = TCPFlags()
        if control & 0x08 != 0 { flags.insert(.fin) }
        if control & 0x10 != 0 { flags.insert(.syn) }
        if control & 0x20 != 0 { flags.insert(.rst) }
        if control & 0x40 != 0 { flags.insert(.psh) }
        if control & 0x80 != 0 { flags.insert(.ack) }
        let c = connections[k]
        streams.segment(payloadBytes.span.extracting(0..<length), sequence: seq[slot], acknowledgment: ack[slot], flags: flags,
                        from: side == 0 ? c.originator : c.responder, of: c)
        precondition(streams.statistics.heldBytes <= limits.total && streams.statistics.heldBytes >= 0)
        if length == 0, control & 0x78 == 0x78 { streams.end(connection: UInt64(k), reason: .timeout) }
    }
    for k in 0..<4 { streams.end(connection: UInt64(k), reason: .endOfInput) }
    precondition(streams.statistics.heldBytes == 0, "held bytes left: \(streams.statistics.heldBytes)")
    precondition(ended == started, "\(started) streams started, \(ended) ended")
    return 0
}
