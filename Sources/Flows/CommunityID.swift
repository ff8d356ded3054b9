/// Community ID flow hashing, version 1 (https://github.com/corelight/community-id-spec),
/// so rows join with Zeek, Suricata and Elastic data.
public enum CommunityID {
    /// The Community ID of a flow: `1:` + base64(SHA-1(seed, addresses, protocol, 0, ports)).
    ///
    /// The endpoints are ordered as the spec says — (source address, source port) <
    /// (destination address, destination port), addresses first — except for one-way
    /// ICMP messages, which keep their direction. Ports are hashed for TCP, UDP,
    /// SCTP and ICMP (type and counterpart-or-code), and left out otherwise.
    ///
    /// - Parameters:
    ///   - ipProtocol: the IP protocol number.
    ///   - source: the originator (for ICMP, port = type).
    ///   - destination: the responder (for ICMP, port = counterpart type or code).
    ///   - oneWay: `true` for one-way ICMP types, which are not reordered.
    ///   - seed: the 16-bit seed (default 0).
    public static func v1(ipProtocol: UInt8, source: Endpoint, destination: Endpoint, oneWay: Bool = false, seed: UInt16 = 0) -> String {
        var s = source, d = destination
        if !oneWay, FlowKey.less(d, s) { swap(&s, &d) }
        var message: [UInt8] = [UInt8(seed >> 8), UInt8(seed & 0xFF)]
        message += s.address.bytes
        message += d.address.bytes
        message += [ipProtocol, 0]
        switch ipProtocol {
        case 1, 6, 17, 58, 132:
            message += [UInt8(s.port >> 8), UInt8(s.port & 0xFF), UInt8(d.port >> 8), UInt8(d.port & 0xFF)]
        default:
            break
        }
        return "1:" + base64(SHA1.digest(message))
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], 61]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// SHA-1 (FIPS 180-4), for Community ID only.
enum SHA1 {
    static func digest(_ message: [UInt8]) -> [UInt8] {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        var data = message
        let bitLength = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        var w = [UInt32](repeating: 0, count: 80)
        for block in stride(from: 0, to: data.count, by: 64) {
            for t in 0..<16 {
                let b = block + t * 4
                w[t] = UInt32(data[b]) << 24 | UInt32(data[b + 1]) << 16 | UInt32(data[b + 2]) << 8 | UInt32(data[b + 3])
            }
            for t in 16..<80 { w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1) }
            var (a, b, c, d, e) = h
            for t in 0..<80 {
                let f: UInt32, k: UInt32
                switch t {
                case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
                case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
                case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
                default: f = b ^ c ^ d; k = 0xCA62_C1D6
                }
                let temp = rotl(a, 5) &+ f &+ e &+ k &+ w[t]
                e = d; d = c; c = rotl(b, 30); b = a; a = temp
            }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }
        var out: [UInt8] = []
        for word in [h.0, h.1, h.2, h.3, h.4] {
            out += [UInt8(word >> 24), UInt8(word >> 16 & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)]
        }
        return out
    }

    static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
}
