import Packets
import Testing

/// The decoder's vectorised checksum against the textbook RFC 1071 loop, on UDP
/// datagrams of every size class (each length from 0 to 300 bytes, so every tail of
/// the 64-, 32- and 8-byte steps, and random lengths up to the IPv4 maximum).
@Suite struct ChecksumTests {
    /// RFC 1071 §4.1, byte by byte: big-endian 16-bit words, end-around carry.
    static func reference(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            sum = (sum & 0xFFFF) + (sum >> 16)
            i += 2
        }
        if i < bytes.count {
            sum += UInt32(bytes[i]) << 8
            sum = (sum & 0xFFFF) + (sum >> 16)
        }
        return ~UInt16(sum)
    }

    /// A raw IPv4 packet carrying `payload` over UDP, both checksums set by `reference`.
    static func datagram(_ payload: [UInt8]) -> [UInt8] {
        let udpLength = 8 + payload.count, total = 20 + udpLength
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0x12, 0x34, 0, 0, 64, 17, 0, 0,
                           192, 0, 2, 1, 198, 51, 100, 7]
        let ipSum = reference(ip)
        ip[10] = UInt8(ipSum >> 8); ip[11] = UInt8(ipSum & 0xFF)
        var udp: [UInt8] = [0xC3, 0x50, 0x00, 0x35, UInt8(udpLength >> 8), UInt8(udpLength & 0xFF), 0, 0] + payload
        let pseudo: [UInt8] = Array(ip[12..<20]) + [0, 17, UInt8(udpLength >> 8), UInt8(udpLength & 0xFF)]
        var udpSum = reference(pseudo + udp)
        if udpSum == 0 { udpSum = 0xFFFF }  // RFC 768: a computed 0 is sent as all ones
        udp[6] = UInt8(udpSum >> 8); udp[7] = UInt8(udpSum & 0xFF)
        return ip + udp
    }

    static func verdict(_ frame: [UInt8]) throws -> ChecksumStatus {
        let decoder = try PacketDecoder(linkType: .raw, verifyChecksums: true)
        var p = DecodedPacket()
        decoder.decode(frame.span, wireLength: frame.count, into: &p)
        #expect(p.malformed == nil)
        #expect(p.ipChecksum == .good)
        return p.transportChecksum
    }

    @Test func agreesWithRFC1071OnEveryLength() throws {
        var generator = SplitMix64(seed: 1071)
        var lengths = Array(0...300)
        for _ in 0..<40 { lengths.append(Int(generator.next() % 65_507)) }
        lengths.append(65_507)
        for length in lengths {
            let payload = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            var frame = Self.datagram(payload)
            #expect(try Self.verdict(frame) == .good, "payload of \(length) bytes")
            guard length > 0 else { continue }
            // Any one changed byte changes the sum (a change of one byte is never a multiple of 0xFFFF).
            let at = 28 + Int(generator.next() % UInt64(length))
            frame[at] ^= UInt8(1 + generator.next() % 255)
            #expect(try Self.verdict(frame) == .bad, "payload of \(length) bytes, byte \(at) changed")
        }
    }

    @Test func agreesWithRFC1071WhenEveryAdditionCarries() throws {
        // All-ones payloads make every partial sum as large as it can be; all-zero ones
        // keep it zero (the sum must still verify).
        for byte: UInt8 in [0xFF, 0x00, 0x80] {
            for length in Array(0...140) + [1_000, 65_507] {
                var frame = Self.datagram([UInt8](repeating: byte, count: length))
                #expect(try Self.verdict(frame) == .good, "\(length) bytes of \(byte)")
                guard length > 0 else { continue }
                frame[28 + length / 2] ^= 0x01
                #expect(try Self.verdict(frame) == .bad, "\(length) bytes of \(byte), one bit changed")
            }
        }
    }
}
