/// Totals over a run of decoded packets: by link type, IP protocol, EtherType and
/// malformed reason. Counting allocates nothing per packet once a key has been seen.
public struct PacketStatistics: Sendable {
    /// Packets seen.
    public private(set) var packets = 0
    /// Bytes on the wire.
    public private(set) var wireBytes = 0
    /// Bytes captured.
    public private(set) var capturedBytes = 0
    /// Packets per link type (one entry per capture file's type).
    public private(set) var linkTypes: [LinkType: Int] = [:]
    /// IPv4 packets.
    public private(set) var ipv4 = 0
    /// IPv6 packets.
    public private(set) var ipv6 = 0
    /// IP packets per upper-layer protocol number (256 counts).
    public var byProtocol: [Int] { (0..<256).map { protocolCounts[$0] } }
    /// The counts behind ``byProtocol``, inline so counting a packet checks no array buffer.
    private var protocolCounts = InlineArray<256, Int>(repeating: 0)
    /// Non-first IP fragments (no ports).
    public private(set) var nonFirstFragments = 0
    /// Packets carrying at least one VLAN tag.
    public private(set) var vlanTagged = 0
    /// Non-IP frames per EtherType.
    public private(set) var nonIP: [UInt16: Int] = [:]
    /// Malformed packets per reason.
    public private(set) var malformed: [DecodeError: Int] = [:]
    /// Packets cut by the snapshot length, per first cut layer.
    public private(set) var cut: [Layer: Int] = [:]
    /// Packets with a bad IPv4 header or transport checksum (when verified).
    public private(set) var badChecksums = 0

    /// Empty totals.
    public init() {}

    /// Adds one packet of a capture whose link type is counted with ``addLinkType(_:packets:)``.
    @inline(__always)
    public mutating func add(_ p: DecodedPacket) {
        packets += 1
        wireBytes += p.wireLength
        capturedBytes += p.capturedLength
        if p.vlanCount > 0 { vlanTagged += 1 }
        switch p.ipVersion {
        case 4: ipv4 += 1
        case 6: ipv6 += 1
        default: if p.malformed == nil && p.cut == nil { nonIP[p.etherType.rawValue, default: 0] += 1 }
        }
        if p.ipVersion != 0 {
            protocolCounts[Int(p.ipProtocol.rawValue)] += 1
            if p.isNonFirstFragment { nonFirstFragments += 1 }
        }
        if let m = p.malformed { malformed[m, default: 0] += 1 }
        if let c = p.cut { cut[c, default: 0] += 1 }
        if p.ipChecksum == .bad || p.transportChecksum == .bad { badChecksums += 1 }
    }

    /// Counts `packets` packets of a link type (once per file, not per packet).
    public mutating func addLinkType(_ linkType: LinkType, packets: Int) {
        linkTypes[linkType, default: 0] += packets
    }

    /// Malformed packets in all.
    public var malformedTotal: Int { malformed.values.reduce(0, +) }

    /// Malformed packets per stable reason string (`truncated-tcp`, …).
    public var malformedByReason: [String: Int] {
        var out: [String: Int] = [:]
        for (error, n) in malformed { out[error.reason, default: 0] += n }
        return out
    }

    /// A human-readable report, one fact per line.
    public func report() -> String {
        var lines: [String] = []
        lines.append("packets: \(packets) (\(wireBytes) bytes on the wire, \(capturedBytes) captured)")
        for (type, n) in linkTypes.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            lines.append("link type \(type) (\(type.rawValue)): \(n)")
        }
        lines.append("ipv4: \(ipv4)")
        lines.append("ipv6: \(ipv6)")
        if vlanTagged > 0 { lines.append("vlan-tagged: \(vlanTagged)") }
        lines.append("by protocol:")
        for (number, n) in byProtocol.enumerated() where n > 0 {
            lines.append("  \(IPProtocol(rawValue: UInt8(number))): \(n)")
        }
        if nonFirstFragments > 0 { lines.append("non-first fragments: \(nonFirstFragments)") }
        if !nonIP.isEmpty {
            lines.append("non-ip:")
            for (type, n) in nonIP.sorted(by: { $0.key < $1.key }) {
                lines.append(type == 0x0806 ? "  arp: \(n)" : "  ethertype 0x\(PacketLine.hex4(type)): \(n)")
            }
        }
        lines.append("cut by snaplen: \(cut.values.reduce(0, +))")
        for (layer, n) in cut.sorted(by: { $0.key.rawValue < $1.key.rawValue }) { lines.append("  \(layer): \(n)") }
        lines.append("malformed: \(malformedTotal)")
        for (reason, n) in malformedByReason.sorted(by: { $0.key < $1.key }) { lines.append("  \(reason): \(n)") }
        if badChecksums > 0 { lines.append("bad checksums: \(badChecksums)") }
        if let f = fragments, f.fragments + f.unusable > 0 { lines += Self.report(f) }
        return lines.joined(separator: "\n")
    }

    /// Fragment reassembly, for ``report()``, when fragments were seen.
    public var fragments: IPReassembler.Statistics?

    /// The lines that say what fragment reassembly did and what it dropped, and why.
    public static func report(_ f: IPReassembler.Statistics) -> [String] {
        ["fragments: \(f.fragments) (reassembled datagrams: \(f.reassembled))",
         "  dropped datagrams: timed out \(f.timedOut), over the buffer bound \(f.evicted), "
            + "too many fragments \(f.tooManyFragments), over 65535 bytes \(f.oversized)",
         "  fragments not usable (cut short, bad IPv4 checksum): \(f.unusable)",
         "  overlaps with different bytes (first kept): \(f.overlapsDifferent)"]
    }
}
