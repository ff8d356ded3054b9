@_exported import Packets

/// A transport endpoint: an IP address and a port (a "socket" in RFC 793's sense).
public struct Endpoint: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// The address.
    public var address: IPAddress
    /// The port (ICMP: the type or code, see ``FlowKey``).
    public var port: UInt16

    /// Creates an endpoint.
    @inlinable public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `192.0.2.1:80`, or `[2001:db8::1]:80` for IPv6.
    public var description: String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }

    /// Parses the ``description`` spelling: `10.0.0.1:80` or `[2001:db8::1]:443`
    /// (an IPv6 address always in brackets); `nil` for anything else.
    public init?(_ text: String) {
        let addressText: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            addressText = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else { return nil }
            addressText = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard portText.allSatisfy(\.isASCII), let port = UInt16(portText), let address = IPAddress(String(addressText)),
              address.isIPv4 == !text.hasPrefix("[") else { return nil }
        self.init(address, port)
    }
}

/// The 5-tuple that names a connection, the same for both directions.
///
/// The two endpoints are stored in canonical order — the (address, port) pair
/// that sorts lower first, addresses compared as 128-bit values — so a packet and
/// its reply find the same entry (Zeek's `IPBasedConnKey`, gopacket's `FastHash`).
/// One-way ICMP messages keep the order they were seen in (Docs/ZeekSemantics.md §1.2).
/// A plain 40-byte value: no `String`, no class.
public struct FlowKey: Hashable, Sendable {
    @usableFromInline var aHigh: UInt64
    @usableFromInline var aLow: UInt64
    @usableFromInline var bHigh: UInt64
    @usableFromInline var bLow: UInt64
    @usableFromInline var aPort: UInt16
    @usableFromInline var bPort: UInt16
    /// The IP protocol number.
    public var ipProtocol: UInt8
    /// Bit 0: IPv6; bit 1: kept in the order seen (one-way ICMP).
    @usableFromInline var flags: UInt8
    /// What else tells connections with the same 5-tuple apart (0: nothing): with a
    /// VLAN-aware key, the tracker's number for the packet's VLAN pair. Fills the two
    /// bytes that padding would take, so the key stays 40 bytes.
    public var context: UInt16

    /// Makes the key for a packet from `source` to `destination`.
    ///
    /// - Parameters:
    ///   - ipProtocol: the IP protocol number (6 TCP, 17 UDP, 1 or 58 ICMP…).
    ///   - source: the packet's source address and port.
    ///   - destination: the packet's destination address and port.
    ///   - canonical: `false` keeps the order as seen (one-way ICMP types).
    ///   - context: what else separates connections with the same 5-tuple (``context``).
    @inlinable
    public init(ipProtocol: UInt8, source: Endpoint, destination: Endpoint, canonical: Bool = true, context: UInt16 = 0) {
        let s = source, d = destination
        let swap = canonical && Self.less(d, s)
        let a = swap ? d : s, b = swap ? s : d
        aHigh = a.address.high; aLow = a.address.low; aPort = a.port
        bHigh = b.address.high; bLow = b.address.low; bPort = b.port
        self.ipProtocol = ipProtocol
        flags = (a.address.isIPv4 ? 0 : 1) | (canonical ? 0 : 2)
        self.context = context
    }

    /// Whether `x` sorts before `y`: addresses as 128-bit values, then ports.
    @inlinable
    static func less(_ x: Endpoint, _ y: Endpoint) -> Bool {
        if x.address.high != y.address.high { return x.address.high < y.address.high }
        if x.address.low != y.address.low { return x.address.low < y.address.low }
        return x.port < y.port
    }

    /// Whether the key's addresses are IPv6.
    @inlinable public var isIPv6: Bool { flags & 1 != 0 }
    /// Whether the endpoints keep the order they were seen in (one-way ICMP).
    @inlinable public var isOneWay: Bool { flags & 2 != 0 }

    /// The lower endpoint (the first seen, for one-way ICMP).
    @inlinable public var a: Endpoint {
        Endpoint(isIPv6 ? IPAddress(ipv6High: aHigh, low: aLow) : IPAddress(ipv4: UInt32(truncatingIfNeeded: aLow)), aPort)
    }
    /// The higher endpoint.
    @inlinable public var b: Endpoint {
        Endpoint(isIPv6 ? IPAddress(ipv6High: bHigh, low: bLow) : IPAddress(ipv4: UInt32(truncatingIfNeeded: bLow)), bPort)
    }

    /// Whether a packet from `source` travels from endpoint A to endpoint B.
    @inlinable
    public func isFromA(source: IPAddress, port: UInt16) -> Bool {
        source.low == aLow && source.high == aHigh && port == aPort
    }

    /// A fast, well-mixed 64-bit hash for the flow table.
    @inlinable
    public var tableHash: UInt64 {
        var h = aHigh &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ aLow) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ bHigh) &* 0x94D0_49BB_1331_11EB
        h = (h ^ bLow) &* 0x9E37_79B9_7F4A_7C15
        h ^= UInt64(context) << 48 ^ UInt64(aPort) << 32 | UInt64(bPort) << 16 | UInt64(ipProtocol) << 8 | UInt64(flags)
        h = (h ^ (h >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 29)
    }
}
