/// A tunnel that carried a packet, as Zeek names them in tunnel.log (`Tunnel::IP`, `GRE`, …).
public enum TunnelKind: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// IP in IP (protocol 4 or 41), in any v4/v6 combination.
    case ip
    /// GRE, versions 0 and 1 (also GRE in UDP, port 4754).
    case gre
    /// VXLAN (UDP 4789).
    case vxlan
    /// Geneve (UDP 6081).
    case geneve
    /// Teredo (UDP 3544, or recognised by its payload).
    case teredo
    /// AYIYA (UDP 5072, or recognised by its payload).
    case ayiya
    /// GTPv1-U (UDP 2152, 2123).
    case gtpv1
    /// CAPWAP data (UDP 5247, RFC 5415): 802.11 or Ethernet frames from wireless access
    /// points. Zeek does not decapsulate it; tshark does. FlowTrack's own name.
    case capwap

    /// Zeek's `Tunnel::Type` name: `Tunnel::IP`, `Tunnel::GRE`, `Tunnel::VXLAN`…
    public var description: String {
        switch self {
        case .ip: "Tunnel::IP"
        case .gre: "Tunnel::GRE"
        case .vxlan: "Tunnel::VXLAN"
        case .geneve: "Tunnel::GENEVE"
        case .teredo: "Tunnel::TEREDO"
        case .ayiya: "Tunnel::AYIYA"
        case .gtpv1: "Tunnel::GTPv1"
        case .capwap: "Tunnel::CAPWAP"
        }
    }

    /// The service name Zeek gives a UDP connection carrying this tunnel once confirmed.
    public var serviceName: String? {
        switch self {
        case .vxlan: "vxlan"
        case .geneve: "geneve"
        case .teredo: "teredo"
        case .ayiya: "ayiya"
        case .gtpv1: "gtpv1"
        case .capwap: "capwap"
        case .ip, .gre: nil
        }
    }
}

/// The outer headers of one tunnel a packet came through: what the tracker needs to
/// name the tunnel and, for tunnels over UDP, to track the carrying UDP connection.
public struct TunnelLayer: Sendable, Hashable {
    /// The tunnel.
    public var kind: TunnelKind
    /// Whether the tunnel rides on UDP (``sourcePort``/``destinationPort``/``udpLength`` are set).
    public var overUDP: Bool
    /// Whether this packet met the tunnel's confirmation rule (a valid VXLAN or Geneve header,
    /// an AYIYA forward opcode, a GTP G-PDU, a parsed Teredo packet).
    public var confirmed: Bool
    /// The outer IP version (4 or 6).
    public var ipVersion: UInt8
    /// The outer next protocol: 4, 41, 47 or 17.
    public var ipProtocol: UInt8
    /// Outer addresses.
    public var source: IPAddress
    /// Outer destination address.
    public var destination: IPAddress
    /// Outer UDP ports (0 for IP-level tunnels).
    public var sourcePort: UInt16
    /// Outer UDP destination port.
    public var destinationPort: UInt16
    /// The outer IP header length and total length.
    public var ipHeaderLength: UInt16
    /// The outer IP total length (IPv6: 40 + payload length).
    public var ipTotalLength: UInt32
    /// The outer UDP length field.
    public var udpLength: UInt16
    /// The outer UDP checksum's status.
    public var udpChecksum: ChecksumStatus
    /// The outer UDP payload's first bytes (for the carrying connection's own rules).
    public var payloadHead: UInt64

    /// A layer for a tunnel found in `outer` (the packet as decoded up to the tunnel header).
    init(_ kind: TunnelKind, overUDP: Bool, confirmed: Bool, outer p: DecodedPacket) {
        self.kind = kind
        self.overUDP = overUDP
        self.confirmed = confirmed
        ipVersion = p.ipVersion
        ipProtocol = p.ipProtocol.rawValue
        source = p.source
        destination = p.destination
        sourcePort = overUDP ? p.sourcePort : 0
        destinationPort = overUDP ? p.destinationPort : 0
        ipHeaderLength = UInt16(truncatingIfNeeded: p.ipHeaderLength)
        ipTotalLength = UInt32(truncatingIfNeeded: p.ipTotalLength)
        udpLength = UInt16(truncatingIfNeeded: p.udpLength)
        udpChecksum = p.transportChecksum
        payloadHead = p.payloadHead
    }

    /// The carrying UDP packet as a decoded packet of its own (tunnels over UDP).
    public var outerPacket: DecodedPacket {
        var p = DecodedPacket()
        p.layers = [ipVersion == 4 ? .ipv4 : .ipv6, .udp]
        p.ipVersion = ipVersion
        p.source = source
        p.destination = destination
        p.ipProtocol = IPProtocol(rawValue: 17)
        p.ipHeaderLength = Int(ipHeaderLength)
        p.ipTotalLength = Int(ipTotalLength)
        p.sourcePort = sourcePort
        p.destinationPort = destinationPort
        p.udpLength = Int(udpLength)
        p.payloadLength = max(0, Int(udpLength) - 8)
        p.capturedPayloadLength = p.payloadLength
        p.transportChecksum = udpChecksum
        p.payloadHead = payloadHead
        return p
    }
}

/// The tunnels a packet came through, outermost first: at most ``capacity`` (Zeek's
/// `Tunnel::max_depth`), kept apart from ``DecodedPacket`` so that untunnelled packets
/// (nearly all) copy nothing more.
public struct TunnelStack: Sendable {
    /// The most tunnels decapsulated from one packet.
    public static let capacity = 4
    /// The number of layers.
    public private(set) var count = 0
    var layers: (TunnelLayer?, TunnelLayer?, TunnelLayer?, TunnelLayer?) = (nil, nil, nil, nil)

    /// An empty stack.
    public init() {}

    /// The layer at `index` (0 is the outermost).
    public subscript(index: Int) -> TunnelLayer {
        switch index {
        case 0: layers.0!
        case 1: layers.1!
        case 2: layers.2!
        default: layers.3!
        }
    }

    /// The innermost layer, if any.
    public var innermost: TunnelLayer? { count == 0 ? nil : self[count - 1] }

    /// Appends `inner`'s layers after these (a tunnel inside a reassembled datagram that
    /// itself came through tunnels), up to ``capacity``.
    public mutating func append(contentsOf inner: TunnelStack) {
        for i in 0..<inner.count where count < Self.capacity { push(inner[i]) }
    }

    mutating func push(_ layer: TunnelLayer) {
        switch count {
        case 0: layers.0 = layer
        case 1: layers.1 = layer
        case 2: layers.2 = layer
        default: layers.3 = layer
        }
        count += 1
    }
}
