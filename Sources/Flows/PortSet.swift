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

/// Zeek's `likely_server_ports`: a port here is taken to be a server's when orienting
/// a connection whose first packet is not a plain SYN (TCP) or any UDP datagram.
///
/// Zeek fills the set from the scripts it loads, so it depends on how Zeek runs:
/// ``zeekDefault`` is the set of a plain `zeek -r`, ``zeekBare`` that of `zeek -b`
/// (only the tunnel ports its packet analyzers always register), ``empty`` orients
/// every connection by its first packet. ``init(parsing:)`` reads the command-line
/// spelling (`zeek`, `zeek-bare`, `none`, or `tcp:80,443 udp:53`).
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

    /// No likely server ports: the first packet's sender is always the originator.
    public static let empty = LikelyServerPorts(tcp: PortSet(), udp: PortSet())

    /// What `zeek -b` has: the UDP tunnel ports of the always-loaded packet analyzers
    /// (GTP 2123/2152, Teredo 3544, GRE-in-UDP 4754, VXLAN 4789, AYIYA 5072, Geneve 6081).
    public static let zeekBare = LikelyServerPorts(tcp: PortSet(), udp: PortSet([2123, 2152, 3544, 4754, 4789, 5072, 6081]))

    /// Reads a preset name (`zeek`, `zeek-bare`, `none`) or explicit sets such as
    /// `tcp:80,443 udp:53` (protocols separated by spaces or `;`, ports by commas,
    /// ranges as `8000-8080`); `nil` for anything else.
    public init?(parsing text: String) {
        switch text {
        case "zeek": self = .zeekDefault; return
        case "zeek-bare": self = .zeekBare; return
        case "none": self = .empty; return
        default: break
        }
        var tcp = PortSet(), udp = PortSet()
        let groups = text.split(whereSeparator: { $0 == " " || $0 == ";" })
        guard !groups.isEmpty else { return nil }
        for group in groups {
            let parts = group.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == "tcp" || parts[0] == "udp" else { return nil }
            for item in parts[1].split(separator: ",") {
                let bounds = item.split(separator: "-", maxSplits: 1).map { UInt16($0) }
                guard let low = bounds.first ?? nil, let high = bounds.last ?? nil, low <= high else { return nil }
                for port in low...high { if parts[0] == "tcp" { tcp.insert(port) } else { udp.insert(port) } }
            }
        }
        self.init(tcp: tcp, udp: udp)
    }

    /// The set Zeek builds from its default scripts.
    public static let zeekDefault = LikelyServerPorts(
        tcp: PortSet([21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585, 587, 614, 631,
                      636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432,
                      6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000]),
        udp: PortSet([53, 67, 88, 123, 137, 161, 162, 389, 443, 514, 1812, 2123, 2152, 3389, 3544, 4011, 4754, 4789, 5060,
                      5072, 5353, 5355, 6081, 20000]))
}
