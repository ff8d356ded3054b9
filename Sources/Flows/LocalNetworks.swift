/// An IP prefix such as `10.0.0.0/8` or `2001:db8::/32`.
public struct Subnet: Hashable, Sendable, CustomStringConvertible {
    /// The network address (host bits cleared).
    public var network: IPAddress
    /// The prefix length: 0–32 for IPv4, 0–128 for IPv6.
    public var prefixLength: Int

    /// Parses `a.b.c.d/n` or `x:y::/n`; a bare address means a host prefix.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        let maxLength = address.isIPv4 ? 32 : 128
        let length: Int
        if parts.count == 2 {
            guard let n = Int(parts[1]), n >= 0, n <= maxLength else { return nil }
            length = n
        } else {
            length = maxLength
        }
        self.init(address, prefixLength: length)
    }

    /// Creates a subnet, clearing host bits.
    public init(_ address: IPAddress, prefixLength: Int) {
        self.prefixLength = prefixLength
        let (high, low) = Self.mask(prefixLength + (address.isIPv4 ? 96 : 0))
        var n = address
        n.high &= high
        n.low &= low
        network = n
    }

    static func mask(_ bits: Int) -> (UInt64, UInt64) {
        let high: UInt64 = bits >= 64 ? ~0 : (bits == 0 ? 0 : ~0 << UInt64(64 - bits))
        let low: UInt64 = bits >= 128 ? ~0 : (bits <= 64 ? 0 : ~0 << UInt64(128 - bits))
        return (high, low)
    }

    /// Whether `address` is inside this prefix (same family only).
    public func contains(_ address: IPAddress) -> Bool {
        guard address.isIPv4 == network.isIPv4 else { return false }
        let (high, low) = Self.mask(prefixLength + (address.isIPv4 ? 96 : 0))
        return address.high & high == network.high && address.low & low == network.low
    }

    /// `10.0.0.0/8`.
    public var description: String { "\(network)/\(prefixLength)" }
}

/// A set of prefixes that count as "local" for `local_orig` / `local_resp`.
public struct LocalNetworks: Sendable {
    /// The prefixes.
    public var subnets: [Subnet]

    /// Creates a set from prefixes.
    public init(_ subnets: [Subnet]) { self.subnets = subnets }

    /// Whether `address` is inside any prefix.
    public func contains(_ address: IPAddress) -> Bool { subnets.contains { $0.contains(address) } }

    /// Zeek's default: `Site::private_address_space` (scripts/base/utils/site.zeek),
    /// including the 6to4 (2002::/16) images of the IPv4 prefixes.
    public static let zeekDefault: LocalNetworks = {
        let v4 = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                  "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
                  "203.0.113.0/24", "224.0.0.0/24", "239.0.0.0/8", "240.0.0.0/4", "255.255.255.255/32"]
        let v6 = ["::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:2::/48", "2001:db8::/32",
                  "fc00::/7", "fe80::/10", "fec0::/10"]
        var subnets = (v4 + v6).compactMap(Subnet.init)
        for text in v4 {
            // 6to4 image: 2002:AABB:CCDD::/(16 + n)
            let s = Subnet(text)!
            let value = UInt64(s.network.ipv4Value!)
            subnets.append(Subnet(IPAddress(ipv6High: 0x2002 << 48 | value << 16, low: 0), prefixLength: 16 + s.prefixLength))
        }
        return LocalNetworks(subnets)
    }()
}
