import FlowTrack
import Foundation
import Testing

/// Zeek's smaller conn.log rules (Docs/ZeekSemantics.md, Docs/Encapsulation.md §4): each capture of
/// Fixtures/make_zeek_rules.py, under the options its rows name, against the rows written
/// by hand in Fixtures/zeek-rules-expected.tsv, compared through the JSON a user reads.
@Suite struct ZeekRulesTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var files: String
        var options: String
        var rows: [[String: String]]
        var testDescription: String { "\(files) [\(options)]" }
    }

    static let columns = ["orig_h", "orig_p", "resp_h", "resp_p", "proto", "conn_state", "history", "orig_bytes", "resp_bytes",
                          "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "missed_bytes", "duration", "tcp_state",
                          "end_reason", "vlan", "inner_vlan", "orig_l2_addr", "resp_l2_addr", "community_id"]

    static let cases: [Case] = {
        var cases: [Case] = []
        for line in readLines(Paths.fixture("zeek-rules-expected.tsv")) where !line.hasPrefix("#") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == columns.count + 2 else { continue }
            let row = Dictionary(uniqueKeysWithValues: zip(columns, f.dropFirst(2)))
            if let last = cases.last, last.files == f[0], last.options == f[1] {
                cases[cases.count - 1].rows.append(row)
            } else {
                cases.append(Case(files: f[0], options: f[1], rows: [row]))
            }
        }
        return cases
    }()

    /// The configuration an options field describes.
    static func configure(_ options: String, _ c: inout TrackerConfiguration) {
        for option in options.split(separator: ",") where option != "-" {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            switch parts[0] {
            case "likely": c.likelyServerPorts = LikelyServerPorts(parsing: parts[1])!
            case "attempt": c.tcpAttemptDelay = Double(parts[1])!
            case "ignore-nets": c.ignoreChecksumNetworks = LocalNetworks([Subnet(parts[1])!])
            case "vlan-key": c.vlanInKey = true
            case "vlan": c.recordVLANs = true
            case "mac": c.recordL2Addresses = true
            case "sctp-ports": c.sctpPorts = true
            case "no-analyzer-flips": c.analyzerFlips = false
            default: Issue.record("unknown option \(option)")
            }
        }
    }

    @Test func everyRuleHasCases() {
        #expect(Self.cases.count == 30)
        #expect(Self.cases.reduce(0) { $0 + $1.rows.count } == 41)
    }

    @Test(arguments: cases)
    func rowsMatchTheHandWrittenExpectations(_ test: Case) throws {
        let files = test.files.split(separator: "+").map { Paths.fixture(String($0)) }
        let (rows, _) = try track(files) { Self.configure(test.options, &$0) }
        #expect(rows.count == test.rows.count, "\(rows.count) rows")
        let columns = ConnLogColumns(communityID: true, policies: [.l2Addresses, .vlan])
        for (row, expected) in zip(rows, test.rows) {
            let line = JSONLinesWriter(columns: columns).row(row)
            let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            for column in Self.columns where expected[column] != "*" {
                let key = ["orig_h": "id.orig_h", "orig_p": "id.orig_p", "resp_h": "id.resp_h", "resp_p": "id.resp_p"][column] ?? column
                var got = json[key].map { "\($0)" } ?? "-"
                if column == "duration", let d = json[key] as? Double { got = String(format: "%.6f", d) }
                #expect(got == expected[column], "\(column): got \(got), want \(expected[column] ?? "nil")")
            }
        }
    }

    @Test func filesReadInEitherOrderGiveTheSameOutput() throws {
        // The Zeek log of two files holding alternate packets of one connection, in both orders.
        func log(_ names: [String]) -> (text: String, failures: Int) {
            var configuration = TrackerConfiguration()
            configuration.uidSeed = 1
            var pipeline = FlowTracker(configuration: configuration)
            var text = "", failures = 0
            let writer = ZeekLogWriter(columns: ConnLogColumns())
            pipeline.run(files: names.map(Paths.fixture), failure: { _, _ in failures += 1 }) {
                if case let .ended(c) = $0 { text += writer.row(c) }
            }
            pipeline.finish { if case let .ended(c) = $0 { text += writer.row(c) } }
            return (text, failures)
        }
        let ab = log(["zr-split-a.pcap", "zr-split-b.pcap"]), ba = log(["zr-split-b.pcap", "zr-split-a.pcap"])
        #expect(ab.text == ba.text && ab.failures == 0)
        #expect(ab.text.split(separator: "\n").count == 1 && ab.text.contains("\tSF\t"))
        // A missing file in the list is reported and the others are still read.
        let withMissing = log(["zr-split-a.pcap", "no-such-file.pcap", "zr-split-b.pcap"])
        #expect(withMissing.failures == 1 && withMissing.text == ab.text)
    }

    @Test func timeGoingBackwardsIsCountedAndFiresNoTimer() throws {
        let (rows, statistics) = try track([Paths.fixture("zr-backwards.pcap")])
        #expect(statistics.timeWentBackwards == 1)
        #expect(statistics.largestBackwardStep == 51_000_000_000)
        #expect(rows.allSatisfy { $0.endReason == .endOfInput })
        let warnings = statistics.warnings(checksumsIgnoredBy: "-C")
        #expect(warnings.count == 1 && warnings[0].contains("went backwards 1 time"))
    }

    @Test func badChecksumsAreCountedAndWarnedAbout() throws {
        // Loopback: every TCP segment carries an offloaded (unfinished) checksum.
        let (_, bad) = try track([Paths.fixture("tcp-loopback.pcap")])
        #expect(bad.badTransportChecksums == bad.verifiedTransportChecksums && bad.badTransportChecksums > 0)
        let warning = try #require(bad.warnings(checksumsIgnoredBy: "-C").first)
        #expect(warning.contains("offloaded checksums") && warning.contains("-C"))
        let (_, ignored) = try track([Paths.fixture("tcp-loopback.pcap")]) { $0.verifyChecksums = false }
        #expect(ignored.verifiedTransportChecksums == 0 && ignored.warnings(checksumsIgnoredBy: "-C").isEmpty)
        // conn-checksum: 2 bad of 5 (40 %), over Zeek's 5 %.
        let (_, some) = try track([Paths.fixture("conn-checksum.pcap")])
        #expect(some.badTransportChecksums == 2 && some.verifiedTransportChecksums == 5)
        // A clean capture says nothing.
        #expect(try track([Paths.fixture("conn-sf.pcap")]).statistics.warnings(checksumsIgnoredBy: "-C").isEmpty)
    }

    @Test func decoderAndTrackerShareTheVerificationDefault() {
        #expect(TrackerConfiguration().verifyChecksums == PacketDecoder.verifiesChecksumsByDefault)
        #expect((try? PacketDecoder(linkType: .ethernet))?.verifyChecksums == TrackerConfiguration().verifyChecksums)
    }

    @Test func likelyServerPortsParse() {
        #expect(LikelyServerPorts(parsing: "zeek") == .zeekDefault)
        #expect(LikelyServerPorts(parsing: "zeek-bare") == .zeekBare)
        #expect(LikelyServerPorts(parsing: "none") == LikelyServerPorts.empty)
        let custom = LikelyServerPorts(parsing: "tcp:80,443,8000-8002 udp:53")
        #expect(custom?.tcp.contains(8001) == true && custom?.tcp.contains(8003) == false && custom?.udp.contains(53) == true)
        #expect(custom?.udp.contains(80) == false)
        for bad in ["", "tcp", "sctp:1", "tcp:x", "tcp:9-1", "tcp:70000"] { #expect(LikelyServerPorts(parsing: bad) == nil, "\(bad)") }
        #expect(LikelyServerPorts.zeekBare.tcp == PortSet() && LikelyServerPorts.zeekBare.udp.contains(4789))
    }
}
