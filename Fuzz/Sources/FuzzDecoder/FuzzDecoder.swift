import FlowTrack
import FuzzSupport

let linkTypes: [LinkType] = [.ethernet, .linuxSLL, .linuxSLL2, .null, .loop, .raw, .ipv4, .ipv6]

/// One input = one frame: the first byte picks the link type, the second the wire-length
/// slack (snaplen cuts), the rest is the frame. Checksums are verified, so every path runs.
///
/// The entry point: SwiftPM links this executable with `--defsym main=FuzzDecoder_main`.
@_cdecl("FuzzDecoder_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in testOneInput(data, size) }
}

/// libFuzzer's runtime also references this symbol; it runs one input.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    do {
        guard let data, size >= 2 else { return 0 }
        let linkType = linkTypes[Int(data[0]) % linkTypes.count]
        let slack = Int(data[1] & 0x0F)
        let frame = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
        let decoder = try! PacketDecoder(linkType: linkType, verifyChecksums: true)
        var packet = DecodedPacket()
        decoder.decode(frame.span, wireLength: frame.count + slack, into: &packet)
        precondition(packet.capturedLength == frame.count)
        if packet.capturedPayloadLength > 0 {
            precondition(packet.payloadOffset + packet.capturedPayloadLength <= frame.count)
        }
        _ = PacketLine.format(PacketMetadata(timestamp: Timestamp(nanoseconds: 0), capturedLength: frame.count,
                                             wireLength: frame.count + slack), packet)
        return 0
    }
}
