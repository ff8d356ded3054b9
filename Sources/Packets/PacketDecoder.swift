/// Decodes captured frames into ``DecodedPacket`` values without copying or allocating.
///
/// Like gopacket's `DecodingLayerParser`, one decoder is made per capture and
/// reused for every frame, writing into a caller-owned `DecodedPacket`. Every
/// length is validated once before a header's fields are read at constant
/// offsets, so no input can read outside the frame; anything the headers claim
/// but the bytes do not hold is reported as ``DecodedPacket/cut`` (the snapshot
/// length cut it) or ``DecodedPacket/malformed`` (the packet lies), and the
/// layers before the problem stay decoded.
///
/// IP fragments are not reassembled: a first fragment carries its transport
/// header and ports, a later fragment is marked ``Layers/fragment`` with
/// ``DecodedPacket/fragmentOffset`` > 0 and no ports (Zeek reassembles; doing so
/// needs buffering, which this allocation-free stage leaves to a later one).
public struct PacketDecoder: Sendable {

    /// The link type of the frames this decoder reads.
    public let linkType: LinkType
    /// Whether to verify IPv4 header and TCP/UDP/ICMP checksums.
    public var verifyChecksums: Bool

    /// Whether checksums are verified when nobody says otherwise: yes, as Zeek does
    /// without `-C`. The connection tracker's configuration uses the same default.
    public static let verifiesChecksumsByDefault = true

    /// Creates a decoder for one link type.
    /// - Throws: `DecodeError.unsupportedLinkType` for a link type it cannot read.
    public init(linkType: LinkType, verifyChecksums: Bool = verifiesChecksumsByDefault) throws(DecodeError) {
        guard linkType.isSupported else { throw .unsupportedLinkType(linkType.rawValue) }
        self.linkType = linkType
        self.verifyChecksums = verifyChecksums
    }

    /// Decodes one frame into `packet`, replacing its previous contents.
    ///
    /// - Parameters:
    ///   - frame: the captured bytes.
    ///   - wireLength: the frame's length on the wire; larger than `frame.count`
    ///     when the snapshot length cut the frame.
    ///   - packet: the value to fill.
    /// - Returns: the layers found (also in `packet.layers`).
    @discardableResult
    public func decode(_ frame: Span<UInt8>, wireLength: Int, into packet: inout DecodedPacket) -> Layers {
        packet = DecodedPacket()
        packet.capturedLength = frame.count
        packet.wireLength = max(wireLength, frame.count)
        var cursor = Cursor(frame: frame, wireLength: packet.wireLength, verify: verifyChecksums)
        cursor.decodeLink(linkType, &packet)
        return packet.layers
    }

    /// The outer headers of the tunnels `packet` (decoded from `frame`) came through,
    /// outermost first: read again from the frame, so that untunnelled packets — nearly
    /// all — carry nothing but a depth of 0.
    public func tunnels(in frame: Span<UInt8>, wireLength: Int, of packet: DecodedPacket) -> TunnelStack {
        var stack = TunnelStack()
        for i in 0..<Int(min(packet.tunnelDepth, UInt8(TunnelStack.capacity))) {
            let info = UInt8(truncatingIfNeeded: packet.tunnelInfo >> (8 * UInt32(i)))
            let offset = Int(UInt16(truncatingIfNeeded: packet.tunnelOffsets >> (16 * UInt64(i))))
            var outer = DecodedPacket()
            outer.capturedLength = frame.count
            outer.wireLength = max(wireLength, frame.count)
            var cursor = Cursor(frame: frame, wireLength: outer.wireLength, verify: verifyChecksums, decapsulate: false)
            guard offset < frame.count else { break }
            if frame[offset] >> 4 == 4 { cursor.decodeIPv4(at: offset, &outer) } else { cursor.decodeIPv6(at: offset, &outer) }
            stack.push(TunnelLayer(TunnelKind(rawValue: info & 0x0F) ?? .ip, overUDP: info & 0x10 != 0,
                                   confirmed: info & 0x20 != 0, outer: outer))
        }
        return stack
    }

    /// Decodes every A-MSDU subframe after the first (``DecodedPacket/nextSubframe`` of
    /// `first`) into `subframes`, replacing its contents; at most 64. Frames without
    /// subframes leave it empty and cost one comparison.
    public func decodeSubframes(_ frame: Span<UInt8>, wireLength: Int, after first: DecodedPacket,
                                into subframes: inout [DecodedPacket]) {
        if !subframes.isEmpty { subframes.removeAll(keepingCapacity: true) }
        var next = first.nextSubframe
        var sub = DecodedPacket()
        while next > 0, subframes.count < 64 {
            decode(frame, wireLength: wireLength, subframe: next, into: &sub)
            subframes.append(sub)
            guard sub.nextSubframe > next else { break }
            next = sub.nextSubframe
        }
    }

    /// Decodes the 802.11 A-MSDU subframe at `subframe` of `frame` (a previous decode's
    /// ``DecodedPacket/nextSubframe``) into `packet`: each subframe is a packet of its own,
    /// as Zeek and tshark take it. Its ``DecodedPacket/nextSubframe`` points to the one after.
    @discardableResult
    public func decode(_ frame: Span<UInt8>, wireLength: Int, subframe: Int, into packet: inout DecodedPacket) -> Layers {
        packet = DecodedPacket()
        packet.capturedLength = frame.count
        packet.wireLength = max(wireLength, frame.count)
        guard subframe > 0, subframe < frame.count else { return packet.layers }
        var cursor = Cursor(frame: frame, wireLength: packet.wireLength, verify: verifyChecksums)
        packet.layers.insert(.ieee80211)
        if let next = cursor.amsduSubframe(at: subframe, &packet), packet.malformed == nil, packet.cut == nil {
            cursor.network(next, &packet)
        }
        return packet.layers
    }
}

/// The decoding state for one frame. Internal; lives on the stack.
struct Cursor: ~Escapable {
    let frame: Span<UInt8>
    let wireLength: Int
    let verify: Bool
    /// Whether tunnels are decapsulated (not when reading a tunnel's outer headers again).
    let decapsulate: Bool
    /// Whether the snapshot length cut this frame.
    var snapCut: Bool { frame.count < wireLength }

    @_lifetime(copy frame)
    init(frame: Span<UInt8>, wireLength: Int, verify: Bool, decapsulate: Bool = true) {
        self.frame = frame
        self.wireLength = wireLength
        self.verify = verify
        self.decapsulate = decapsulate
    }

    /// Records that `layer` needed `needed` bytes where `available` were captured:
    /// a snaplen cut when the frame was cut, a malformed packet otherwise.
    func short(_ layer: Layer, needed: Int, available: Int, _ p: inout DecodedPacket) {
        if snapCut { p.cut = layer } else { p.malformed = .truncated(layer, needed: needed, available: available) }
    }

    // MARK: Link layer

    /// What the link layer hands on: the EtherType-style protocol of the next header
    /// and its offset, or `nil` when the frame carries nothing FlowTrack decodes further.
    typealias Next = (etherType: UInt16, offset: Int)

    mutating func decodeLink(_ linkType: LinkType, _ p: inout DecodedPacket) {
        let count = frame.count
        let next: Next?
        switch linkType.rawValue {
        case 1:
            // Nearly every frame: untagged Ethernet II straight to IP, without the shim loop.
            if count >= 14 {
                let type = frame.be16(at: 12)
                if type == 0x0800 || type == 0x86DD {
                    p.layers.insert(.ethernet)
                    p.linkDestination = MACAddress(frame.be16(at: 0), frame.be32(at: 2))
                    p.linkSource = MACAddress(frame.be16(at: 6), frame.be32(at: 8))
                    p.etherType = EtherType(rawValue: type)
                    if type == 0x0800 { decodeIPv4(at: 14, &p) } else { decodeIPv6(at: 14, &p) }
                    return
                }
            }
            next = ethernet(at: 0, &p)
        case 113:
            guard count >= 16 else { return short(.linuxSLL, needed: 16, available: count, &p) }
            p.layers.insert(.linuxSLL)
            if frame.be16(at: 4) == 6 { p.linkSource = MACAddress(frame.be16(at: 6), frame.be32(at: 8)) }
            next = (frame.be16(at: 14), 16)
        case 276:
            guard count >= 20 else { return short(.linuxSLL2, needed: 20, available: count, &p) }
            p.layers.insert(.linuxSLL2)
            if frame[11] == 6 { p.linkSource = MACAddress(frame.be16(at: 12), frame.be32(at: 14)) }
            next = (frame.be16(at: 0), 20)
        case 0, 108:
            guard count >= 4 else { return short(.loopback, needed: 4, available: count, &p) }
            p.layers.insert(.loopback)
            var family = frame.be32(at: 0)
            // DLT_NULL is in the capturing host's byte order; the family always
            // fits in 16 bits, so a value with high bits set was written little-endian.
            if linkType.rawValue == 0, family & 0xFFFF_0000 != 0 { family = frame.le32(at: 0) }
            switch family {
            case 2: next = (EtherType.ipv4.rawValue, 4)
            case 10, 24, 28, 30: next = (EtherType.ipv6.rawValue, 4)
            default:
                p.malformed = .unknownAddressFamily(family)
                return
            }
        case 228:
            next = (EtherType.ipv4.rawValue, 0)
        case 229:
            next = (EtherType.ipv6.rawValue, 0)
        case 9, 50, 204, 51:
            // PPP (RFC 1661), PPP in HDLC-like framing (RFC 1662), PPP with a direction
            // byte (libpcap's PPP_WITH_DIR), PPPoE session frames without Ethernet (PPP_ETHER).
            var start = linkType.rawValue == 204 ? 1 : 0
            if linkType.rawValue == 51 {
                guard count >= 6 else { return short(.pppoe, needed: 6, available: count, &p) }
                p.layers.insert(.pppoe)
                start = 6
            }
            next = ppp(at: start, &p)
        case 104, 205:
            // Cisco HDLC: address, control, then an EtherType (205: a direction byte first).
            let start = linkType.rawValue == 205 ? 1 : 0
            guard count - start >= 4 else { return short(.hdlc, needed: 4, available: count - start, &p) }
            p.layers.insert(.hdlc)
            next = (frame.be16(at: start + 2), start + 4)
        case 10:
            // FDDI: frame control, destination and source (13 bytes), then 802.2 LLC/SNAP.
            guard count >= 13 else { return short(.fddi, needed: 13, available: count, &p) }
            p.layers.insert(.fddi)
            next = llc(at: 13, length: count - 13, &p)
        case 105:
            next = ieee80211(at: 0, &p)
        case 127:
            // Radiotap: a little-endian header length at bytes 2-3, then the 802.11 frame.
            guard count >= 4 else { return short(.radioHeader, needed: 4, available: count, &p) }
            let length = Int(frame.le16(at: 2))
            guard length >= 8, length < count else { p.malformed = .invalidHeaderLength(.radioHeader, length); return }
            p.layers.insert(.radioHeader)
            next = ieee80211(at: length, &p)
        case 192:
            // PPI: version, flags, little-endian length and the link type of what follows.
            guard count >= 8 else { return short(.radioHeader, needed: 8, available: count, &p) }
            let length = Int(frame.le16(at: 2))
            guard length >= 8, length < count else { p.malformed = .invalidHeaderLength(.radioHeader, length); return }
            p.layers.insert(.radioHeader)
            switch frame.le32(at: 4) {
            case 105: next = ieee80211(at: length, &p)
            case 1: next = ethernet(at: length, &p)
            default: return
            }
        case 119, 163:
            // Prism (little-endian message length at 4) and AVS (big-endian header length at 4) radio headers.
            guard count >= 8 else { return short(.radioHeader, needed: 8, available: count, &p) }
            let length = Int(linkType.rawValue == 119 ? frame.le32(at: 4) : frame.be32(at: 4))
            guard length >= 8, length < count else { p.malformed = .invalidHeaderLength(.radioHeader, length); return }
            p.layers.insert(.radioHeader)
            next = ieee80211(at: length, &p)
        case 239:
            next = nflog(&p)
        default:  // raw IP: 12, 14, 101
            guard count >= 1 else { return short(.ipv4, needed: 1, available: 0, &p) }
            switch frame[0] >> 4 {
            case 4: next = (EtherType.ipv4.rawValue, 0)
            case 6: next = (EtherType.ipv6.rawValue, 0)
            default:
                p.malformed = .unsupportedVersion(frame[0] >> 4)
                return
            }
        }
        guard let next, p.malformed == nil, p.cut == nil else { return }
        network(next, &p)
    }

    /// The shims between the link layer and IP — 802.1Q/802.1ad tag stacks, MPLS label
    /// stacks (with an Ethernet pseudowire behind a control word), PPPoE sessions,
    /// 802.1ah PBB, VN-Tag, 802.1BR E-Tag, NSH, 802.2 LLC/SNAP — then IPv4, IPv6 or ARP.
    mutating func network(_ start: Next, _ p: inout DecodedPacket) {
        let count = frame.count
        var etherType = start.etherType, offset = start.offset
        var shims = 0
        shim: while true {
            shims += 1
            guard shims <= 24 else {
                p.malformed = .tooManyHeaders(.vlan)
                return
            }
            switch etherType {
            case 0x8100, 0x88A8, 0x9100:
                guard count - offset >= 4 else { return short(.vlan, needed: 4, available: count - offset, &p) }
                guard p.vlanCount < 8 else {
                    p.malformed = .tooManyHeaders(.vlan)
                    return
                }
                let id = frame.be16(at: offset) & 0x0FFF
                if p.vlanCount == 0 { p.outerVLAN = id } else if p.vlanCount == 1 { p.innerVLAN = id }
                p.vlanCount += 1
                p.layers.insert(.vlan)
                etherType = frame.be16(at: offset + 2)
                offset += 4
            case 0x8847, 0x8848:
                // RFC 3032 label stack: 4 bytes per entry, bottom of stack has the S bit.
                var entries = 0
                while true {
                    guard count - offset >= 4 else { return short(.mpls, needed: 4, available: count - offset, &p) }
                    let entry = frame.be32(at: offset)
                    offset += 4
                    entries += 1
                    if entry & 0x100 != 0 { break }
                    guard entries < 16 else {
                        p.malformed = .tooManyHeaders(.mpls)
                        return
                    }
                }
                p.layers.insert(.mpls)
                guard count - offset >= 1 else { return short(.mpls, needed: 1, available: 0, &p) }
                // No protocol field: the payload's first nibble tells IPv4 from IPv6, and 0
                // is a pseudowire control word (RFC 4385) before an Ethernet frame.
                switch frame[offset] >> 4 {
                case 4: etherType = EtherType.ipv4.rawValue
                case 6: etherType = EtherType.ipv6.rawValue
                case 0:
                    guard count - offset >= 4 else { return short(.mpls, needed: 4, available: count - offset, &p) }
                    p.layers.insert(.pseudowire)
                    guard let inner = ethernet(at: offset + 4, &p) else { return }
                    (etherType, offset) = inner
                default: p.etherType = EtherType(rawValue: etherType); return
                }
            case 0x8864:
                // RFC 2516 PPPoE session header (6 bytes) + PPP protocol.
                guard count - offset >= 8 else { return short(.pppoe, needed: 8, available: count - offset, &p) }
                p.layers.insert(.pppoe)
                guard let inner = ppp(at: offset + 6, &p) else { p.etherType = EtherType(rawValue: etherType); return }
                (etherType, offset) = inner
            case 0x88E7:
                // 802.1ah PBB: the 4-byte I-TAG, then the customer's Ethernet header, whose
                // addresses replace the backbone's (as Zeek records them).
                guard count - offset >= 18 else { return short(.pbb, needed: 18, available: count - offset, &p) }
                p.layers.insert(.pbb)
                guard let inner = ethernet(at: offset + 4, &p) else { return }
                (etherType, offset) = inner
            case 0x8870:
                // "Jumbo LLC": 802.2 LLC behind an EtherType instead of a length.
                guard let inner = llc(at: offset, length: count - offset, &p) else { p.etherType = EtherType(rawValue: etherType); return }
                (etherType, offset) = inner
            case 0x8926:
                // VN-Tag: 4 bytes of tag, then the next EtherType.
                guard count - offset >= 6 else { return short(.bridgeTag, needed: 6, available: count - offset, &p) }
                p.layers.insert(.bridgeTag)
                etherType = frame.be16(at: offset + 4)
                offset += 6
            case 0x893F:
                // 802.1BR E-Tag: 6 bytes of tag, then the next EtherType.
                guard count - offset >= 8 else { return short(.bridgeTag, needed: 8, available: count - offset, &p) }
                p.layers.insert(.bridgeTag)
                etherType = frame.be16(at: offset + 6)
                offset += 8
            case 0x894F:
                // NSH (RFC 8300): the length (in 4-byte words) in byte 1, the next protocol in byte 3.
                guard count - offset >= 8 else { return short(.nsh, needed: 8, available: count - offset, &p) }
                let length = Int(frame[offset + 1] & 0x3F) * 4
                guard length >= 8, count - offset >= length else {
                    return short(.nsh, needed: max(length, 8), available: count - offset, &p)
                }
                p.layers.insert(.nsh)
                let nextProtocol = frame[offset + 3]
                offset += length
                switch nextProtocol {
                case 1: etherType = EtherType.ipv4.rawValue
                case 2: etherType = EtherType.ipv6.rawValue
                case 3:
                    guard let inner = ethernet(at: offset, &p) else { return }
                    (etherType, offset) = inner
                case 5: etherType = 0x8847
                default: p.etherType = EtherType(rawValue: 0x894F); return
                }
            default:
                break shim
            }
        }
        p.etherType = EtherType(rawValue: etherType)
        switch etherType {
        case 0x0800: decodeIPv4(at: offset, &p)
        case 0x86DD: decodeIPv6(at: offset, &p)
        case 0x0806, 0x8035: p.layers.insert(.arp)
        default: return
        }
    }

    /// An Ethernet header at `offset` (also inside PBB, pseudowires, NSH and radio headers):
    /// records the addresses and hands on its EtherType, skipping a Cisco FabricPath outer
    /// header and reading 802.3 length frames through LLC/SNAP.
    mutating func ethernet(at start: Int, _ p: inout DecodedPacket) -> Next? {
        var offset = start
        guard frame.count - offset >= 14 else { short(.ethernet, needed: 14, available: frame.count - offset, &p); return nil }
        p.layers.insert(.ethernet)
        if frame.be16(at: offset + 12) == 0x8903 {
            // FabricPath: outer addresses, 0x8903 and FTag/TTL (16 bytes), then the frame.
            guard frame.count - offset >= 30 else { short(.fabricPath, needed: 30, available: frame.count - offset, &p); return nil }
            p.layers.insert(.fabricPath)
            offset += 16
        }
        p.linkDestination = MACAddress(frame.be16(at: offset), frame.be32(at: offset + 2))
        p.linkSource = MACAddress(frame.be16(at: offset + 6), frame.be32(at: offset + 8))
        let type = frame.be16(at: offset + 12)
        if type >= 1536 { return (type, offset + 14) }
        guard type <= 1500 else { return nil }  // 1501-1535: undefined
        // 802.3: the length field bounds the LLC frame (dropping padding).
        return llc(at: offset + 14, length: min(Int(type), frame.count - offset - 14), &p)
    }

    /// 802.2 LLC at `offset`: SNAP (`AA AA 03`, OUI, EtherType) hands on its EtherType;
    /// other SAPs carry nothing FlowTrack decodes.
    @inline(never)
    mutating func llc(at offset: Int, length: Int, _ p: inout DecodedPacket) -> Next? {
        guard length >= 3 else { short(.llc, needed: 3, available: length, &p); return nil }
        guard frame[offset] == 0xAA, frame[offset + 1] == 0xAA else { p.layers.insert(.llc); return nil }
        // The control field takes 2 bytes unless its two low bits are both set.
        let header = frame[offset + 2] & 3 == 3 ? 3 : 4
        guard length >= header + 5 else { short(.llc, needed: header + 5, available: length, &p); return nil }
        p.layers.insert(.llc)
        return (frame.be16(at: offset + header + 3), offset + header + 5)
    }

    /// A PPP protocol field at `offset` (after an optional `FF 03` HDLC address and control):
    /// IPv4, IPv6 and MPLS are handed on.
    @inline(never)
    mutating func ppp(at start: Int, _ p: inout DecodedPacket) -> Next? {
        var offset = start
        guard frame.count - offset >= 2 else { short(.ppp, needed: 2, available: frame.count - offset, &p); return nil }
        if frame[offset] == 0xFF, frame[offset + 1] == 0x03 {
            offset += 2
            guard frame.count - offset >= 2 else { short(.ppp, needed: 2, available: frame.count - offset, &p); return nil }
        }
        p.layers.insert(.ppp)
        // Protocol-field compression (RFC 1661 §6.5): an odd first byte is a 1-byte protocol.
        let compressed = frame[offset] & 1 == 1
        let proto = compressed ? UInt16(frame[offset]) : frame.be16(at: offset)
        offset += compressed ? 1 : 2
        switch proto {
        case 0x0021: return (EtherType.ipv4.rawValue, offset)
        case 0x0057: return (EtherType.ipv6.rawValue, offset)
        case 0x0281, 0x0283: return (0x8847, offset)
        default: return nil
        }
    }

    /// An IEEE 802.11 frame at `start` (Docs/Encapsulation.md §1.5): data frames only; the
    /// 4th address, QoS control and (as tshark reads it) the HT control field; the
    /// addresses by the To-DS/From-DS bits; the first A-MSDU subframe (``DecodedPacket/nextSubframe``
    /// tells where the next one starts); LLC/SNAP in front of IP.
    @inline(never)
    mutating func ieee80211(at start: Int, _ p: inout DecodedPacket) -> Next? {
        let count = frame.count
        guard count - start >= 24 else { short(.ieee80211, needed: 24, available: count - start, &p); return nil }
        p.layers.insert(.ieee80211)
        let fc0 = frame[start], fc1 = frame[start + 1]
        let type = fc0 >> 2 & 3, subtype = fc0 >> 4
        guard type == 2, subtype & 0x4 == 0 else { return nil }  // data frames that carry data
        let ds = fc1 & 3
        var header = ds == 3 ? 30 : 24
        guard count - start >= header else { short(.ieee80211, needed: header, available: count - start, &p); return nil }
        let qos = subtype & 0x8 != 0
        var amsdu = false
        if qos {
            guard count - start >= header + 2 else { short(.ieee80211, needed: header + 2, available: count - start, &p); return nil }
            amsdu = frame[start + header] & 0x80 != 0
            header += 2
            if fc1 & 0x80 != 0 { header += 4 }  // HT control (the Order bit in a QoS data frame)
        }
        guard fc1 & 0x40 == 0 else { return nil }  // protected: encrypted payload
        func address(_ i: Int) -> MACAddress { MACAddress(frame.be16(at: start + i), frame.be32(at: start + i + 2)) }
        switch ds {
        case 0: p.linkSource = address(10); p.linkDestination = address(4)
        case 1: p.linkSource = address(10); p.linkDestination = address(16)
        case 2: p.linkSource = address(16); p.linkDestination = address(4)
        default: p.linkSource = address(24); p.linkDestination = address(16)
        }
        if amsdu { return amsduSubframe(at: start + header, &p) }
        return snap80211(at: start + header, length: count - start - header, &p)
    }

    /// The 802.11 payload's LLC/SNAP header (RFC 1042 or 802.1H) in front of an EtherType.
    mutating func snap80211(at offset: Int, length: Int, _ p: inout DecodedPacket) -> Next? {
        guard length >= 8, frame[offset] == 0xAA, frame[offset + 1] == 0xAA, frame[offset + 2] == 0x03,
              frame[offset + 3] == 0, frame[offset + 4] == 0, frame[offset + 5] == 0 || frame[offset + 5] == 0xF8
        else { return nil }
        p.layers.insert(.llc)
        return (frame.be16(at: offset + 6), offset + 8)
    }

    /// An A-MSDU subframe: destination, source, length, then LLC/SNAP and the payload,
    /// padded to 4 bytes before the next subframe.
    @inline(never)
    mutating func amsduSubframe(at offset: Int, _ p: inout DecodedPacket) -> Next? {
        let count = frame.count
        guard count - offset >= 14 else { short(.ieee80211, needed: 14, available: count - offset, &p); return nil }
        let length = Int(frame.be16(at: offset + 12))
        p.linkDestination = MACAddress(frame.be16(at: offset), frame.be32(at: offset + 2))
        p.linkSource = MACAddress(frame.be16(at: offset + 6), frame.be32(at: offset + 8))
        guard length <= count - offset - 14 else {
            short(.ieee80211, needed: length, available: count - offset - 14, &p)
            return nil
        }
        let end = offset + 14 + length + (4 - (14 + length) % 4) % 4
        if end + 14 <= count { p.nextSubframe = end }
        return snap80211(at: offset + 14, length: length, &p)
    }

    /// Linux NFLOG: family and version, then TLVs (host byte order: little-endian here)
    /// until the payload (type 9), which holds the IP packet.
    @inline(never)
    mutating func nflog(_ p: inout DecodedPacket) -> Next? {
        let count = frame.count
        guard count >= 4 else { short(.nflog, needed: 4, available: count, &p); return nil }
        p.layers.insert(.nflog)
        let family = frame[0]
        var offset = 4
        var tlvs = 0
        while count - offset >= 4 {
            tlvs += 1
            guard tlvs <= 64 else { p.malformed = .tooManyHeaders(.nflog); return nil }
            let length = Int(frame.le16(at: offset)), type = frame.le16(at: offset + 2)
            guard length >= 4, length <= count - offset else { p.malformed = .invalidHeaderLength(.nflog, length); return nil }
            if type == 9 {
                switch family {
                case 2: return (EtherType.ipv4.rawValue, offset + 4)
                case 10: return (EtherType.ipv6.rawValue, offset + 4)
                default: return nil
                }
            }
            offset += (length + 3) & ~3
        }
        return nil
    }

    // MARK: IPv4 (RFC 791 §3.1)

    mutating func decodeIPv4(at offset: Int, _ p: inout DecodedPacket) {
        let available = frame.count - offset
        let onWire = wireLength - offset
        guard available >= 20 else { return short(.ipv4, needed: 20, available: available, &p) }
        let h = frame.extracting(offset...)
        let version = h[0] >> 4
        guard version == 4 else {
            p.malformed = .unsupportedVersion(version)
            return
        }
        let ihl = Int(h[0] & 0x0F) * 4
        guard ihl >= 20 else {
            p.malformed = .invalidHeaderLength(.ipv4, ihl)
            return
        }
        guard available >= ihl else { return short(.ipv4, needed: ihl, available: available, &p) }
        p.layers.insert(.ipv4)
        p.ipVersion = 4
        p.ipOffset = offset
        p.trafficClass = h[1]
        var total = Int(h.be16(at: 2))
        p.fragmentIdentification = UInt32(h.be16(at: 4))
        let fragmentField = h.be16(at: 6)
        p.ttl = h[8]
        p.ipProtocol = IPProtocol(rawValue: h[9])
        p.source = IPAddress(ipv4: h.be32(at: 12))
        p.destination = IPAddress(ipv4: h.be32(at: 16))
        p.ipHeaderLength = ihl
        if ihl > 20 { p.anomalies.insert(.ipv4Options) }
        p.dontFragment = fragmentField & 0x4000 != 0
        p.fragmentHeaderOffset = UInt16(truncatingIfNeeded: ihl)
        p.moreFragments = fragmentField & 0x2000 != 0
        p.fragmentOffset = Int(fragmentField & 0x1FFF) * 8
        if p.moreFragments || p.fragmentOffset > 0 { p.layers.insert(.fragment) }

        if total == 0 {
            // TCP segmentation offload leaves the field 0 (Zeek: ip_hdr_len_zero).
            p.anomalies.insert(.ipv4TotalLengthZero)
            total = onWire
        }
        guard total >= ihl else {
            p.malformed = .lengthBelowHeader(.ipv4, total)
            return
        }
        if total > onWire {
            p.malformed = .lengthExceedsPacket(.ipv4, claimed: total, available: onWire)
            total = onWire
        } else if total < onWire {
            p.anomalies.insert(.trailingBytes)
        }
        p.ipTotalLength = total
        if verify {
            p.ipChecksum = Checksum.validIPv4Header(h, length: ihl) ? .good : .bad
            if p.ipChecksum == .bad { p.anomalies.insert(.badIPv4Checksum) }
        }
        let capturedEnd = offset + min(total, available)
        guard p.fragmentOffset == 0 else {
            return setPayload(at: offset + ihl, length: total - ihl, available: capturedEnd - offset - ihl, &p)
        }
        decodeTransport(at: offset + ihl, length: total - ihl, capturedEnd: capturedEnd, &p)
    }

    // MARK: IPv6 (RFC 8200)

    mutating func decodeIPv6(at offset: Int, _ p: inout DecodedPacket) {
        let available = frame.count - offset
        let onWire = wireLength - offset
        guard available >= 40 else { return short(.ipv6, needed: 40, available: available, &p) }
        let h = frame.extracting(offset...)
        let version = h[0] >> 4
        guard version == 6 else {
            p.malformed = .unsupportedVersion(version)
            return
        }
        p.layers.insert(.ipv6)
        p.ipVersion = 6
        p.ipOffset = offset
        p.trafficClass = UInt8(truncatingIfNeeded: h.be16(at: 0) >> 4)
        p.flowLabel = h.be32(at: 0) & 0x000F_FFFF
        let payloadLength = Int(h.be16(at: 4))
        var next = h[6]
        p.ttl = h[7]
        p.source = IPAddress(ipv6High: h.be64(at: 8), low: h.be64(at: 16))
        p.destination = IPAddress(ipv6High: h.be64(at: 24), low: h.be64(at: 32))
        var total = 40 + payloadLength
        if payloadLength == 0 && next == 0 { total = onWire }  // jumbogram (RFC 2675)
        if total > onWire {
            p.malformed = .lengthExceedsPacket(.ipv6, claimed: total, available: onWire)
            total = onWire
        } else if total < onWire {
            p.anomalies.insert(.trailingBytes)
        }
        p.ipTotalLength = total
        let captured = min(total, available)

        // Walk the extension-header chain (RFC 8200 §4.1). Every header is at
        // least 8 bytes, so the walk ends within the packet's length.
        var headerEnd = 40
        var nextAt = 6  // where the byte naming the next header is
        p.ipProtocol = IPProtocol(rawValue: next)
        walk: while true {
            let length: Int
            switch next {
            case 0, 43, 60, 135, 139, 140, 51:
                guard total - headerEnd >= 2 else {
                    p.malformed = .truncated(.ipv6Extension, needed: 2, available: total - headerEnd)
                    return
                }
                guard captured - headerEnd >= 2 else {
                    return short(.ipv6Extension, needed: 2, available: captured - headerEnd, &p)
                }
                length = next == 51 ? (Int(h[headerEnd + 1]) + 2) * 4 : (Int(h[headerEnd + 1]) + 1) * 8
                switch next {
                case 0: p.ipv6ExtensionHeaders.insert(.hopByHop)
                case 43: p.ipv6ExtensionHeaders.insert(.routing)
                case 60: p.ipv6ExtensionHeaders.insert(.destinationOptions)
                case 51: p.ipv6ExtensionHeaders.insert(.authentication)
                default: p.ipv6ExtensionHeaders.insert(.other)
                }
            case 44:
                length = 8
                p.ipv6ExtensionHeaders.insert(.fragment)
            case 50:
                p.ipv6ExtensionHeaders.insert(.esp)
                break walk
            default:
                break walk
            }
            guard total - headerEnd >= length else {
                p.malformed = .lengthExceedsPacket(.ipv6Extension, claimed: length, available: total - headerEnd)
                return
            }
            guard captured - headerEnd >= length else {
                return short(.ipv6Extension, needed: length, available: captured - headerEnd, &p)
            }
            if next == 44 {
                p.fragmentHeaderOffset = UInt16(truncatingIfNeeded: headerEnd)
                p.fragmentNextHeaderAt = UInt16(truncatingIfNeeded: nextAt)
                p.fragmentNextHeader = h[headerEnd]
                let field = h.be16(at: headerEnd + 2)
                p.fragmentOffset = Int(field & 0xFFF8)
                p.moreFragments = field & 1 != 0
                p.fragmentIdentification = h.be32(at: headerEnd + 4)
                if p.moreFragments || p.fragmentOffset > 0 {
                    p.layers.insert(.fragment)
                } else {
                    p.anomalies.insert(.atomicFragment)  // RFC 6946: not really fragmented
                }
            }
            next = h[headerEnd]
            nextAt = headerEnd
            headerEnd += length
            p.ipProtocol = IPProtocol(rawValue: next)  // where decoding stands if the chain breaks
        }
        p.ipProtocol = IPProtocol(rawValue: next)
        p.ipHeaderLength = headerEnd
        guard p.fragmentOffset == 0, next != 50, next != 59 else {
            return setPayload(at: offset + headerEnd, length: total - headerEnd, available: captured - headerEnd, &p)
        }
        decodeTransport(at: offset + headerEnd, length: total - headerEnd, capturedEnd: offset + captured, &p)
    }

    // MARK: Transport

    /// Decodes the transport header at `offset`; `length` is the segment's length
    /// on the wire per the IP header, `capturedEnd` where its captured bytes end.
    mutating func decodeTransport(at offset: Int, length: Int, capturedEnd: Int, _ p: inout DecodedPacket) {
        p.transportOffset = offset
        let available = capturedEnd - offset
        switch p.ipProtocol.rawValue {
        case 6: decodeTCP(at: offset, length: length, available: available, &p)
        case 17: decodeUDP(at: offset, length: length, available: available, &p)
        case 1 where p.ipVersion == 4: decodeICMP(at: offset, length: length, available: available, &p)
        case 58 where p.ipVersion == 6: decodeICMP(at: offset, length: length, available: available, &p)
        case 4 where decapsulate && !isFragment(p), 41 where decapsulate && !isFragment(p):
            innerIP(.ip, at: offset, length: length, version: p.ipProtocol.rawValue == 4 ? 4 : 6, overUDP: false, &p)
        case 47 where decapsulate && !isFragment(p):
            gre(at: offset, length: length, overUDP: false, &p)
        case 132 where length >= 12 && available >= 12:
            // SCTP common header: ports for flow keys and Community ID; chunks are not decoded.
            let h = frame.extracting(offset..<(offset + 12))
            p.layers.insert(.sctp)
            p.sourcePort = h.be16(at: 0)
            p.destinationPort = h.be16(at: 2)
            setPayload(at: offset + 12, length: length - 12, available: available - 12, &p)
        default:
            setPayload(at: offset, length: length, available: available, &p)
        }
        if p.transportChecksum == .bad { p.anomalies.insert(.badTransportChecksum) }
    }

    func setPayload(at offset: Int, length: Int, available: Int, _ p: inout DecodedPacket) {
        p.payloadOffset = offset
        p.payloadLength = max(0, length)
        p.capturedPayloadLength = max(0, min(length, available))
        if p.payloadLength > 0 { p.layers.insert(.payload) }
        let head = min(p.capturedPayloadLength, 8, max(0, frame.count - offset))
        if head == 8 {
            p.payloadHead = UInt64(frame.be32(at: offset)) << 32 | UInt64(frame.be32(at: offset + 4))
        } else if head > 0 {
            var value: UInt64 = 0
            for i in 0..<head { value = value << 8 | UInt64(frame[offset + i]) }
            p.payloadHead = value << (8 * UInt64(8 - head))
        }
        if p.capturedPayloadLength < p.payloadLength, p.cut == nil, p.malformed == nil { p.cut = .payload }
    }

    /// Whether this packet is part of a fragmented datagram (no whole-segment checksum).
    func isFragment(_ p: DecodedPacket) -> Bool { p.layers.contains(.fragment) }

    mutating func decodeTCP(at offset: Int, length: Int, available: Int, _ p: inout DecodedPacket) {
        guard length >= 20 || isFragment(p) else {
            p.malformed = .truncated(.tcp, needed: 20, available: length)
            return
        }
        guard available >= 20 else {
            readPartialPorts(at: offset, available: available, &p)
            return short(.tcp, needed: 20, available: available, &p)
        }
        let h = frame.extracting(offset..<(offset + available))
        p.layers.insert(.tcp)
        p.sourcePort = h.be16(at: 0)
        p.destinationPort = h.be16(at: 2)
        p.tcp.sequence = h.be32(at: 4)
        p.tcp.acknowledgment = h.be32(at: 8)
        let dataOffset = Int(h[12] >> 4) * 4
        p.tcp.flags = TCPFlags(rawValue: h.be16(at: 12) & 0x01FF)
        p.tcp.window = h.be16(at: 14)
        p.tcp.checksum = h.be16(at: 16)
        p.tcp.urgentPointer = h.be16(at: 18)
        p.tcp.headerLength = dataOffset
        guard dataOffset >= 20 else {
            p.malformed = .invalidHeaderLength(.tcp, dataOffset)
            return
        }
        guard dataOffset <= length || isFragment(p) else {
            p.malformed = .lengthExceedsPacket(.tcp, claimed: dataOffset, available: length)
            return
        }
        guard available >= dataOffset else {
            p.payloadOffset = offset + dataOffset
            p.payloadLength = max(0, length - dataOffset)
            return short(.tcp, needed: dataOffset, available: available, &p)
        }
        if dataOffset > 20 { parseTCPOptions(h.extracting(20..<dataOffset), &p) }
        setPayload(at: offset + dataOffset, length: length - dataOffset, available: available - dataOffset, &p)
        if verify { p.transportChecksum = transportChecksum(offset: offset, length: length, available: available, p) }
    }

    /// Reads the ports of a TCP or UDP header cut short (tcpdump prints them too),
    /// marking ``Layers/partialTransport``.
    func readPartialPorts(at offset: Int, available: Int, _ p: inout DecodedPacket) {
        guard available >= 4 else { return }
        let h = frame.extracting(offset..<(offset + 4))
        p.sourcePort = h.be16(at: 0)
        p.destinationPort = h.be16(at: 2)
        p.layers.insert(.partialTransport)
    }

    func parseTCPOptions(_ o: Span<UInt8>, _ p: inout DecodedPacket) {
        var i = 0
        let n = o.count
        while i < n {
            let kind = o[i]
            if kind == 0 { return }  // end of option list
            if kind == 1 { i += 1; continue }  // no-operation
            guard i + 1 < n else { p.anomalies.insert(.badTCPOptions); return }
            let len = Int(o[i + 1])
            guard len >= 2, i + len <= n else { p.anomalies.insert(.badTCPOptions); return }
            switch (kind, len) {
            case (2, 4): p.tcp.options.mss = o.be16(at: i + 2)
            case (3, 3): p.tcp.options.windowScale = o[i + 2]
            case (4, 2): p.tcp.options.sackPermitted = true
            case (5, _) where (len - 2) % 8 == 0:
                var b = i + 2
                while b + 8 <= i + len {
                    p.tcp.options.appendSACK(SACKBlock(left: o.be32(at: b), right: o.be32(at: b + 4)))
                    b += 8
                }
            case (8, 10):
                p.tcp.options.timestampValue = o.be32(at: i + 2)
                p.tcp.options.timestampEchoReply = o.be32(at: i + 6)
            case (2, _), (3, _), (4, _), (5, _), (8, _):
                p.anomalies.insert(.badTCPOptions)
            default:
                break  // an option we do not interpret
            }
            i += len
        }
    }

    mutating func decodeUDP(at offset: Int, length: Int, available: Int, _ p: inout DecodedPacket) {
        guard length >= 8 || isFragment(p) else {
            p.malformed = .truncated(.udp, needed: 8, available: length)
            return
        }
        guard available >= 8 else {
            readPartialPorts(at: offset, available: available, &p)
            return short(.udp, needed: 8, available: available, &p)
        }
        let h = frame.extracting(offset..<(offset + 8))
        p.layers.insert(.udp)
        p.sourcePort = h.be16(at: 0)
        p.destinationPort = h.be16(at: 2)
        let udpLength = Int(h.be16(at: 4))
        p.udpLength = udpLength
        let checksum = h.be16(at: 6)
        var segment = length
        if !isFragment(p) {
            if udpLength < 8 {
                p.malformed = .lengthBelowHeader(.udp, udpLength)
                return
            }
            if udpLength > length {
                p.malformed = .lengthExceedsPacket(.udp, claimed: udpLength, available: length)
            } else {
                if udpLength < length { p.anomalies.insert(.udpLengthMismatch) }
                segment = udpLength
            }
        }
        setPayload(at: offset + 8, length: segment - 8, available: available - 8, &p)
        if verify {
            if checksum == 0 && p.ipVersion == 4 {
                p.transportChecksum = .unverifiable  // RFC 768: no checksum sent
            } else if checksum == 0, p.destinationPort == 4789, udpLength > 30, available > 8, frame[offset + 8] & 0x08 != 0 {
                p.transportChecksum = .unverifiable  // VXLAN may send none over IPv6 too (RFC 7348 §5)
            } else {
                p.transportChecksum = transportChecksum(offset: offset, length: segment, available: available, p)
            }
        }
        // Tunnels over UDP, once the carrying datagram's checksum passed.
        if decapsulate, p.malformed == nil, !isFragment(p), p.payloadLength > 0, p.transportChecksum != .bad, mayCarryTunnel(p) { udpTunnel(&p) }
    }

    mutating func decodeICMP(at offset: Int, length: Int, available: Int, _ p: inout DecodedPacket) {
        let layer: Layer = p.ipVersion == 4 ? .icmpv4 : .icmpv6
        guard length >= 4 || isFragment(p) else {
            p.malformed = .truncated(layer, needed: 4, available: length)
            return
        }
        guard available >= 4 else { return short(layer, needed: 4, available: available, &p) }
        let h = frame.extracting(offset..<(offset + available))
        p.layers.insert(p.ipVersion == 4 ? .icmpv4 : .icmpv6)
        let type = h[0]
        p.icmp.type = type
        p.icmp.code = h[1]
        let v4 = p.ipVersion == 4
        let hasIdentifier = v4 ? (type == 0 || type == 8 || (13...18).contains(type)) : (type == 128 || type == 129)
        let isError = v4 ? (type == 3 || type == 4 || type == 5 || type == 11 || type == 12) : (1...4).contains(type)
        if hasIdentifier || isError {
            guard available >= 8 else { return short(layer, needed: 8, available: available, &p) }
        }
        if hasIdentifier {
            p.icmp.identifier = h.be16(at: 4)
            p.icmp.sequence = h.be16(at: 6)
        }
        let headerLength = min(8, max(4, available))
        if isError, available > 8 {
            p.icmp.quoted = quote(h.extracting(8...), &p)
        }
        setPayload(at: offset + headerLength, length: length - headerLength, available: available - headerLength, &p)
        if verify { p.transportChecksum = transportChecksum(offset: offset, length: length, available: available, p) }
    }

    /// Reads the IP header and the first transport bytes quoted by an ICMP error;
    /// a quote is short by design (RFC 792 keeps only 8 bytes), so missing bytes
    /// are not an error.
    func quote(_ q: Span<UInt8>, _ p: inout DecodedPacket) -> QuotedPacket? {
        guard q.count >= 1 else { return nil }
        var quoted = QuotedPacket()
        var transport = 0
        switch q[0] >> 4 {
        case 4:
            guard q.count >= 20 else { return nil }
            let ihl = Int(q[0] & 0x0F) * 4
            guard ihl >= 20 else { return nil }
            quoted.ipVersion = 4
            quoted.ipProtocol = IPProtocol(rawValue: q[9])
            quoted.source = IPAddress(ipv4: q.be32(at: 12))
            quoted.destination = IPAddress(ipv4: q.be32(at: 16))
            // A quoted non-first fragment carries no transport header.
            if q.be16(at: 6) & 0x1FFF != 0 { p.layers.insert(.icmpQuote); return quoted }
            transport = ihl
        case 6:
            guard q.count >= 40 else { return nil }
            quoted.ipVersion = 6
            quoted.ipProtocol = IPProtocol(rawValue: q[6])
            quoted.source = IPAddress(ipv6High: q.be64(at: 8), low: q.be64(at: 16))
            quoted.destination = IPAddress(ipv6High: q.be64(at: 24), low: q.be64(at: 32))
            transport = 40
        default:
            return nil
        }
        p.layers.insert(.icmpQuote)
        if q.count >= transport + 4 {
            switch quoted.ipProtocol.rawValue {
            case 6, 17, 132, 1, 58:
                quoted.hasPorts = true
                if quoted.ipProtocol.rawValue == 1 || quoted.ipProtocol.rawValue == 58 {
                    quoted.sourcePort = UInt16(q[transport])
                    quoted.destinationPort = UInt16(q[transport + 1])
                } else {
                    quoted.sourcePort = q.be16(at: transport)
                    quoted.destinationPort = q.be16(at: transport + 2)
                }
            default:
                break
            }
        }
        return quoted
    }

    // MARK: Tunnels (Docs/Encapsulation.md §2)

    /// Records the outer headers of a tunnel found in `p` and resets `p` for the inner
    /// packet (no VLAN, no link addresses, as Zeek builds inner packets); `false` past
    /// ``TunnelStack/capacity`` tunnels.
    @inline(never)
    mutating func enterTunnel(_ kind: TunnelKind, overUDP: Bool, confirmed: Bool, _ p: inout DecodedPacket) -> Bool {
        let depth = Int(p.tunnelDepth)
        guard depth < TunnelStack.capacity, p.ipOffset <= Int(UInt16.max) else {
            p.anomalies.insert(.tunnelNotDecapsulated)
            if depth >= TunnelStack.capacity, [.vxlan, .geneve, .teredo, .ayiya].contains(kind) {
                p.anomalies.insert(.tunnelTooDeep)
            }
            return false
        }
        let info = p.tunnelInfo | UInt32(kind.rawValue | (overUDP ? 0x10 : 0) | (confirmed ? 0x20 : 0)) << (8 * UInt32(depth))
        let offsets = p.tunnelOffsets | UInt64(p.ipOffset) << (16 * UInt64(depth))
        let captured = p.capturedLength, wire = p.wireLength, anomalies = p.anomalies
        p = DecodedPacket()
        p.capturedLength = captured
        p.wireLength = wire
        p.anomalies = anomalies
        p.layers = .tunnel
        p.tunnelDepth = UInt8(depth + 1)
        p.tunnelInfo = info
        p.tunnelOffsets = offsets
        return true
    }

    /// Marks a tunnel header that is not decapsulated (the carrying packet stays as it is).
    func notDecapsulated(_ p: inout DecodedPacket) { p.anomalies.insert(.tunnelNotDecapsulated) }

    /// Marks a tunnel header that breaks its protocol (an analyzer violation in Zeek).
    func violation(_ p: inout DecodedPacket) { p.anomalies.formUnion([.tunnelNotDecapsulated, .tunnelViolation]) }

    /// A tunnel that could not be decapsulated: an IP-level tunnel's packet is dropped
    /// (malformed, as Zeek leaves it unprocessed); a UDP tunnel's carrying datagram stays.
    @inline(never)
    func refuse(_ kind: TunnelKind, claimed: Int, available: Int, overUDP: Bool, _ p: inout DecodedPacket) {
        p.anomalies.insert(.tunnelNotDecapsulated)
        if !overUDP { p.malformed = .badInnerPacket(kind, claimed: claimed, available: available) }
    }

    /// An inner IP packet at `offset` that must fill the `length` bytes carrying it exactly
    /// (IP-in-IP, GRE with an IP payload, AYIYA, GTP): IPTunnel's rule.
    @inline(never)
    mutating func innerIP(_ kind: TunnelKind, at offset: Int, length: Int, version expected: UInt8?, overUDP: Bool,
                          confirmed: Bool = true, _ p: inout DecodedPacket) {
        let captured = frame.count - offset
        guard length >= 1, captured >= 1 else { return refuse(kind, claimed: 0, available: length, overUDP: overUDP, &p) }
        let version = frame[offset] >> 4
        guard version == 4 || version == 6, expected.map({ $0 == version }) ?? true else {
            return refuse(kind, claimed: 0, available: length, overUDP: overUDP, &p)
        }
        guard captured >= 6 else { return short(version == 4 ? .ipv4 : .ipv6, needed: 6, available: captured, &p) }
        let total = version == 4 ? Int(frame.be16(at: offset + 2)) : 40 + Int(frame.be16(at: offset + 4))
        guard total == length else { return refuse(kind, claimed: total, available: length, overUDP: overUDP, &p) }
        guard enterTunnel(kind, overUDP: overUDP, confirmed: confirmed, &p) else { return }
        if version == 4 { decodeIPv4(at: offset, &p) } else { decodeIPv6(at: offset, &p) }
    }

    /// Ethernet, 802.11 or IP (by EtherType) inside a tunnel, without IPTunnel's length rule.
    @inline(never)
    mutating func innerFrame(_ kind: TunnelKind, _ inner: Layer, at offset: Int, etherType: UInt16 = 0, overUDP: Bool,
                             confirmed: Bool = true, _ p: inout DecodedPacket) {
        guard enterTunnel(kind, overUDP: overUDP, confirmed: confirmed, &p) else { return }
        let next: Next?
        switch inner {
        case .ethernet: next = ethernet(at: offset, &p)
        case .ieee80211: next = ieee80211(at: offset, &p)
        default: next = (etherType, offset)
        }
        guard let next, p.malformed == nil, p.cut == nil else { return }
        network(next, &p)
    }

    /// GRE (RFC 2784/2890, and version 1 as PPTP uses it) at `offset`, over IP or in UDP (port 4754).
    @inline(never)
    mutating func gre(at offset: Int, length: Int, overUDP: Bool, _ p: inout DecodedPacket) {
        let available = min(length, frame.count - offset)
        guard available >= 4 else { return refuse(.gre, claimed: 4, available: available, overUDP: overUDP, &p) }
        let flags = frame.be16(at: offset), proto = frame.be16(at: offset + 2)
        // Routing present, or reserved bits: Zeek drops these.
        guard flags & 0x4000 == 0, flags & 0x0078 == 0 else { return refuse(.gre, claimed: 0, available: length, overUDP: overUDP, &p) }
        var header = 4
        switch flags & 7 {
        case 0:
            for bit: UInt16 in [0x8000, 0x2000, 0x1000, 0x0080] where flags & bit != 0 { header += 4 }
            guard available >= header else { return refuse(.gre, claimed: header, available: available, overUDP: overUDP, &p) }
            let body = offset + header
            switch proto {
            case 0x6558:  // transparent Ethernet bridging
                guard available > header + 14 else { return refuse(.gre, claimed: header + 14, available: available, overUDP: overUDP, &p) }
                innerFrame(.gre, .ethernet, at: body, overUDP: overUDP, &p)
            case 0x88BE:  // ERSPAN type I (no sequence number) or II (an 8-byte header)
                let erspan = flags & 0x1000 != 0 ? 8 : 0
                guard available > header + erspan + 14 else {
                    return refuse(.gre, claimed: header + erspan + 14, available: available, overUDP: overUDP, &p)
                }
                innerFrame(.gre, .ethernet, at: body + erspan, overUDP: overUDP, &p)
            case 0x22EB:  // ERSPAN type III: 12 bytes, plus an 8-byte platform sub-header when O is set
                guard available > header + 12 + 14 else { return refuse(.gre, claimed: header + 26, available: available, overUDP: overUDP, &p) }
                let erspan = frame[body + 11] & 1 != 0 ? 20 : 12
                guard available > header + erspan + 14 else {
                    return refuse(.gre, claimed: header + erspan + 14, available: available, overUDP: overUDP, &p)
                }
                innerFrame(.gre, .ethernet, at: body + erspan, overUDP: overUDP, &p)
            case let t where (t & 0x8200 == 0x8200 && t & 0xF == 0) || (t & 0x8300 == 0x8300 && t & 0xF == 0 && t <= 0x8370) || t == 0x9000:
                innerFrame(.gre, .ieee80211, at: body, overUDP: overUDP, &p)  // Aruba
            default:
                innerIP(.gre, at: body, length: length - header, version: nil, overUDP: overUDP, &p)
            }
        case 1:
            // Enhanced GRE (PPTP): PPP inside.
            guard proto == 0x880B else { return refuse(.gre, claimed: 0, available: length, overUDP: overUDP, &p) }
            header = 8 + (flags & 0x1000 != 0 ? 4 : 0) + (flags & 0x0080 != 0 ? 4 : 0)
            guard available > header + 2 else { return refuse(.gre, claimed: header + 2, available: available, overUDP: overUDP, &p) }
            guard let next = ppp(at: offset + header, &p), next.etherType == EtherType.ipv4.rawValue || next.etherType == EtherType.ipv6.rawValue
            else { return refuse(.gre, claimed: 0, available: length, overUDP: overUDP, &p) }
            innerIP(.gre, at: next.offset, length: length - (next.offset - offset),
                    version: next.etherType == EtherType.ipv4.rawValue ? 4 : 6, overUDP: overUDP, &p)
        default:
            refuse(.gre, claimed: 0, available: length, overUDP: overUDP, &p)
        }
    }

    /// The UDP ports of the tunnels decapsulated by port.
    @inline(__always)
    static func isTunnelPort(_ port: UInt16) -> Bool {
        // Every tunnel port lies in 2123...6081: one comparison rules out DNS, HTTPS and ephemeral ports.
        guard port &- 2123 <= 6081 - 2123 else { return false }
        switch port {
        case 4789, 6081, 2152, 2123, 3544, 5072, 4754, 5247: return true
        default: return false
        }
    }

    /// Whether a UDP datagram may carry a tunnel: a tunnel port at either end, or a payload
    /// that may be AYIYA (`x 52 11`) or Teredo (IPv6, or an authentication or origin
    /// indication header); a cheap test before ``udpTunnel(_:)``'s full one.
    @inline(__always)
    func mayCarryTunnel(_ p: DecodedPacket) -> Bool {
        if Self.isTunnelPort(p.sourcePort) || Self.isTunnelPort(p.destinationPort) { return true }
        let offset = p.payloadOffset, available = min(p.payloadLength, p.capturedPayloadLength)
        guard available >= 3 else { return false }
        let first = frame[offset], second = frame[offset + 1]
        if second == 0x52 && frame[offset + 2] == 0x11 { return true }
        // Zeek's first test of a Teredo payload (`TeredoAnalyzer::DetectProtocol`).
        return available >= 40 && (first >> 4 == 6 || (first == 0 && second <= 1))
    }

    /// Whether a UDP payload on a port without a tunnel is Teredo, as Zeek's
    /// `TeredoAnalyzer::DetectProtocol` decides: at least 40 bytes, and either an IPv6 header
    /// whose source (offset 8) or destination (offset 24) address has the Teredo prefix
    /// 2001:0000::/32, or an origin indication (optionally after an authentication header)
    /// followed by at least 40 bytes that begin with IP version 6. A payload that is not
    /// detected is left alone (no violation).
    func looksLikeTeredo(at offset: Int, available: Int) -> Bool {
        guard available >= 40 else { return false }
        let first = frame[offset], second = frame[offset + 1]
        guard first >> 4 == 6 || (first == 0 && second <= 1) else { return false }
        if first >> 4 == 6, frame.be32(at: offset + 8) == 0x2001_0000 || frame.be32(at: offset + 24) == 0x2001_0000 {
            return true
        }
        // Zeek reads the second byte as the header type even after a first byte of 0x6X.
        var at = offset, left = available
        var word = UInt16(second)
        if second == 1 {
            let authentication = 13 + Int(frame[offset + 2]) + Int(frame[offset + 3])
            guard left >= authentication + 40 else { return false }
            at += authentication
            left -= authentication
            word = frame.be16(at: at)
        }
        guard word == 0, left >= 8 + 40 else { return false }
        return frame[at + 8] >> 4 == 6
    }

    /// Tunnels over UDP, chosen by the tunnel port at either end (the destination's first;
    /// Zeek uses the responder's, which is the tunnel port once likely-server-port flips
    /// have oriented the flow), else recognised by their payload (AYIYA, then Teredo).
    @inline(never)
    mutating func udpTunnel(_ p: inout DecodedPacket) {
        let offset = p.payloadOffset, length = p.payloadLength
        let available = min(length, p.capturedPayloadLength)
        let port = Self.isTunnelPort(p.destinationPort) ? p.destinationPort : Self.isTunnelPort(p.sourcePort) ? p.sourcePort : 0
        switch port {
        case 4789:
            // VXLAN: the I flag (without it, a violation), then an Ethernet frame (none: a weird only).
            guard available >= 8, frame[offset] & 0x08 != 0 else { return available >= 8 ? violation(&p) : notDecapsulated(&p) }
            guard available > 8 else { return notDecapsulated(&p) }
            innerFrame(.vxlan, .ethernet, at: offset + 8, overUDP: true, &p)
        case 6081:
            // Geneve: version 0, options, then the protocol type.
            guard available >= 8 else { return violation(&p) }
            guard frame[offset] >> 6 == 0 else { return notDecapsulated(&p) }  // another version: a weird only
            let header = 8 + Int(frame[offset] & 0x3F) * 4
            guard available > header else { return violation(&p) }
            switch frame.be16(at: offset + 2) {
            case 0x6558: innerFrame(.geneve, .ethernet, at: offset + header, overUDP: true, &p)
            case let t where t == 0x0800 || t == 0x86DD || t == 0x0806:
                innerFrame(.geneve, .ipv4, at: offset + header, etherType: t, overUDP: true, &p)
            default: p.anomalies.insert(.tunnelNotDecapsulated)
            }
        case 2152, 2123:
            gtp(at: offset, length: length, available: available, &p)
        case 3544:
            teredo(at: offset, length: length, available: available, &p)
        case 5072:
            ayiya(at: offset, length: length, available: available, &p)
        case 4754:
            gre(at: offset, length: length, overUDP: true, &p)
        case 5247:
            // CAPWAP data (RFC 5415 §4.3): HLEN in 4-byte words; T set: the native frame of the
            // wireless binding (1: 802.11), clear: an 802.3 frame. Fragments (F) are not decoded.
            guard available >= 8, frame[offset] == 0 else { return notDecapsulated(&p) }
            let word = frame.be32(at: offset)
            let header = Int(word >> 19 & 0x1F) * 4
            guard header >= 8, available > header, word >> 7 & 1 == 0 else { return notDecapsulated(&p) }
            if word >> 8 & 1 == 1 {
                guard word >> 9 & 0x1F == 1 else { return notDecapsulated(&p) }
                innerFrame(.capwap, .ieee80211, at: offset + header, overUDP: true, &p)
            } else {
                innerFrame(.capwap, .ethernet, at: offset + header, overUDP: true, &p)
            }
        default:
            if available >= 3, frame[offset + 1] == 0x52, frame[offset + 2] == 0x11 {
                ayiya(at: offset, length: length, available: available, &p)
            } else if looksLikeTeredo(at: offset, available: available) {
                teredo(at: offset, length: length, available: available, &p)
            }
        }
    }

    /// GTPv1-U (3GPP TS 29.281): G-PDUs carry an IP packet after the header and its extensions.
    @inline(never)
    mutating func gtp(at offset: Int, length: Int, available: Int, _ p: inout DecodedPacket) {
        guard available >= 8 else { return notDecapsulated(&p) }
        let flags = frame[offset]
        guard flags >> 5 == 1, flags & 0x10 != 0, !(p.tunnelDepth > 0 && UInt8(truncatingIfNeeded: p.tunnelInfo >> (8 * UInt32(p.tunnelDepth - 1))) & 0x0F == TunnelKind.gtpv1.rawValue) else { return notDecapsulated(&p) }
        var header = flags & 0x07 != 0 ? 12 : 8
        if flags & 0x04 != 0 {
            guard available >= 12 else { return notDecapsulated(&p) }
            var next = frame[offset + 11]
            var extensions = 0
            while next != 0 {
                extensions += 1
                guard extensions <= 16, available > header else { return notDecapsulated(&p) }
                let size = Int(frame[offset + header]) * 4
                guard size > 0, available >= header + size else { return notDecapsulated(&p) }
                next = frame[offset + header + size - 1]
                header += size
            }
        }
        guard frame[offset + 1] == 255, available > header else { return }  // only G-PDUs carry user data
        innerIP(.gtpv1, at: offset + header, length: length - header, version: nil, overUDP: true, &p)
    }

    /// AYIYA (draft-massar-v6ops-ayiya): identity and signature after 8 fixed bytes; forward (opcode 1) only.
    @inline(never)
    mutating func ayiya(at offset: Int, length: Int, available: Int, _ p: inout DecodedPacket) {
        guard available >= 8 else { return violation(&p) }
        let header = 8 + (1 << Int(frame[offset] >> 4)) + Int(frame[offset + 1] >> 4) * 4
        guard available > header else { return violation(&p) }
        guard frame[offset + 2] & 0x0F == 1 else { return notDecapsulated(&p) }  // not a forward: ignored
        let depth = p.tunnelDepth
        switch frame[offset + 3] {
        case 4: innerIP(.ayiya, at: offset + header, length: length - header, version: 4, overUDP: true, &p)
        case 41: innerIP(.ayiya, at: offset + header, length: length - header, version: 6, overUDP: true, &p)
        default: p.anomalies.insert(.tunnelNotDecapsulated)
        }
        // Zeek's AYIYA confirms a forward packet before checking what it carries (not past the depth limit).
        if p.tunnelDepth == depth, p.malformed == nil, !p.anomalies.contains(.tunnelTooDeep) { p.anomalies.insert(.tunnelConfirmedOnly) }
    }

    /// Teredo (RFC 4380): optional authentication and origin indication, then IPv6 that
    /// fills the datagram (or a bubble). On a port without a tunnel, called once ``looksLikeTeredo(at:available:)`` detected it.
    @inline(never)
    mutating func teredo(at offset: Int, length: Int, available: Int, _ p: inout DecodedPacket) {
        let end = offset + available
        var position = offset
        var origin = false, authentication = false
        while true {
            guard end - position >= 2 else { return notDecapsulated(&p) }
            let word = frame.be16(at: position)
            if word == 0 {
                guard !origin, end - position >= 8 else { return notDecapsulated(&p) }
                origin = true
                position += 8
            } else if word == 1 {
                guard !origin, !authentication, end - position >= 4 else { return notDecapsulated(&p) }
                let size = 4 + Int(frame[position + 2]) + Int(frame[position + 3]) + 8 + 1
                guard end - position >= size else { return notDecapsulated(&p) }
                authentication = true
                position += size
            } else if frame[position] >> 4 == 6 {
                break
            } else {
                return violation(&p)
            }
        }
        guard end - position >= 40 else { return violation(&p) }
        let payload = Int(frame.be16(at: position + 4)), remaining = offset + length - position
        let bubble = frame[position + 6] == 59 && payload == 0
        guard payload + 40 == remaining || bubble else { return violation(&p) }
        guard enterTunnel(.teredo, overUDP: true, confirmed: true, &p) else { return }
        decodeIPv6(at: position, &p)
    }

    // MARK: Checksums

    /// Verifies a TCP, UDP or ICMP checksum over the whole segment with the
    /// IPv4/IPv6 pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1); ICMPv4 has none.
    func transportChecksum(offset: Int, length: Int, available: Int, _ p: DecodedPacket) -> ChecksumStatus {
        guard !isFragment(p), available >= length, length > 0 else { return .unverifiable }
        var sum: UInt64 = 0
        if !(p.ipVersion == 4 && p.ipProtocol.rawValue == 1) {
            sum = Checksum.pseudoHeader(p.source, p.destination, protocolNumber: p.ipProtocol.rawValue, length: length)
        }
        sum = Checksum.sum(frame, offset, offset + length, initial: sum)
        return Checksum.fold(sum) == 0xFFFF ? .good : .bad
    }
}

/// The Internet checksum (RFC 1071).
enum Checksum {
    /// Adds the 16-bit big-endian words of `span[start ..< end]` to `initial`.
    ///
    /// The one's-complement sum does not depend on byte order except for a final
    /// swap (RFC 1071 §2(B)), so the bytes are summed as little-endian 32-bit words
    /// (plain loads, no byte swaps) into 64-bit SIMD lanes (which the compiler turns
    /// into vector loads, unpacks and adds), 32 bytes per step, then the last 0-31
    /// bytes in steps of 16, 8, 4, 2 and 1. Every step reads a block extracted
    /// from the span once, so each step has one bounds check, not one per byte.
    /// The result is folded to 16 bits and swapped into network order.
    /// (One 64-bit add-with-carry chain measured 25 % slower; two chains took 1.8 % fewer
    /// instructions over bench-200k but no less time. 16-bit halves in 32-bit lanes compile
    /// to word inserts and measured 2x slower; 32-bit lanes of whole words compile to word
    /// inserts too, +7 % and +35 % instructions over bench-200k. A 64-byte step runs 1.7 %
    /// fewer instructions over bench-1m, but its 160-byte loop body is slow or fast by where
    /// the linker happens to place it (a whole `conn` run 1.04-1.09x the time of the same code
    /// placed otherwise); the 32-byte loop is small enough not to care: bench-1m `conn`
    /// within 1 % of the build before tunnels were decoded, measured side by side.)
    static func sum(_ span: Span<UInt8>, _ start: Int, _ end: Int, initial: UInt64 = 0) -> UInt64 {
        let s = span.extracting(start..<end)
        let n = s.count
        var acc = SIMD4<UInt64>(), acc2 = SIMD4<UInt64>()
        var i = 0
        while i + 32 <= n {
            let x = s.extracting(i..<(i + 32))
            acc &+= lanes(x, 0)
            acc2 &+= lanes(x, 16)
            i += 32
        }
        acc &+= acc2
        if i + 16 <= n {
            acc &+= lanes(s.extracting(i..<(i + 16)), 0)
            i += 16
        }
        var a = (acc[0] &+ acc[1]) &+ (acc[2] &+ acc[3])
        if i + 8 <= n {
            let x = s.extracting(i..<(i + 8))
            a &+= UInt64(x.le32(at: 0)) &+ UInt64(x.le32(at: 4))
            i += 8
        }
        if i + 4 <= n {
            a &+= UInt64(s.extracting(i..<(i + 4)).le32(at: 0))
            i += 4
        }
        if i + 2 <= n {
            let x = s.extracting(i..<(i + 2))
            a &+= UInt64(x[0]) | UInt64(x[1]) << 8
            i += 2
        }
        if i < n { a &+= UInt64(s[i]) }  // the odd last byte is the high byte of a zero-padded word
        return initial &+ UInt64(fold(a).byteSwapped)
    }

    /// The four little-endian 32-bit words at `offset` of `x`, widened into 64-bit lanes.
    @inline(__always)
    static func lanes(_ x: Span<UInt8>, _ offset: Int) -> SIMD4<UInt64> {
        SIMD4<UInt64>(
            UInt64(x.le32(at: offset)), UInt64(x.le32(at: offset + 4)),
            UInt64(x.le32(at: offset + 8)), UInt64(x.le32(at: offset + 12)))
    }

    /// Whether the IPv4 header of `length` bytes at the start of `header` has a valid
    /// checksum: the common 20-byte header as five word loads, options through ``sum(_:_:_:initial:)``.
    static func validIPv4Header(_ header: Span<UInt8>, length: Int) -> Bool {
        guard length == 20 else { return fold(sum(header, 0, length)) == 0xFFFF }
        let x = header.extracting(0..<20)
        let a = (UInt64(x.le32(at: 0)) &+ UInt64(x.le32(at: 4))) &+ (UInt64(x.le32(at: 8)) &+ UInt64(x.le32(at: 12)))
        return fold(a &+ UInt64(x.le32(at: 16))) == 0xFFFF  // all ones in either byte order
    }

    /// Folds a sum to 16 bits with end-around carry.
    static func fold(_ value: UInt64) -> UInt16 {
        var s = value
        while s >> 16 != 0 { s = (s & 0xFFFF) &+ (s >> 16) }
        return UInt16(s)
    }

    /// The pseudo-header sum for IPv4 (RFC 9293 §3.1) or IPv6 (RFC 8200 §8.1).
    static func pseudoHeader(_ source: IPAddress, _ destination: IPAddress, protocolNumber: UInt8, length: Int) -> UInt64 {
        let sum: UInt64 = UInt64(protocolNumber) &+ UInt64(length & 0xFFFF) &+ UInt64(length >> 16)
        return sum &+ words(source) &+ words(destination)
    }

    /// The sum of an address's 16-bit words (2 for IPv4, 8 for IPv6).
    static func words(_ address: IPAddress) -> UInt64 {
        if address.isIPv4 {
            let v = address.low & 0xFFFF_FFFF
            return (v >> 16) &+ (v & 0xFFFF)
        }
        return words(address.high) &+ words(address.low)
    }

    static func words(_ word: UInt64) -> UInt64 {
        (word >> 48) &+ ((word >> 32) & 0xFFFF) &+ ((word >> 16) & 0xFFFF) &+ (word & 0xFFFF)
    }
}
