/// A 48-bit IEEE 802 MAC address, as a plain value.
///
/// ``zero`` (all bits clear) stands for "no link-layer address": Zeek's mac-logging
/// does not log an all-zero address, and link layers without addresses (raw IP,
/// loopback, tunnels) leave it zero.
public struct MACAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The address in the low 48 bits, first octet highest.
    public var rawValue: UInt64

    /// The all-zero address.
    public static let zero = MACAddress(rawValue: 0)

    /// Creates an address from its 48-bit value (bits above 47 are ignored).
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    /// Creates an address from its first two and last four octets, as read from a frame.
    @inlinable public init(_ high: UInt16, _ low: UInt32) { rawValue = UInt64(high) << 32 | UInt64(low) }

    /// Parses `02:00:00:00:00:01` (also with `-` separators); `nil` for anything else.
    public init?(_ text: String) {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard part.count == 2, let octet = UInt8(part, radix: 16) else { return nil }
            value = value << 8 | UInt64(octet)
        }
        rawValue = value
    }

    /// Whether this is the all-zero address.
    @inlinable public var isZero: Bool { rawValue == 0 }

    /// Six lower-case two-digit hex octets joined by `:` (Zeek's mac-logging format).
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(17)
        for i in 0..<6 {
            let octet = Int(rawValue >> UInt64(40 - 8 * i) & 0xFF)
            if i > 0 { out.append(UInt8(ascii: ":")) }
            out.append(digits[octet >> 4])
            out.append(digits[octet & 15])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Orders addresses by their numeric value.
    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.rawValue < rhs.rawValue }
}
