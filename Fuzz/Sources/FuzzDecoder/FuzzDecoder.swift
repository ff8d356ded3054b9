import FlowTrack
import FuzzSupport

let linkTypes: [LinkType] = [.ethernet, .linuxSLL, .linuxSLL2, .null, .loop, .raw, .ipv4, .ipv6]
    + [9, 50, 51, 104, 105, 119, 127, 163, 192, 204, 205, 239, 10].map { LinkType(rawValue: $0) }

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
        // Tunnels' outer headers, A-MSDU subframes and fragment reassembly, read from the same bytes.
        if packet.tunnelDepth > 0 {
            let tunnels = decoder.tunnels(in: frame.span, wireLength: frame.count + slack, of: packet)
            precondition(tunnels.count == Int(packet.tunnelDepth))
        }
        if packet.nextSubframe != 0 {
            var subframes: [DecodedPacket] = []
            decoder.decodeSubframes(frame.span, wireLength: frame.count + slack, after: packet, into: &subframes)
            precondition(subframes.count <= 64)
        }
        if packet.layers.contains(.fragment) {
            var reassembler = IPReassembler()
            if let whole = reassembler.add(frame.span, packet, time: 0) { precondition(whole.count <= 65_535 + 40 + 65_535) }
        }
        return 0
    }
}
