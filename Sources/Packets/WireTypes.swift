/// A link-layer header type as libpcap reports it (`pcap_datalink()`, a `DLT_` value).
///
/// An open set: unknown values round-trip. libpcap maps the file's `LINKTYPE_`
/// value to the platform's `DLT_` value, so raw IP appears as 12 (or 14) even
/// when the file says 101.
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The `DLT_` value.
    public var rawValue: Int32
    /// Creates a link type from its `DLT_` value.
    @inlinable public init(rawValue: Int32) { self.rawValue = rawValue }

    /// BSD loopback: a 4-byte address family in the capturing host's byte order (`DLT_NULL`).
    @inlinable public static var null: LinkType { LinkType(rawValue: 0) }
    /// Ethernet II and 802.3 (`DLT_EN10MB`).
    @inlinable public static var ethernet: LinkType { LinkType(rawValue: 1) }
    /// Raw IP, version from the first nibble (`DLT_RAW` on Linux).
    @inlinable public static var raw: LinkType { LinkType(rawValue: 12) }
    /// Raw IP as some BSDs number it (`DLT_RAW` on OpenBSD, 14).
    @inlinable public static var rawBSD: LinkType { LinkType(rawValue: 14) }
    /// Raw IP as the `LINKTYPE_RAW` file value (101).
    @inlinable public static var rawLinkType: LinkType { LinkType(rawValue: 101) }
    /// OpenBSD loopback: a 4-byte address family in network byte order (`DLT_LOOP`).
    @inlinable public static var loop: LinkType { LinkType(rawValue: 108) }
    /// Linux cooked capture v1 (`DLT_LINUX_SLL`).
    @inlinable public static var linuxSLL: LinkType { LinkType(rawValue: 113) }
    /// Raw IPv4 (`DLT_IPV4`).
    @inlinable public static var ipv4: LinkType { LinkType(rawValue: 228) }
    /// Raw IPv6 (`DLT_IPV6`).
    @inlinable public static var ipv6: LinkType { LinkType(rawValue: 229) }
    /// Linux cooked capture v2 (`DLT_LINUX_SLL2`).
    @inlinable public static var linuxSLL2: LinkType { LinkType(rawValue: 276) }

    /// Whether ``PacketDecoder`` decodes this link type.
    public var isSupported: Bool {
        switch rawValue {
        case 0, 1, 9, 10, 12, 14, 50, 51, 101, 104, 105, 108, 113, 119, 127, 163, 192, 204, 205, 228, 229, 239, 276: return true
        default: return false
        }
    }

    /// A short name such as `EN10MB`, as libpcap spells it.
    public var description: String {
        switch rawValue {
        case 0: return "NULL"
        case 1: return "EN10MB"
        case 12, 14, 101: return "RAW"
        case 108: return "LOOP"
        case 113: return "LINUX_SLL"
        case 228: return "IPV4"
        case 229: return "IPV6"
        case 276: return "LINUX_SLL2"
        case 9: return "PPP"
        case 10: return "FDDI"
        case 50: return "PPP_SERIAL"
        case 51: return "PPP_ETHER"
        case 104: return "C_HDLC"
        case 105: return "IEEE802_11"
        case 119: return "PRISM_HEADER"
        case 127: return "IEEE802_11_RADIO"
        case 163: return "IEEE802_11_RADIO_AVS"
        case 192: return "PPI"
        case 204: return "PPP_WITH_DIR"
        case 205: return "C_HDLC_WITH_DIR"
        case 239: return "NFLOG"
        default: return "DLT_\(rawValue)"
        }
    }
}

/// An EtherType (IEEE 802 protocol identifier). An open set: unknown values round-trip.
public struct EtherType: RawRepresentable, Hashable, Sendable {
    /// The 16-bit value.
    public var rawValue: UInt16
    /// Creates an EtherType from its value.
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// IPv4 (RFC 894).
    @inlinable public static var ipv4: EtherType { EtherType(rawValue: 0x0800) }
    /// ARP (RFC 826).
    @inlinable public static var arp: EtherType { EtherType(rawValue: 0x0806) }
    /// IPv6 (RFC 2464).
    @inlinable public static var ipv6: EtherType { EtherType(rawValue: 0x86DD) }
    /// IEEE 802.1Q customer VLAN tag.
    @inlinable public static var vlan: EtherType { EtherType(rawValue: 0x8100) }
    /// IEEE 802.1ad service VLAN tag (QinQ outer tag).
    @inlinable public static var qinq: EtherType { EtherType(rawValue: 0x88A8) }
    /// The pre-standard QinQ outer tag some switches use.
    @inlinable public static var qinqLegacy: EtherType { EtherType(rawValue: 0x9100) }
}

/// An IP protocol number (IANA "Assigned Internet Protocol Numbers"). An open set.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 8-bit protocol number.
    public var rawValue: UInt8
    /// Creates a protocol from its number.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// IPv6 hop-by-hop options (RFC 8200 §4.3).
    @inlinable public static var hopByHop: IPProtocol { IPProtocol(rawValue: 0) }
    /// ICMP for IPv4 (RFC 792).
    @inlinable public static var icmp: IPProtocol { IPProtocol(rawValue: 1) }
    /// IGMP (RFC 3376).
    @inlinable public static var igmp: IPProtocol { IPProtocol(rawValue: 2) }
    /// IPv4 encapsulation (RFC 2003).
    @inlinable public static var ipip: IPProtocol { IPProtocol(rawValue: 4) }
    /// TCP (RFC 9293).
    @inlinable public static var tcp: IPProtocol { IPProtocol(rawValue: 6) }
    /// UDP (RFC 768).
    @inlinable public static var udp: IPProtocol { IPProtocol(rawValue: 17) }
    /// IPv6 encapsulation (RFC 2473).
    @inlinable public static var ipv6: IPProtocol { IPProtocol(rawValue: 41) }
    /// IPv6 routing header (RFC 8200 §4.4).
    @inlinable public static var routing: IPProtocol { IPProtocol(rawValue: 43) }
    /// IPv6 fragment header (RFC 8200 §4.5).
    @inlinable public static var fragment: IPProtocol { IPProtocol(rawValue: 44) }
    /// GRE (RFC 2784).
    @inlinable public static var gre: IPProtocol { IPProtocol(rawValue: 47) }
    /// Encapsulating security payload (RFC 4303).
    @inlinable public static var esp: IPProtocol { IPProtocol(rawValue: 50) }
    /// Authentication header (RFC 4302).
    @inlinable public static var ah: IPProtocol { IPProtocol(rawValue: 51) }
    /// ICMP for IPv6 (RFC 4443).
    @inlinable public static var icmpv6: IPProtocol { IPProtocol(rawValue: 58) }
    /// IPv6 "no next header" (RFC 8200 §4.7).
    @inlinable public static var noNextHeader: IPProtocol { IPProtocol(rawValue: 59) }
    /// IPv6 destination options (RFC 8200 §4.6).
    @inlinable public static var destinationOptions: IPProtocol { IPProtocol(rawValue: 60) }
    /// SCTP (RFC 9260).
    @inlinable public static var sctp: IPProtocol { IPProtocol(rawValue: 132) }
    /// IPv6 mobility header (RFC 6275).
    @inlinable public static var mobility: IPProtocol { IPProtocol(rawValue: 135) }

    /// The lower-case keyword, as tcpdump and Zeek print it (`tcp`, `udp`, `icmp`);
    /// the number for protocols without one.
    public var description: String {
        switch rawValue {
        case 1: return "icmp"
        case 2: return "igmp"
        case 4: return "ipip"
        case 6: return "tcp"
        case 17: return "udp"
        case 41: return "ipv6"
        case 47: return "gre"
        case 50: return "esp"
        case 51: return "ah"
        case 58: return "icmp6"
        case 59: return "nonxt"
        case 103: return "pim"
        case 112: return "vrrp"
        case 132: return "sctp"
        default: return "ip-proto-\(rawValue)"
        }
    }
}

/// A protocol layer, named in errors and in "cut by the snapshot length" reports.
public enum Layer: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Ethernet II / 802.3.
    case ethernet
    /// An 802.1Q / 802.1ad VLAN tag.
    case vlan
    /// An MPLS label stack entry.
    case mpls
    /// A PPPoE session header.
    case pppoe
    /// Linux cooked capture v1.
    case linuxSLL
    /// Linux cooked capture v2.
    case linuxSLL2
    /// The BSD NULL/LOOP 4-byte family header.
    case loopback
    /// IPv4.
    case ipv4
    /// The fixed IPv6 header.
    case ipv6
    /// An IPv6 extension header.
    case ipv6Extension
    /// TCP.
    case tcp
    /// UDP.
    case udp
    /// ICMPv4.
    case icmpv4
    /// ICMPv6.
    case icmpv6
    /// The IP header quoted inside an ICMP error.
    case icmpQuote
    /// The application payload after the transport header.
    case payload
    /// A PPP header.
    case ppp
    /// A Cisco HDLC header.
    case hdlc
    /// An FDDI header.
    case fddi
    /// An IEEE 802.11 header.
    case ieee80211
    /// A radiotap, PPI, Prism or AVS header.
    case radioHeader
    /// A Linux NFLOG header or TLV.
    case nflog
    /// An 802.2 LLC/SNAP header.
    case llc
    /// An 802.1ah PBB I-TAG.
    case pbb
    /// A VN-Tag or E-Tag.
    case bridgeTag
    /// A Cisco FabricPath outer header.
    case fabricPath
    /// A network service header.
    case nsh

    /// The layer's name as a user reads it.
    public var description: String {
        switch self {
        case .ethernet: return "ethernet"
        case .vlan: return "vlan"
        case .mpls: return "mpls"
        case .pppoe: return "pppoe"
        case .linuxSLL: return "sll"
        case .linuxSLL2: return "sll2"
        case .loopback: return "loopback"
        case .ipv4: return "ipv4"
        case .ipv6: return "ipv6"
        case .ipv6Extension: return "ipv6-ext"
        case .tcp: return "tcp"
        case .udp: return "udp"
        case .icmpv4: return "icmp"
        case .icmpv6: return "icmp6"
        case .icmpQuote: return "icmp-quote"
        case .payload: return "payload"
        case .ppp: return "ppp"
        case .hdlc: return "hdlc"
        case .fddi: return "fddi"
        case .ieee80211: return "802.11"
        case .radioHeader: return "radio-header"
        case .nflog: return "nflog"
        case .llc: return "llc"
        case .pbb: return "pbb"
        case .bridgeTag: return "bridge-tag"
        case .fabricPath: return "fabricpath"
        case .nsh: return "nsh"
        }
    }
}
