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
        // The message (at most 40 bytes) goes into one 64-byte SHA-1 block on the stack.
        var block = InlineArray<64, UInt8>(repeating: 0)
        var n = 0
        func put(_ byte: UInt8) { block[n] = byte; n += 1 }
        func put(_ address: IPAddress) {
            if address.isIPv4 {
                for shift in stride(from: 24, through: 0, by: -8) { put(UInt8(truncatingIfNeeded: address.low >> UInt64(shift))) }
            } else {
                for shift in stride(from: 56, through: 0, by: -8) { put(UInt8(truncatingIfNeeded: address.high >> UInt64(shift))) }
                for shift in stride(from: 56, through: 0, by: -8) { put(UInt8(truncatingIfNeeded: address.low >> UInt64(shift))) }
            }
        }
        put(UInt8(seed >> 8)); put(UInt8(truncatingIfNeeded: seed))
        put(s.address)
        put(d.address)
        put(ipProtocol); put(0)
        switch ipProtocol {
        case 1, 6, 17, 58, 132:
            put(UInt8(s.port >> 8)); put(UInt8(truncatingIfNeeded: s.port))
            put(UInt8(d.port >> 8)); put(UInt8(truncatingIfNeeded: d.port))
        default:
            break
        }
        let h = SHA1.digestOfShortMessage(block, length: n)
        // "1:" + base64 of the 20 digest bytes: 27 symbols and one "=", built on the stack.
        let digest = SHA1.bytes(h)
        func byte(_ k: Int) -> UInt32 { k < 20 ? UInt32(digest[k]) : 0 }  // a zero byte pads the last group
        var text = InlineArray<30, UInt8>(repeating: 0)
        text[0] = UInt8(ascii: "1"); text[1] = UInt8(ascii: ":")
        for group in 0..<7 {
            let i = 3 * group
            let bits = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2)
            for j in 0..<4 { text[2 + 4 * group + j] = base64Symbol(bits >> UInt32(18 - 6 * j)) }
        }
        text[29] = UInt8(ascii: "=")
        return String(ascii: text.span)
    }

    /// The base64 symbol (RFC 4648 table 1) for the low 6 bits of `value`, without
    /// branches: the digest's bits are random, so a branch per range would be
    /// mispredicted about once a symbol.
    static func base64Symbol(_ value: UInt32) -> UInt8 {
        let v = value & 63
        @inline(__always) func step(_ atLeast: UInt32) -> UInt32 { v >= atLeast ? 1 : 0 }
        // 'A' + v, then +6 from 'a' (26), -75 from '0' (52), -15 for '+' (62), +3 for '/' (63).
        let symbol = 65 &+ v &+ 6 &* step(26) &- 75 &* step(52) &- 15 &* step(62) &+ 3 &* step(63)
        return UInt8(truncatingIfNeeded: symbol)
    }
}

extension String {
    /// A string of the ASCII bytes in `bytes` (FlowTrack's own generated text).
    init(ascii bytes: Span<UInt8>) {
        do {
            self = try String(copying: UTF8Span(validating: bytes))
        } catch {
            // Not reached for ASCII; decode with replacement characters rather than trap.
            var copy: [UInt8] = []
            for i in bytes.indices { copy.append(bytes[i]) }
            self = String(decoding: copy, as: UTF8.self)
        }
    }
}

/// SHA-1 (FIPS 180-4), for Community ID only.
enum SHA1 {
    typealias State = (UInt32, UInt32, UInt32, UInt32, UInt32)
    static let initial: State = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)

    /// The digest of any message.
    static func digest(_ message: [UInt8]) -> [UInt8] {
        var h = initial
        var data = message
        let bitLength = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        for start in stride(from: 0, to: data.count, by: 64) {
            var block = InlineArray<64, UInt8>(repeating: 0)
            for i in 0..<64 { block[i] = data[start + i] }
            compress(&h, block)
        }
        let digest = bytes(h)
        return (0..<20).map { digest[$0] }
    }

    /// The 20 digest bytes of a final state (its words big-endian).
    static func bytes(_ h: State) -> InlineArray<20, UInt8> {
        let words: InlineArray<5, UInt32> = [h.0, h.1, h.2, h.3, h.4]
        var out = InlineArray<20, UInt8>(repeating: 0)
        for i in 0..<5 {
            for j in 0..<4 { out[4 * i + j] = UInt8(truncatingIfNeeded: words[i] >> UInt32(24 - 8 * j)) }
        }
        return out
    }

    /// The digest of a message of at most 55 bytes held at the start of `block`
    /// (the rest zero): one block, no allocation.
    static func digestOfShortMessage(_ message: InlineArray<64, UInt8>, length: Int) -> State {
        precondition(length <= 55)
        var block = message
        block[length] = 0x80
        let bitLength = UInt64(length) * 8
        for i in 0..<8 { block[56 + i] = UInt8(truncatingIfNeeded: bitLength >> UInt64(56 - 8 * i)) }
        var h = initial
        compress(&h, block)
        return h
    }

    /// One 64-byte block into the state.
    static func compress(_ h: inout State, _ block: borrowing InlineArray<64, UInt8>) {
        let bytes = block.span
        var w = InlineArray<80, UInt32>(repeating: 0)
        for t in 0..<16 {
            let b = t * 4
            w[t] = UInt32(bytes[b]) << 24 | UInt32(bytes[b + 1]) << 16 | UInt32(bytes[b + 2]) << 8 | UInt32(bytes[b + 3])
        }
        for t in 16..<80 { w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1) }
        var (a, b, c, d, e) = h
        // The four rounds as separate loops: no per-step switch.
        for t in 0..<20 {
            let temp = rotl(a, 5) &+ ((b & c) | (~b & d)) &+ e &+ 0x5A82_7999 &+ w[t]
            e = d; d = c; c = rotl(b, 30); b = a; a = temp
        }
        for t in 20..<40 {
            let temp = rotl(a, 5) &+ (b ^ c ^ d) &+ e &+ 0x6ED9_EBA1 &+ w[t]
            e = d; d = c; c = rotl(b, 30); b = a; a = temp
        }
        for t in 40..<60 {
            let temp = rotl(a, 5) &+ ((b & c) | (b & d) | (c & d)) &+ e &+ 0x8F1B_BCDC &+ w[t]
            e = d; d = c; c = rotl(b, 30); b = a; a = temp
        }
        for t in 60..<80 {
            let temp = rotl(a, 5) &+ (b ^ c ^ d) &+ e &+ 0xCA62_C1D6 &+ w[t]
            e = d; d = c; c = rotl(b, 30); b = a; a = temp
        }
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
    }

    @inline(__always)
    static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x &<< n | x &>> (32 &- n) }
}
