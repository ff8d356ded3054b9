import Foundation
import Packets
import Testing

/// No input may trap: every prefix of real frames, and random bytes, decode to a
/// result (possibly malformed or cut) for every supported link type.
@Suite struct RobustnessTests {
    static let fixtures = ["tcp-loopback.pcap", "vlan.pcap", "ipv6-ext.pcap", "ipv4-options.pcap", "fragments.pcap",
                           "sll.pcap", "sll2.pcap", "null.pcap", "loop.pcap", "raw-ip.pcap", "icmp.pcap", "checksums.pcap"]

    @Test(arguments: fixtures)
    func everyPrefixDecodesWithoutTrapping(_ name: String) throws {
        let (linkType, frames) = try readFrames(Paths.fixture(name))
        let decoder = try PacketDecoder(linkType: linkType, verifyChecksums: true)
        var p = DecodedPacket()
        for frame in frames {
            for length in 0...frame.bytes.count {
                let prefix = Array(frame.bytes.prefix(length))
                // Cut by the snapshot length: never malformed for lack of bytes.
                decoder.decode(prefix.span, wireLength: frame.bytes.count, into: &p)
                if length < frame.bytes.count {
                    #expect(p.cut != nil || p.malformed != nil, "\(name) cut at \(length)")
                    if case .truncated = p.malformed { Issue.record("\(name): snaplen cut reported as malformed at \(length)") }
                }
                // The same bytes presented as the whole packet: a lie, reported as malformed.
                decoder.decode(prefix.span, wireLength: length, into: &p)
                #expect(p.cut == nil)
            }
        }
    }

    @Test(arguments: [LinkType.ethernet, .linuxSLL, .linuxSLL2, .null, .loop, .raw, .ipv4, .ipv6])
    func randomBytesNeverTrap(_ linkType: LinkType) throws {
        let decoder = try PacketDecoder(linkType: linkType, verifyChecksums: true)
        var generator = SplitMix64(seed: UInt64(linkType.rawValue) + 1)
        var p = DecodedPacket()
        var frame = [UInt8](repeating: 0, count: 128)
        for round in 0..<20_000 {
            let length = Int(generator.next() % 128)
            for i in 0..<length { frame[i] = UInt8(truncatingIfNeeded: generator.next()) }
            // Bias the version nibble and protocol bytes towards the decodable, so deep layers get exercised.
            if length > 0, round % 2 == 0 { frame[0] = (frame[0] & 0x0F) | (round % 4 == 0 ? 0x40 : 0x60) }
            let bytes = Array(frame.prefix(length))
            decoder.decode(bytes.span, wireLength: length + Int(generator.next() % 3), into: &p)
            #expect(p.capturedLength == length)
        }
    }
}


/// Inputs the fuzzers found (Fuzz/reproducers, kept): each decodes without trapping, in the
/// fuzz target's input format — [link-type selector][wire slack][frame].
@Suite struct FuzzReproducerTests {
    /// FuzzDecoder's link types, in its order.
    static let linkTypes: [Int32] = [1, 113, 276, 0, 108, 101, 228, 229, 9, 50, 51, 104, 105, 119, 127, 163, 192, 204, 205, 239, 10]

    @Test func decoderReproducersDecode() throws {
        let dir = Paths.repository + "/Fuzz/reproducers"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("decoder-") }
        #expect(!names.isEmpty)
        for name in names {
            let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            guard data.count >= 2 else { continue }
            let linkType = LinkType(rawValue: Self.linkTypes[Int(data[0]) % Self.linkTypes.count])
            let frame = Array(data[2...])
            var packet = DecodedPacket()
            try PacketDecoder(linkType: linkType).decode(frame.span, wireLength: frame.count + Int(data[1] & 0x0F), into: &packet)
            #expect(packet.capturedLength == frame.count, "\(name)")
        }
    }
}
