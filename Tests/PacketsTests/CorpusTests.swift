import Packets
import Pcap
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The shared corpus of 976 real captures: every file reads to its end or to a
/// typed `CaptureError`, and the decoder agrees with tshark field by field.
@Suite struct CorpusTests {
    static var available: Bool { access(Paths.corpus + "/manifest.tsv", R_OK) == 0 }

    /// Reads a whole text file (tests only; no Foundation).
    static func readText(_ path: String) -> String? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    struct ManifestRow {
        var name: String
        var packets: Int
        var libpcapOK: Bool
    }

    static func manifest() -> [ManifestRow] {
        guard let text = readText(Paths.corpus + "/manifest.tsv") else { return [] }
        var rows: [ManifestRow] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count > 7 else { continue }
            rows.append(ManifestRow(name: f[0], packets: Int(f[6]) ?? -1, libpcapOK: f[7] == "yes"))
        }
        return rows
    }

    @Test(.enabled(if: available, "needs ../shared/corpus"))
    func everyFileReadsToTheEndOrATypedError() throws {
        let rows = Self.manifest()
        #expect(rows.count == 976)
        var opened = 0, refused = 0, damaged = 0, packets = 0, unsupported = 0
        var malformed = 0
        for row in rows {
            let path = Paths.corpus + "/pcaps/" + row.name
            var file: PcapFile
            do {
                file = try PcapFile(path: path)
            } catch {
                refused += 1
                guard case .notACaptureFile = error else {
                    Issue.record("\(row.name): unexpected \(error)")
                    continue
                }
                #expect(!row.libpcapOK, "\(row.name): libpcap opens it per the manifest, we did not: \(error)")
                continue
            }
            opened += 1
            let linkType = file.linkType
            let decoder = try? PacketDecoder(linkType: linkType, verifyChecksums: true)
            if decoder == nil { unsupported += 1 }
            var p = DecodedPacket()
            var count = 0
            do {
                while try file.next({ meta, bytes in
                    decoder?.decode(bytes, wireLength: meta.wireLength, into: &p)
                }) != nil {
                    count += 1
                    if decoder != nil, p.malformed != nil { malformed += 1 }
                }
                if row.libpcapOK, row.packets >= 0 {
                    #expect(count == row.packets, "\(row.name): \(count) packets, manifest says \(row.packets)")
                }
            } catch {
                damaged += 1
                switch error {
                case .truncatedRecord, .corruptRecord, .readFailed: break
                default: Issue.record("\(row.name): unexpected read error \(error)")
                }
                #expect(file.packetsRead == count)
            }
            packets += count
        }
        print("corpus: \(rows.count) files, \(opened) opened, \(refused) refused by libpcap, \(damaged) ended in a read error, \(unsupported) with an unsupported link type; \(packets) packets, \(malformed) malformed")
        #expect(opened + refused == rows.count)
    }

    /// One row of `tshark/<name>/fields.tsv`.
    struct SharkRow {
        var f: [Substring]
        subscript(_ i: Int) -> Substring { i < f.count ? f[i] : "" }
        var ipSrc: Substring { self[1] }
        var ipDst: Substring { self[2] }
        var ip6Src: Substring { self[3] }
        var ip6Dst: Substring { self[4] }
        var ipProto: Substring { self[5] }
        var ip6Next: Substring { self[6] }
        var tcpSrc: Substring { self[7] }
        var tcpDst: Substring { self[8] }
        var udpSrc: Substring { self[9] }
        var udpDst: Substring { self[10] }
        var tcpFlags: Substring { self[11] }
        var tcpSeq: Substring { self[12] }
        var tcpAck: Substring { self[13] }
        var tcpLen: Substring { self[14] }
        var udpLength: Substring { self[15] }
    }

    /// Why a packet was not compared or did not agree.
    enum Outcome: String, CaseIterable {
        case agree, agreeTunnelled, skippedTunnel, skippedFragment, skippedNoIP, skippedIPOnlyInTshark, skippedIPOnlyOurs, skippedMalformed, skippedIcmpQuote
        case disagreeAddress, disagreeProtocol, disagreePorts, disagreeTCP, disagreeUDPLength, disagreeTunnelled
    }

    @Test(.enabled(if: available, "needs ../shared/corpus"))
    func decoderAgreesWithTshark() throws {
        var outcomes: [Outcome: Int] = [:]
        var examples: [Outcome: [String]] = [:]
        var files = 0, skippedFiles = 0
        for row in Self.manifest() where row.libpcapOK {
            guard let text = Self.readText(Paths.corpus + "/tshark/" + row.name + "/fields.tsv") else { continue }
            let shark = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().filter { !$0.isEmpty }
                .map { SharkRow(f: $0.split(separator: "\t", omittingEmptySubsequences: false)) }
            guard let (linkType, frames) = try? readFrames(Paths.corpus + "/pcaps/" + row.name),
                  let decoder = try? PacketDecoder(linkType: linkType)
            else { skippedFiles += 1; continue }
            // tshark numbers some non-packet pcapng records as frames; align only where counts match.
            guard shark.count == frames.count else { skippedFiles += 1; continue }
            files += 1
            var p = DecodedPacket()
            for (i, frame) in frames.enumerated() {
                decoder.decode(frame.bytes.span, wireLength: frame.meta.wireLength, into: &p)
                let outcome = Self.compare(p, shark[i])
                outcomes[outcome, default: 0] += 1
                if outcome != .agree, outcome != .skippedNoIP, examples[outcome, default: []].count < 5 {
                    examples[outcome, default: []].append("\(row.name)#\(i + 1)")
                }
            }
        }
        let compared = Outcome.allCases.filter { !$0.rawValue.hasPrefix("skipped") }.reduce(0) { $0 + outcomes[$1, default: 0] }
        let tunnelled = outcomes[.agreeTunnelled, default: 0] + outcomes[.disagreeTunnelled, default: 0]
        print("tshark cross-check of inner packets: \(tunnelled) tunnelled packets compared (addresses, and TCP/UDP ports), \(outcomes[.agreeTunnelled, default: 0]) agree")
        print("tshark cross-check: \(files) files (\(skippedFiles) skipped), \(compared) packets compared, \(outcomes[.agree, default: 0]) agree")
        for outcome in Outcome.allCases { print("  \(outcome.rawValue): \(outcomes[outcome, default: 0]) \(examples[outcome] ?? [])") }
        #expect(compared > 5_000)
        for outcome in Outcome.allCases where outcome.rawValue.hasPrefix("disagree") {
            #expect(outcomes[outcome, default: 0] == 0, "\(outcome): \(examples[outcome] ?? [])")
        }
    }

    static func compare(_ p: DecodedPacket, _ s: SharkRow) -> Outcome {
        let sharkIsV4 = !s.ipSrc.isEmpty, sharkIsV6 = !s.ip6Src.isEmpty
        // An ICMP error quoting an IP packet: tshark lists both IP layers; compare the
        // outer addresses and the quoted ports.
        if let q = p.icmp.quoted, p.malformed == nil, s.ipSrc.contains(",") || s.ip6Src.contains(",") {
            let src = (p.ipVersion == 4 ? s.ipSrc : s.ip6Src).split(separator: ",").first ?? ""
            let dst = (p.ipVersion == 4 ? s.ipDst : s.ip6Dst).split(separator: ",").first ?? ""
            guard src == p.source.description, dst == p.destination.description else { return .disagreeAddress }
            guard q.hasPorts, q.ipProtocol == .tcp || q.ipProtocol == .udp else { return .skippedIcmpQuote }
            let (qs, qd) = q.ipProtocol == .tcp ? (s.tcpSrc, s.tcpDst) : (s.udpSrc, s.udpDst)
            return String(q.sourcePort) == qs && String(q.destinationPort) == qd ? .agree : .disagreePorts
        }
        // Tunnels: tshark lists every IP layer, comma-separated, or both families; FlowTrack's
        // packet is the innermost, so it must match tshark's last (innermost) values.
        if s.ipSrc.contains(",") || s.ip6Src.contains(",") || (sharkIsV4 && sharkIsV6) || s.ipProto.contains(",") {
            guard p.tunnelDepth > 0, p.malformed == nil, p.cut == nil, p.icmp.quoted == nil, p.ipVersion != 0
            else { return .skippedTunnel }
            let sources = (p.ipVersion == 4 ? s.ipSrc : s.ip6Src).split(separator: ",")
            let destinations = (p.ipVersion == 4 ? s.ipDst : s.ip6Dst).split(separator: ",")
            guard let src = sources.last, let dst = destinations.last else { return .skippedTunnel }
            guard src == p.source.description, dst == p.destination.description else { return .disagreeTunnelled }
            guard p.layers.contains(.tcp) || p.layers.contains(.udp) else { return .agreeTunnelled }
            let (sp, dp) = p.layers.contains(.tcp) ? (s.tcpSrc, s.tcpDst) : (s.udpSrc, s.udpDst)
            guard let sport = sp.split(separator: ",").last, let dport = dp.split(separator: ",").last else { return .skippedTunnel }
            return sport == String(p.sourcePort) && dport == String(p.destinationPort) ? .agreeTunnelled : .disagreeTunnelled
        }
        if p.layers.contains(.fragment) { return .skippedFragment }
        switch (p.ipVersion != 0, sharkIsV4 || sharkIsV6) {
        case (false, false): return .skippedNoIP
        case (false, true): return .skippedIPOnlyInTshark
        case (true, false): return .skippedIPOnlyOurs
        case (true, true): break
        }
        if p.malformed != nil { return .skippedMalformed }
        let src = p.source.description, dst = p.destination.description
        let (sSrc, sDst) = p.ipVersion == 4 ? (s.ipSrc, s.ipDst) : (s.ip6Src, s.ip6Dst)
        guard src == sSrc, dst == sDst else { return .disagreeAddress }
        if p.ipVersion == 4 {
            guard String(p.ipProtocol.rawValue) == s.ipProto else { return .disagreeProtocol }
        } else if p.ipv6ExtensionHeaders.isEmpty {
            guard String(p.ipProtocol.rawValue) == s.ip6Next else { return .disagreeProtocol }
        }
        // tshark decodes the TCP/UDP header quoted in an ICMP error as tcp.*/udp.*.
        if p.layers.contains(.icmpv4) || p.layers.contains(.icmpv6) {
            guard let q = p.icmp.quoted, q.hasPorts else {
                return s.tcpSrc.isEmpty && s.udpSrc.isEmpty ? .agree : .skippedIcmpQuote
            }
            let (qs, qd) = q.ipProtocol == .tcp ? (s.tcpSrc, s.tcpDst) : (s.udpSrc, s.udpDst)
            if q.ipProtocol != .tcp && q.ipProtocol != .udp { return .skippedIcmpQuote }
            return String(q.sourcePort) == qs && String(q.destinationPort) == qd ? .agree : .disagreePorts
        }
        if p.layers.contains(.partialTransport) {
            let (ss, sd) = p.ipProtocol == .tcp ? (s.tcpSrc, s.tcpDst) : (s.udpSrc, s.udpDst)
            return String(p.sourcePort) == ss && String(p.destinationPort) == sd ? .agree : .disagreePorts
        }
        if p.layers.contains(.tcp) {
            guard String(p.sourcePort) == s.tcpSrc, String(p.destinationPort) == s.tcpDst else { return .disagreePorts }
            guard let flags = UInt16(s.tcpFlags.dropFirst(2), radix: 16), flags & 0x1FF == p.tcp.flags.rawValue,
                  String(p.tcp.sequence) == s.tcpSeq, String(p.tcp.acknowledgment) == s.tcpAck,
                  String(p.payloadLength) == s.tcpLen
            else { return .disagreeTCP }
            return .agree
        }
        if p.layers.contains(.udp) {
            guard String(p.sourcePort) == s.udpSrc, String(p.destinationPort) == s.udpDst else { return .disagreePorts }
            guard String(p.udpLength) == s.udpLength else { return .disagreeUDPLength }
            return .agree
        }
        return s.tcpSrc.isEmpty && s.udpSrc.isEmpty ? .agree : .disagreePorts
    }
}
