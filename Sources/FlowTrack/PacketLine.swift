/// One-line packet summaries in the spirit of `tcpdump -nn -q`.
public enum PacketLine {
    /// Formats one decoded packet:
    /// `2024-05-01 10:00:00.000000001 IP 10.0.0.1.1234 > 10.0.0.2.80: tcp 0 [S]`.
    ///
    /// A frame the snapshot length cut ends with `[|layer]` (tcpdump's mark); a
    /// malformed one with `[malformed: reason]`.
    public static func format(_ meta: PacketMetadata, _ p: DecodedPacket, epoch: Bool = false) -> String {
        var line = epoch ? TimeFormat.epochNanos(meta.timestamp) : TimeFormat.dateTime(meta.timestamp)
        line += " "
        if p.vlanCount > 0 { line += "vlan \(p.outerVLAN)" + (p.vlanCount > 1 ? " vlan \(p.innerVLAN)" : "") + " " }
        switch p.ipVersion {
        case 4, 6:
            line += p.ipVersion == 4 ? "IP " : "IP6 "
            line += body(p)
        default:
            if p.layers.contains(.arp) {
                line += "ARP, length \(meta.wireLength)"
            } else if p.layers.isEmpty && p.malformed == nil && p.cut == nil {
                line += "unknown link layer, length \(meta.wireLength)"
            } else if p.malformed == nil && p.cut == nil {
                line += "ethertype 0x\(hex4(p.etherType.rawValue)), length \(meta.wireLength)"
            } else {
                line += "length \(meta.wireLength)"
            }
        }
        if let cut = p.cut { line += " [|\(cut)]" }
        if let malformed = p.malformed { line += " [malformed: \(malformed)]" }
        if p.anomalies.contains(.badIPv4Checksum) { line += " [bad ip cksum]" }
        if p.anomalies.contains(.badTransportChecksum) || p.transportChecksum == .bad {
            line += " [bad \(p.ipProtocol) cksum]"
        }
        return line
    }

    static func body(_ p: DecodedPacket) -> String {
        let src = p.source.description, dst = p.destination.description
        if p.isNonFirstFragment {
            return "\(src) > \(dst): \(p.ipProtocol) (frag \(p.fragmentIdentification):\(p.payloadLength)@\(p.fragmentOffset))"
        }
        let frag = p.layers.contains(.fragment) ? " (frag \(p.fragmentIdentification):\(p.payloadLength)@0+)" : ""
        if p.layers.contains(.tcp) {
            return "\(src).\(p.sourcePort) > \(dst).\(p.destinationPort): tcp \(p.payloadLength) [\(p.tcp.flags)]\(frag)"
        }
        if p.layers.contains(.udp) {
            return "\(src).\(p.sourcePort) > \(dst).\(p.destinationPort): udp \(p.payloadLength)\(frag)"
        }
        if p.layers.contains(.icmpv4) || p.layers.contains(.icmpv6) {
            return "\(src) > \(dst): \(icmp(p))"
        }
        return "\(src) > \(dst): \(p.ipProtocol) \(p.payloadLength)\(frag)"
    }

    static func icmp(_ p: DecodedPacket) -> String {
        let v6 = p.ipVersion == 6
        let name = v6 ? "ICMP6" : "ICMP"
        var text: String
        switch (v6, p.icmp.type) {
        case (false, 8), (true, 128): text = "\(name) echo request"
        case (false, 0), (true, 129): text = "\(name) echo reply"
        case (false, 3), (true, 1): text = "\(name) unreachable, code \(p.icmp.code)"
        case (false, 11), (true, 3): text = "\(name) time exceeded, code \(p.icmp.code)"
        case (true, 2): text = "\(name) packet too big"
        case (false, 12), (true, 4): text = "\(name) parameter problem, code \(p.icmp.code)"
        case (false, 5): text = "\(name) redirect, code \(p.icmp.code)"
        case (true, 133): text = "\(name) router solicitation"
        case (true, 134): text = "\(name) router advertisement"
        case (true, 135): text = "\(name) neighbor solicitation"
        case (true, 136): text = "\(name) neighbor advertisement"
        default: text = "\(name) type \(p.icmp.type), code \(p.icmp.code)"
        }
        if let id = p.icmp.identifier, let seq = p.icmp.sequence { text += ", id \(id), seq \(seq)" }
        if let q = p.icmp.quoted {
            text += q.hasPorts && (q.ipProtocol == .tcp || q.ipProtocol == .udp)
                ? " (quoting \(q.ipProtocol) \(q.source).\(q.sourcePort) > \(q.destination).\(q.destinationPort))"
                : " (quoting \(q.ipProtocol) \(q.source) > \(q.destination))"
        }
        return text + ", length \(p.payloadLength + 8)"
    }

    static func hex4(_ v: UInt16) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 4 - s.count) + s
    }
}
