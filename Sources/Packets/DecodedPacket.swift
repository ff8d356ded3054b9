/// The layers ``PacketDecoder`` found in a frame.
public struct Layers: OptionSet, Sendable, Hashable {
    /// The bit pattern.
    public var rawValue: UInt32
    /// Creates a layer set from its bits.
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// An Ethernet header.
    @inlinable public static var ethernet: Layers { Layers(rawValue: 1 << 0) }
    /// One or more 802.1Q / 802.1ad tags.
    @inlinable public static var vlan: Layers { Layers(rawValue: 1 << 1) }
    /// A Linux cooked v1 header.
    @inlinable public static var linuxSLL: Layers { Layers(rawValue: 1 << 2) }
    /// A Linux cooked v2 header.
    @inlinable public static var linuxSLL2: Layers { Layers(rawValue: 1 << 3) }
    /// A BSD NULL or LOOP family header.
    @inlinable public static var loopback: Layers { Layers(rawValue: 1 << 4) }
    /// An IPv4 header.
    @inlinable public static var ipv4: Layers { Layers(rawValue: 1 << 5) }
    /// An IPv6 header.
    @inlinable public static var ipv6: Layers { Layers(rawValue: 1 << 6) }
    /// An IP fragment header or IPv4 fragment fields that make this a fragment.
    @inlinable public static var fragment: Layers { Layers(rawValue: 1 << 7) }
    /// A TCP header.
    @inlinable public static var tcp: Layers { Layers(rawValue: 1 << 8) }
    /// A UDP header.
    @inlinable public static var udp: Layers { Layers(rawValue: 1 << 9) }
    /// An ICMPv4 header.
    @inlinable public static var icmpv4: Layers { Layers(rawValue: 1 << 10) }
    /// An ICMPv6 header.
    @inlinable public static var icmpv6: Layers { Layers(rawValue: 1 << 11) }
    /// The IP + transport header quoted inside an ICMP error.
    @inlinable public static var icmpQuote: Layers { Layers(rawValue: 1 << 12) }
    /// Application payload bytes after the transport header.
    @inlinable public static var payload: Layers { Layers(rawValue: 1 << 13) }
    /// An ARP packet (not decoded further).
    @inlinable public static var arp: Layers { Layers(rawValue: 1 << 14) }
    /// An MPLS label stack (RFC 3032).
    @inlinable public static var mpls: Layers { Layers(rawValue: 1 << 15) }
    /// A PPPoE session header (RFC 2516).
    @inlinable public static var pppoe: Layers { Layers(rawValue: 1 << 16) }
    /// A TCP or UDP header cut short after its ports: the ports are valid, nothing else is.
    @inlinable public static var partialTransport: Layers { Layers(rawValue: 1 << 17) }
    /// An SCTP common header (RFC 9260 §3.1): ports and verification tag.
    @inlinable public static var sctp: Layers { Layers(rawValue: 1 << 18) }
    /// A PPP header (RFC 1661, with or without HDLC-like framing).
    @inlinable public static var ppp: Layers { Layers(rawValue: 1 << 19) }
    /// A Cisco HDLC header.
    @inlinable public static var hdlc: Layers { Layers(rawValue: 1 << 20) }
    /// An FDDI header.
    @inlinable public static var fddi: Layers { Layers(rawValue: 1 << 21) }
    /// An IEEE 802.11 header.
    @inlinable public static var ieee80211: Layers { Layers(rawValue: 1 << 22) }
    /// A radio header in front of 802.11: radiotap, PPI, Prism or AVS.
    @inlinable public static var radioHeader: Layers { Layers(rawValue: 1 << 23) }
    /// A Linux NFLOG header and its TLVs.
    @inlinable public static var nflog: Layers { Layers(rawValue: 1 << 24) }
    /// An 802.2 LLC header (with SNAP when it hands on an EtherType).
    @inlinable public static var llc: Layers { Layers(rawValue: 1 << 25) }
    /// An 802.1ah provider backbone bridging (PBB) I-TAG.
    @inlinable public static var pbb: Layers { Layers(rawValue: 1 << 26) }
    /// A VN-Tag or 802.1BR E-Tag.
    @inlinable public static var bridgeTag: Layers { Layers(rawValue: 1 << 27) }
    /// A Cisco FabricPath outer header.
    @inlinable public static var fabricPath: Layers { Layers(rawValue: 1 << 28) }
    /// A network service header (NSH, RFC 8300).
    @inlinable public static var nsh: Layers { Layers(rawValue: 1 << 29) }
    /// An MPLS pseudowire control word in front of an Ethernet frame (RFC 4385).
    @inlinable public static var pseudowire: Layers { Layers(rawValue: 1 << 30) }
    /// The packet was decapsulated from a tunnel (see ``TunnelStack``); the other layers are the inner packet's.
    @inlinable public static var tunnel: Layers { Layers(rawValue: 1 << 31) }
}

/// Odd things about a packet that still decodes (Zeek calls them "weirds").
public struct Anomalies: OptionSet, Sendable, Hashable {
    /// The bit pattern.
    public var rawValue: UInt32
    /// Creates an anomaly set from its bits.
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// IPv4 total length 0, as segmentation offload leaves it; the captured length was used.
    @inlinable public static var ipv4TotalLengthZero: Anomalies { Anomalies(rawValue: 1 << 0) }
    /// The IPv4 header checksum is wrong (only with checksum verification on).
    @inlinable public static var badIPv4Checksum: Anomalies { Anomalies(rawValue: 1 << 1) }
    /// The TCP, UDP or ICMP checksum is wrong (only with checksum verification on).
    @inlinable public static var badTransportChecksum: Anomalies { Anomalies(rawValue: 1 << 2) }
    /// A TCP option's length byte is impossible; option parsing stopped there.
    @inlinable public static var badTCPOptions: Anomalies { Anomalies(rawValue: 1 << 3) }
    /// Bytes after the IP packet (Ethernet padding or trailer) were ignored.
    @inlinable public static var trailingBytes: Anomalies { Anomalies(rawValue: 1 << 4) }
    /// The IPv4 header carries options.
    @inlinable public static var ipv4Options: Anomalies { Anomalies(rawValue: 1 << 5) }
    /// An IPv4 fragment with offset 0 and "more fragments" clear (an atomic fragment).
    @inlinable public static var atomicFragment: Anomalies { Anomalies(rawValue: 1 << 6) }
    /// The UDP length field disagrees with the IP payload length.
    @inlinable public static var udpLengthMismatch: Anomalies { Anomalies(rawValue: 1 << 7) }
    /// A tunnel was found but not decapsulated: more than ``TunnelStack/capacity`` deep,
    /// an invalid tunnel header, or an inner packet of the wrong length (the carrying
    /// UDP packet is still tracked).
    @inlinable public static var tunnelNotDecapsulated: Anomalies { Anomalies(rawValue: 1 << 8) }
    /// A UDP tunnel's header broke its protocol (VXLAN without the I flag, a truncated Geneve or
    /// AYIYA header, a bad Teredo encapsulation): Zeek's analyzer records a violation and
    /// decapsulates nothing more from that connection.
    @inlinable public static var tunnelViolation: Anomalies { Anomalies(rawValue: 1 << 9) }
    /// A UDP tunnel (VXLAN, Geneve, Teredo, AYIYA) nested past ``TunnelStack/capacity``
    /// (Zeek's `Tunnel::max_depth`): not decapsulated, and Zeek marks its carrying connection
    /// with history `X` (weird `exceeded_tunnel_max_depth`).
    @inlinable public static var tunnelTooDeep: Anomalies { Anomalies(rawValue: 1 << 10) }
    /// A UDP tunnel header that Zeek's analyzer confirms although nothing inside it is
    /// decapsulated: an AYIYA forward packet whose inner packet is bad or not IP (AYIYA
    /// confirms before it looks at the inner packet).
    @inlinable public static var tunnelConfirmedOnly: Anomalies { Anomalies(rawValue: 1 << 11) }
}

/// Whether a checksum was checked and what it said.
public enum ChecksumStatus: UInt8, Sendable, Hashable {
    /// Not checked: verification off, or the layer is absent.
    case unverified
    /// Checked and correct.
    case good
    /// Checked and wrong.
    case bad
    /// Cannot be checked: bytes missing (snaplen), a fragment, or UDP checksum 0 (none sent).
    case unverifiable
}

/// TCP header flags (RFC 9293 §3.1, RFC 3168 for ECE/CWR).
public struct TCPFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// The flag bits as in the header's low 9 bits (NS is bit 8).
    public var rawValue: UInt16
    /// Creates flags from the header bits.
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// FIN: no more data from sender.
    @inlinable public static var fin: TCPFlags { TCPFlags(rawValue: 0x001) }
    /// SYN: synchronise sequence numbers.
    @inlinable public static var syn: TCPFlags { TCPFlags(rawValue: 0x002) }
    /// RST: reset the connection.
    @inlinable public static var rst: TCPFlags { TCPFlags(rawValue: 0x004) }
    /// PSH: push.
    @inlinable public static var psh: TCPFlags { TCPFlags(rawValue: 0x008) }
    /// ACK: the acknowledgment field is significant.
    @inlinable public static var ack: TCPFlags { TCPFlags(rawValue: 0x010) }
    /// URG: the urgent pointer is significant.
    @inlinable public static var urg: TCPFlags { TCPFlags(rawValue: 0x020) }
    /// ECE: ECN echo.
    @inlinable public static var ece: TCPFlags { TCPFlags(rawValue: 0x040) }
    /// CWR: congestion window reduced.
    @inlinable public static var cwr: TCPFlags { TCPFlags(rawValue: 0x080) }
    /// NS: ECN nonce (RFC 3540, historic).
    @inlinable public static var ns: TCPFlags { TCPFlags(rawValue: 0x100) }

    /// tcpdump's notation: `S`, `S.`, `P.`, `F.`, `R`, `.` …
    public var description: String {
        var s = ""
        if contains(.fin) { s += "F" }
        if contains(.syn) { s += "S" }
        if contains(.rst) { s += "R" }
        if contains(.psh) { s += "P" }
        if contains(.urg) { s += "U" }
        if contains(.ece) { s += "E" }
        if contains(.cwr) { s += "W" }
        if contains(.ack) { s += "." }
        return s.isEmpty ? "none" : s
    }
}

/// One SACK block (RFC 2018): the left and right edges of a received range.
public struct SACKBlock: Sendable, Hashable {
    /// First sequence number of the block.
    public var left: UInt32
    /// Sequence number just past the block.
    public var right: UInt32
    /// Creates a SACK block.
    @inlinable public init(left: UInt32, right: UInt32) { self.left = left; self.right = right }
}

/// The TCP options FlowTrack reads (RFC 9293 §3.2, RFC 7323, RFC 2018).
public struct TCPOptions: Sendable, Hashable {
    /// Maximum segment size (kind 2).
    public var mss: UInt16?
    /// Window scale shift count (kind 3).
    public var windowScale: UInt8?
    /// SACK permitted (kind 4).
    public var sackPermitted: Bool = false
    /// Number of SACK blocks present (kind 5), 0…4.
    public var sackBlockCount: Int = 0
    /// SACK blocks, the first ``sackBlockCount`` of which are valid.
    public var sackBlocks: (SACKBlock, SACKBlock, SACKBlock, SACKBlock) = (
        SACKBlock(left: 0, right: 0), SACKBlock(left: 0, right: 0),
        SACKBlock(left: 0, right: 0), SACKBlock(left: 0, right: 0))
    /// Timestamp value (kind 8).
    public var timestampValue: UInt32?
    /// Timestamp echo reply (kind 8).
    public var timestampEchoReply: UInt32?

    /// No options.
    public init() {}

    /// The SACK block at `index` (0 ..< ``sackBlockCount``).
    public func sackBlock(_ index: Int) -> SACKBlock {
        switch index {
        case 0: return sackBlocks.0
        case 1: return sackBlocks.1
        case 2: return sackBlocks.2
        default: return sackBlocks.3
        }
    }

    mutating func appendSACK(_ block: SACKBlock) {
        switch sackBlockCount {
        case 0: sackBlocks.0 = block
        case 1: sackBlocks.1 = block
        case 2: sackBlocks.2 = block
        case 3: sackBlocks.3 = block
        default: return
        }
        sackBlockCount += 1
    }

    /// Compares the options, looking at valid SACK blocks only.
    public static func == (a: TCPOptions, b: TCPOptions) -> Bool {
        guard a.mss == b.mss, a.windowScale == b.windowScale, a.sackPermitted == b.sackPermitted,
              a.sackBlockCount == b.sackBlockCount, a.timestampValue == b.timestampValue,
              a.timestampEchoReply == b.timestampEchoReply else { return false }
        for i in 0..<a.sackBlockCount where a.sackBlock(i) != b.sackBlock(i) { return false }
        return true
    }

    /// Hashes the options, looking at valid SACK blocks only.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(mss); hasher.combine(windowScale); hasher.combine(sackPermitted)
        hasher.combine(timestampValue); hasher.combine(timestampEchoReply)
        for i in 0..<sackBlockCount { hasher.combine(sackBlock(i)) }
    }
}

/// The TCP header fields (RFC 9293 §3.1).
public struct TCPHeader: Sendable, Hashable {
    /// Sequence number.
    public var sequence: UInt32 = 0
    /// Acknowledgment number.
    public var acknowledgment: UInt32 = 0
    /// Flags.
    public var flags: TCPFlags = []
    /// Window (unscaled).
    public var window: UInt16 = 0
    /// Urgent pointer.
    public var urgentPointer: UInt16 = 0
    /// Header length in bytes (data offset × 4).
    public var headerLength: Int = 0
    /// The checksum field as sent.
    public var checksum: UInt16 = 0
    /// Parsed options.
    public var options = TCPOptions()
    /// An empty header.
    public init() {}
}

/// The IP and transport header quoted inside an ICMP error (RFC 792, RFC 4443 §2.4).
public struct QuotedPacket: Sendable, Hashable {
    /// 4 or 6.
    public var ipVersion: UInt8 = 0
    /// The quoted packet's source.
    public var source: IPAddress = .zero
    /// The quoted packet's destination.
    public var destination: IPAddress = .zero
    /// The quoted packet's protocol.
    public var ipProtocol = IPProtocol(rawValue: 0)
    /// Whether the quoted transport header's first 4 bytes (ports, or ICMP type/code) were present.
    public var hasPorts: Bool = false
    /// The quoted source port (TCP/UDP) or ICMP type.
    public var sourcePort: UInt16 = 0
    /// The quoted destination port (TCP/UDP) or ICMP code.
    public var destinationPort: UInt16 = 0
    /// An empty quote.
    public init() {}
}

/// ICMPv4 / ICMPv6 header fields.
public struct ICMPHeader: Sendable, Hashable {
    /// Message type.
    public var type: UInt8 = 0
    /// Message code.
    public var code: UInt8 = 0
    /// Identifier for echo, timestamp, information and address-mask messages.
    public var identifier: UInt16?
    /// Sequence number for the same messages.
    public var sequence: UInt16?
    /// The packet quoted by an error message (destination unreachable, time
    /// exceeded, parameter problem, redirect, source quench, packet too big).
    public var quoted: QuotedPacket?
    /// An empty header.
    public init() {}
}

/// Everything ``PacketDecoder`` learned about one frame, as a plain reusable value.
///
/// Offsets are from the start of the captured frame, so the payload bytes are
/// `frame.extracting(payloadOffset ..< payloadOffset + capturedPayloadLength)`.
public struct DecodedPacket: Sendable {
    // Stored largest alignment first, so that the value has no padding between fields (408
    // bytes instead of 456): every decoded packet is copied into the batches the tracking
    // threads read, so its size is memory traffic between cores.
    /// Captured bytes in the frame.
    public var capturedLength: Int = 0
    /// The frame's length on the wire.
    public var wireLength: Int = 0
    /// Offset of the payload after the transport header.
    public var payloadOffset: Int = 0
    /// Payload length as the headers state it (what was sent).
    public var payloadLength: Int = 0
    /// Payload bytes actually captured.
    public var capturedPayloadLength: Int = 0
    /// The first eight payload bytes, big-endian (the first byte highest), zero-padded
    /// when fewer were captured: enough for the header fields an application-protocol
    /// rule reads (DNS flags and counts, the NTP mode) without touching the frame again.
    public var payloadHead: UInt64 = 0
    /// Offset of the IP header.
    public var ipOffset: Int = 0
    /// Offset of the transport header.
    public var transportOffset: Int = 0
    /// IP header length in bytes, including IPv4 options and IPv6 extension headers.
    public var ipHeaderLength: Int = 0
    /// The IP packet's length as its header states it (IPv4 total length; 40 + IPv6 payload length).
    public var ipTotalLength: Int = 0
    /// The UDP length field, valid when ``layers`` contains `.udp`.
    public var udpLength: Int = 0
    /// Fragment offset in bytes.
    public var fragmentOffset: Int = 0
    /// Number of VLAN tags.
    public var vlanCount: Int = 0
    /// In an 802.11 A-MSDU, the offset of the next subframe, or 0: decode it with
    /// ``PacketDecoder/decode(_:wireLength:subframe:into:)`` as a packet of its own.
    public var nextSubframe: Int = 0
    /// Per tunnel (16 bits each, outermost first): the frame offset of its outer IP header.
    public var tunnelOffsets: UInt64 = 0
    /// The frame's link-layer source address (Ethernet; Linux cooked captures with a
    /// 6-byte address), or ``MACAddress/zero`` when the link layer has none.
    public var linkSource: MACAddress = .zero
    /// The frame's link-layer destination address (Ethernet), or ``MACAddress/zero``.
    public var linkDestination: MACAddress = .zero
    /// Why the packet is malformed, if it is; layers before the problem are still decoded.
    public var malformed: DecodeError?
    /// Source address.
    public var source: IPAddress = .zero
    /// The upper-layer protocol (after IPv6 extension headers).
    public var ipProtocol = IPProtocol(rawValue: 0)
    /// TTL or hop limit.
    public var ttl: UInt8 = 0
    /// IPv4 type of service / IPv6 traffic class.
    public var trafficClass: UInt8 = 0
    /// 4, 6, or 0 when there is no IP layer.
    public var ipVersion: UInt8 = 0
    /// How many tunnels the packet came through; 0 for nearly every packet.
    /// ``PacketDecoder/tunnels(in:wireLength:of:)`` gives their outer headers.
    public var tunnelDepth: UInt8 = 0
    /// The protocol that follows an IPv6 fragment header.
    public var fragmentNextHeader: UInt8 = 0
    /// The first layer the snapshot length cut short, if any.
    public var cut: Layer?
    /// Destination address.
    public var destination: IPAddress = .zero
    /// The "more fragments" flag.
    public var moreFragments: Bool = false
    /// IPv4 "don't fragment".
    public var dontFragment: Bool = false
    /// IPv6 extension headers seen, as a set.
    public var ipv6ExtensionHeaders: IPv6ExtensionHeaders = []
    /// IPv4 header checksum result.
    public var ipChecksum: ChecksumStatus = .unverified
    /// TCP/UDP/ICMP checksum result.
    public var transportChecksum: ChecksumStatus = .unverified
    /// TCP fields, valid when ``layers`` contains `.tcp`.
    public var tcp = TCPHeader()
    /// The EtherType (or SLL protocol) of the network layer.
    public var etherType = EtherType(rawValue: 0)
    /// The outermost VLAN ID (12 bits), when ``vlanCount`` > 0.
    public var outerVLAN: UInt16 = 0
    /// The second VLAN ID, when ``vlanCount`` > 1 (QinQ's customer tag).
    public var innerVLAN: UInt16 = 0
    /// For an IP fragment, where its fragmentable part starts, from the IP header: the
    /// IPv4 header length, or the offset of the IPv6 fragment header (whose 8 bytes precede
    /// the fragmentable part).
    public var fragmentHeaderOffset: UInt16 = 0
    /// For an IPv6 fragment, the offset (from the IP header) of the next-header byte that
    /// names the fragment header, and the fragment header's own next header.
    public var fragmentNextHeaderAt: UInt16 = 0
    /// TCP/UDP source port.
    public var sourcePort: UInt16 = 0
    /// TCP/UDP destination port.
    public var destinationPort: UInt16 = 0
    /// The layers found.
    public var layers: Layers = []
    /// Odd but decodable features.
    public var anomalies: Anomalies = []
    /// Per tunnel (byte `i` for layer `i`, outermost first): the ``TunnelKind`` in bits 0-3,
    /// 0x10 when it rides on UDP, 0x20 when the packet confirmed it.
    public var tunnelInfo: UInt32 = 0
    /// IPv6 flow label.
    public var flowLabel: UInt32 = 0
    /// IPv4 identification or IPv6 fragment identification.
    public var fragmentIdentification: UInt32 = 0
    /// ICMP fields, valid when ``layers`` contains `.icmpv4` or `.icmpv6`.
    public var icmp = ICMPHeader()


    /// An empty packet, ready to be filled by ``PacketDecoder/decode(_:wireLength:into:)``.
    public init() {}

    /// Whether this is a non-first IP fragment (offset > 0): it carries no ports.
    @inlinable public var isNonFirstFragment: Bool { layers.contains(.fragment) && fragmentOffset > 0 }

    /// Whether the packet has TCP or UDP ports (possibly from a header cut after them).
    @inlinable public var hasPorts: Bool { !layers.isDisjoint(with: [.tcp, .udp, .sctp, .partialTransport]) }
}

/// IPv6 extension headers (RFC 8200 §4), as a set.
public struct IPv6ExtensionHeaders: OptionSet, Sendable, Hashable {
    /// The bit pattern.
    public var rawValue: UInt8
    /// Creates a set from its bits.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Hop-by-hop options (0).
    @inlinable public static var hopByHop: IPv6ExtensionHeaders { IPv6ExtensionHeaders(rawValue: 1 << 0) }
    /// Routing (43).
    @inlinable public static var routing: IPv6ExtensionHeaders { IPv6ExtensionHeaders(rawValue: 1 << 1) }
    /// Fragment (44).
    @inlinable public static var fragment: IPv6ExtensionHeaders { IPv6ExtensionHeaders(rawValue: 1 << 2) }
    /// Destination options (60).
    @inlinable public static var destinationOptions: IPv6ExtensionHeaders { IPv6ExtensionHeaders(rawValue: 1 << 3) }
    /// Authentication header (51).
    @inlinable public static var authentication: IPv6ExtensionHeaders { IPv6ExtensionHeaders(rawValue: 1 << 4) }
    /// Encapsulating security payload (50): the walk ends here.
    @inlinable public static var esp: IPv6ExtensionHeaders { IPv6ExtensionHeaders(rawValue: 1 << 5) }
    /// Mobility (135), HIP (139) or Shim6 (140).
    @inlinable public static var other: IPv6ExtensionHeaders { IPv6ExtensionHeaders(rawValue: 1 << 6) }
}
