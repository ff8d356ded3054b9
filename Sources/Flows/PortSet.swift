/// A set of 16-bit port numbers as a 64 Ki-bit bitmap (8 KiB): constant-time lookup.
public struct PortSet: Sendable, Hashable {
    @usableFromInline var words: [UInt64]

    /// Creates a set holding `ports`.
    public init(_ ports: some Sequence<UInt16> = []) {
        words = [UInt64](repeating: 0, count: 1024)
        for p in ports { insert(p) }
    }

    /// Adds a port.
    public mutating func insert(_ port: UInt16) { words[Int(port >> 6)] |= 1 << UInt64(port & 63) }

    /// Whether the set holds `port`.
    @inlinable public func contains(_ port: UInt16) -> Bool { words[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0 }
}

/// Zeek's `likely_server_ports` with the default script set (ZEEK_SEMANTICS §2.1):
/// a port here is taken to be a server's when orienting a connection whose first
/// packet is not a plain SYN.
public struct LikelyServerPorts: Sendable, Hashable {
    /// TCP server ports.
    public var tcp: PortSet
    /// UDP server ports.
    public var udp: PortSet

    /// Creates the sets.
    public init(tcp: PortSet, udp: PortSet) {
        self.tcp = tcp
        self.udp = udp
    }

    /// The set Zeek builds from its default scripts.
    public static let zeekDefault = LikelyServerPorts(
        tcp: PortSet([21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585, 587, 614, 631,
                      636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432,
                      6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000]),
        udp: PortSet([53, 67, 88, 123, 137, 161, 162, 389, 443, 514, 1812, 2123, 2152, 3389, 3544, 4011, 4754, 4789, 5060,
                      5072, 5353, 5355, 6081, 20000]))
}
