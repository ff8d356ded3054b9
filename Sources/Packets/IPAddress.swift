/// An IPv4 or IPv6 address as a plain 17-byte value.
///
/// The 128 address bits are kept in two words; an IPv4 address is stored in its
/// IPv4-mapped form (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) with ``isIPv4`` set, so
/// an IPv4 address and the IPv6 address `::ffff:a.b.c.d` seen on the wire stay
/// distinct. The text form follows RFC 5952.
public struct IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// The upper 64 address bits, network order.
    public var high: UInt64
    /// The lower 64 address bits, network order.
    public var low: UInt64
    /// Whether this is an IPv4 address.
    public var isIPv4: Bool

    /// The all-zero IPv4 address `0.0.0.0`.
    public static let zero = IPAddress(ipv4: 0)

    /// Creates an IPv4 address from its 32-bit value (`0x7f000001` is `127.0.0.1`).
    @inlinable public init(ipv4 value: UInt32) {
        high = 0
        low = 0x0000_FFFF_0000_0000 | UInt64(value)
        isIPv4 = true
    }

    /// Creates an IPv6 address from its two 64-bit halves.
    @inlinable public init(ipv6High high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
        isIPv4 = false
    }

    /// Creates an address from 4 (IPv4) or 16 (IPv6) bytes in network order.
    /// Returns `nil` for any other length.
    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4:
            self.init(ipv4: UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3]))
        case 16:
            var h: UInt64 = 0, l: UInt64 = 0
            for i in 0..<8 { h = h << 8 | UInt64(bytes[i]); l = l << 8 | UInt64(bytes[i + 8]) }
            self.init(ipv6High: h, low: l)
        default:
            return nil
        }
    }

    /// The IPv4 value, or `nil` for an IPv6 address.
    @inlinable public var ipv4Value: UInt32? { isIPv4 ? UInt32(truncatingIfNeeded: low) : nil }

    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        if isIPv4 {
            let v = UInt32(truncatingIfNeeded: low)
            return [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
        }
        var out = [UInt8]()
        out.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: low >> UInt64(shift))) }
        return out
    }

    /// Orders IPv4 before IPv6, then by address bits, like Zeek's `addr` comparison.
    @inlinable public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.isIPv4 != b.isIPv4 { return a.isIPv4 }
        if a.high != b.high { return a.high < b.high }
        return a.low < b.low
    }

    /// The RFC 5952 text form: dotted quad for IPv4; lower-case, zero-compressed
    /// IPv6 with the longest run (≥ 2 groups, leftmost on ties) as `::`;
    /// `::ffff:a.b.c.d` for an IPv4-mapped IPv6 address.
    public var description: String {
        var text: [UInt8] = []
        appendText(to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// The most bytes ``description`` takes (eight groups of four hex digits and seven colons).
    public static var maxTextLength: Int { 39 }

    /// Appends the ``description`` text as UTF-8 to `out`, without building a `String`.
    public func appendText(to out: inout [UInt8]) {
        out.append(addingCapacity: Self.maxTextLength) { appendText(to: &$0) }
    }

    /// Writes the ``description`` text as UTF-8 into `out`, which must have room for
    /// ``maxTextLength`` bytes.
    public func appendText(to out: inout OutputSpan<UInt8>) {
        if isIPv4 { return Self.appendDotted(UInt32(truncatingIfNeeded: low), to: &out) }
        if high == 0, low >> 32 == 0xFFFF {
            out.append(58); out.append(58); out.append(repeating: 102, count: 4); out.append(58)  // ::ffff:
            return Self.appendDotted(UInt32(truncatingIfNeeded: low), to: &out)
        }
        func group(_ i: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (i < 4 ? high : low) >> UInt64(48 - 16 * (i & 3)))
        }
        var bestStart = -1, bestLength = 0, i = 0
        while i < 8 {
            if group(i) == 0 {
                var j = i
                while j < 8, group(j) == 0 { j += 1 }
                if j - i > bestLength { bestStart = i; bestLength = j - i }
                i = j
            } else {
                i += 1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var k = 0
        while k < 8 {
            if k == bestStart {
                out.append(58); out.append(58)
                k += bestLength
                continue
            }
            if k > 0, k != bestStart + bestLength || bestStart < 0 { out.append(58) }
            let g = group(k)
            var shift = 12
            while shift > 0, g >> UInt16(shift) == 0 { shift -= 4 }  // no leading zeros
            while shift >= 0 {
                let d = UInt8(truncatingIfNeeded: g >> UInt16(shift)) & 15
                out.append(d < 10 ? 48 + d : 87 + d)
                shift -= 4
            }
            k += 1
        }
    }

    private static func appendDotted(_ v: UInt32, to out: inout OutputSpan<UInt8>) {
        appendOctet(UInt8(truncatingIfNeeded: v >> 24), to: &out); out.append(46)
        appendOctet(UInt8(truncatingIfNeeded: v >> 16), to: &out); out.append(46)
        appendOctet(UInt8(truncatingIfNeeded: v >> 8), to: &out); out.append(46)
        appendOctet(UInt8(truncatingIfNeeded: v), to: &out)
    }

    private static func appendOctet(_ b: UInt8, to out: inout OutputSpan<UInt8>) {
        if b >= 100 { out.append(48 + b / 100) }
        if b >= 10 { out.append(48 + b / 10 % 10) }
        out.append(48 + b % 10)
    }

    /// Parses an IPv4 dotted quad (`192.0.2.1`) or an IPv6 address in any RFC 4291
    /// §2.2 form (`2001:db8::1`, `::ffff:192.0.2.1`). Returns `nil` for anything else.
    public init?(_ text: String) {
        if !text.contains(":") {
            guard let v = Self.parseIPv4(Substring(text)) else { return nil }
            self.init(ipv4: v)
            return
        }
        guard let (h, l) = Self.parseIPv6(text) else { return nil }
        self.init(ipv6High: h, low: l)
    }

    static func parseIPv4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let octet = UInt32(part), octet <= 255,
                  part.count == 1 || part.first != "0"
            else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    static func parseIPv6(_ text: String) -> (UInt64, UInt64)? {
        var groups: [UInt16] = []
        var tailIPv4: UInt32?
        let halves = text.components(separatedByDoubleColon: ())
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ s: Substring, allowIPv4: Bool) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            let items = s.split(separator: ":", omittingEmptySubsequences: false)
            for (index, item) in items.enumerated() {
                if allowIPv4, index == items.count - 1, item.contains(".") {
                    guard let v = parseIPv4(item) else { return nil }
                    tailIPv4 = v
                    out.append(UInt16(v >> 16)); out.append(UInt16(v & 0xffff))
                    continue
                }
                guard !item.isEmpty, item.count <= 4, let g = UInt16(item, radix: 16) else { return nil }
                out.append(g)
            }
            return out
        }
        if halves.count == 1 {
            guard let g = parseGroups(halves[0], allowIPv4: true), g.count == 8 else { return nil }
            groups = g
        } else {
            guard let left = parseGroups(halves[0], allowIPv4: false),
                  let right = parseGroups(halves[1], allowIPv4: true),
                  left.count + right.count <= 7
            else { return nil }
            groups = left + [UInt16](repeating: 0, count: 8 - left.count - right.count) + right
        }
        _ = tailIPv4
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<4 { h = h << 16 | UInt64(groups[i]); l = l << 16 | UInt64(groups[i + 4]) }
        return (h, l)
    }
}

extension String {
    /// Splits at the first `::` (at most two parts, either may be empty); three
    /// parts mean a second `::`, which is invalid.
    fileprivate func components(separatedByDoubleColon _: ()) -> [Substring] {
        var parts: [Substring] = []
        var start = startIndex
        var i = startIndex
        while i < endIndex {
            let next = index(after: i)
            if self[i] == ":", next < endIndex, self[next] == ":" {
                parts.append(self[start..<i])
                start = index(after: next)
                i = start
                continue
            }
            i = next
        }
        parts.append(self[start..<endIndex])
        return parts
    }
}
