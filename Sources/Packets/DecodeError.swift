/// Why a frame could not be decoded as far as its headers claim.
///
/// Cases carry integers and small enums only, so throwing or storing one never
/// allocates. A packet that decodes but looks odd (bad checksum, zero IPv4 total
/// length from segmentation offload) is not an error; see ``Anomalies``.
public enum DecodeError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The link type is not one ``PacketDecoder`` understands.
    case unsupportedLinkType(Int32)
    /// A header needs `needed` bytes but only `available` are in the frame, and the
    /// frame was not cut by the snapshot length (so the packet itself is short).
    case truncated(Layer, needed: Int, available: Int)
    /// A header-length field is impossible (IPv4 IHL < 5, TCP data offset < 5, …).
    case invalidHeaderLength(Layer, Int)
    /// A length field claims more bytes than the packet has (a lying length).
    case lengthExceedsPacket(Layer, claimed: Int, available: Int)
    /// A length field claims fewer bytes than the header itself.
    case lengthBelowHeader(Layer, Int)
    /// The IP version nibble does not match what the link layer announced.
    case unsupportedVersion(UInt8)
    /// The BSD NULL/LOOP address family is neither IPv4 nor IPv6.
    case unknownAddressFamily(UInt32)
    /// More VLAN tags or IPv6 extension headers than FlowTrack walks (8).
    case tooManyHeaders(Layer)
    /// A tunnel's inner IP packet is not exactly as long as what carries it (Zeek's
    /// `truncated_inner_IP` / `inner_IP_payload_length_mismatch`), or has the wrong IP version.
    case badInnerPacket(TunnelKind, claimed: Int, available: Int)

    /// A stable, short reason used in statistics (`truncated-tcp`, `bad-length-ipv4`).
    public var reason: String {
        switch self {
        case let .unsupportedLinkType(t): return "unsupported-link-type-\(t)"
        case let .truncated(layer, _, _): return "truncated-\(layer)"
        case let .invalidHeaderLength(layer, _): return "bad-header-length-\(layer)"
        case let .lengthExceedsPacket(layer, _, _): return "length-exceeds-packet-\(layer)"
        case let .lengthBelowHeader(layer, _): return "length-below-header-\(layer)"
        case let .unsupportedVersion(v): return "bad-ip-version-\(v)"
        case .unknownAddressFamily: return "unknown-address-family"
        case let .tooManyHeaders(layer): return "too-many-headers-\(layer)"
        case let .badInnerPacket(kind, _, _): return "bad-inner-packet-\(kind.serviceName ?? (kind == .ip ? "ip" : "gre"))"
        }
    }

    /// A sentence for a person.
    public var description: String {
        switch self {
        case let .unsupportedLinkType(t): return "unsupported link type \(t)"
        case let .truncated(layer, needed, available):
            return "\(layer) header truncated: needs \(needed) bytes, \(available) present"
        case let .invalidHeaderLength(layer, value): return "\(layer) header length \(value) is invalid"
        case let .lengthExceedsPacket(layer, claimed, available):
            return "\(layer) length field claims \(claimed) bytes, packet has \(available)"
        case let .lengthBelowHeader(layer, value): return "\(layer) length \(value) is shorter than its header"
        case let .unsupportedVersion(v): return "IP version \(v) where the link layer announced another"
        case let .unknownAddressFamily(f): return "loopback address family \(f) is neither IPv4 nor IPv6"
        case let .tooManyHeaders(layer): return "more than 8 \(layer) headers"
        case let .badInnerPacket(kind, claimed, available):
            return "\(kind) inner packet claims \(claimed) bytes where \(available) are carried"
        }
    }
}
