import FlowTrack
import Foundation
import Testing

/// Zeek-style regression tests: each Fixtures/conn-*.pcap against the rows written by
/// hand in Fixtures/conn-expected.tsv, compared through the JSON output a user reads.
@Suite struct ConnectionRegressionTests {
    struct Expected: CustomTestStringConvertible {
        var file: String
        var fields: [String: String]
        var testDescription: String { "\(file) \(fields["history"] ?? "")" }
    }

    static let columns = ["orig_h", "orig_p", "resp_h", "resp_p", "proto", "conn_state", "history", "orig_bytes", "resp_bytes",
                          "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "missed_bytes", "duration", "tcp_state", "end_reason"]

    static let expected: [String: [Expected]] = {
        var byFile: [String: [Expected]] = [:]
        for line in readLines(Paths.fixture("conn-expected.tsv")) where !line.hasPrefix("#") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == columns.count + 1 else { continue }
            byFile[f[0], default: []].append(Expected(file: f[0], fields: Dictionary(uniqueKeysWithValues: zip(columns, f.dropFirst()))))
        }
        return byFile
    }()

    static var files: [String] { expected.keys.sorted() }

    @Test func everyFixtureHasExpectations() {
        #expect(Self.files.count == 29)
    }

    @Test(arguments: files)
    func rowsMatchTheHandWrittenExpectations(_ file: String) throws {
        let (rows, _) = try track([Paths.fixture(file)])
        let want = Self.expected[file]!
        #expect(rows.count == want.count, "\(file): \(rows.count) rows")
        for (row, expected) in zip(rows, want) {
            let json = try jsonObject(row)
            let got: [String: String] = Dictionary(uniqueKeysWithValues: Self.columns.map { column in
                let key = ["orig_h": "id.orig_h", "orig_p": "id.orig_p", "resp_h": "id.resp_h", "resp_p": "id.resp_p"][column] ?? column
                guard let value = json[key] else { return (column, "-") }
                if column == "duration", let d = value as? Double { return (column, String(format: "%.6f", d)) }
                return (column, "\(value)")
            })
            for column in Self.columns {
                #expect(got[column] == expected.fields[column], "\(file) \(column): got \(got[column] ?? "nil"), want \(expected.fields[column] ?? "nil")")
            }
        }
    }

    @Test func ignoringChecksumsCountsTheBadPackets() throws {
        let (rows, _) = try track([Paths.fixture("conn-checksum.pcap")]) { $0.verifyChecksums = false }
        #expect(rows.count == 1)
        #expect(rows[0].history == "ShADd")
        #expect(rows[0].originatorCounters.bytes == 10 && rows[0].responderCounters.bytes == 10)
        #expect(rows[0].originatorCounters.packets == 3 && rows[0].responderCounters.packets == 2)
    }

    @Test func loopbackCapturesNeedChecksumsIgnoredLikeZeek() throws {
        // Linux loopback leaves TCP checksums to the (absent) NIC: every segment looks bad.
        let checked = try track([Paths.fixture("tcp-loopback.pcap")]).rows
        #expect(checked.allSatisfy { $0.history.allSatisfy { $0 == "C" || $0 == "c" } })
        let (rows, _) = try track([Paths.fixture("tcp-loopback.pcap")]) { $0.verifyChecksums = false }
        #expect(rows.count == 1)
        let c = rows[0]
        #expect(c.connState == .sf && c.history == "ShADadfF")
        #expect(c.responder.port == 47001 && c.originator.address == IPAddress("127.0.0.1"))
        // make_loopback.sh: the client sends 1000 bytes, the server 2500.
        #expect(c.originatorCounters.bytes == 1000 && c.responderCounters.bytes == 2500)
        #expect(c.originatorCounters.payloadBytes == 1000 && c.responderCounters.payloadBytes == 2500)
        #expect(c.tcpState == .timeWait)
        let udp = try track([Paths.fixture("udp-loopback.pcap")]) { $0.verifyChecksums = false }.rows
        #expect(udp.count == 1 && udp[0].connState == .sf && udp[0].history == "Dd")
        #expect(udp[0].originatorCounters.bytes == 60 && udp[0].responderCounters.bytes == 300)
    }

    @Test func conntrackProfileKeepsConnectionsByKernelTimeouts() throws {
        // Under Zeek's timers the first SYN's row ends at the 5 s attempt timeout; conntrack
        // keeps SYN_SENT for 120 s, so the SYN 7 s later belongs to the same entry.
        let (rows, _) = try track([Paths.fixture("conn-s0.pcap")]) { $0.profile = .conntrack }
        #expect(rows.count == 1)
        #expect(rows[0].originatorCounters.packets == 3 && rows[0].tcpState == .synSent)
    }

    @Test func withoutKernelStatesOnlyTheTCPStateIsMissing() throws {
        // Output without a tcp_state column turns the conntrack table off: every other
        // fact of every row stays the same, and the conntrack profile keeps the state.
        let files = ConnectionRegressionTests.files.map(Paths.fixture)
        let (full, _) = try track(files)
        let (lean, _) = try track(files) { $0.kernelStates = false }
        #expect(full.contains { $0.tcpState == .timeWait } && full.contains { $0.tcpState == .close })
        #expect(lean.allSatisfy { $0.tcpState == nil })
        #expect(full.map { c in var c = c; c.tcpState = nil; c.kernelAssured = nil; c.kernelTimeout = nil; return c } == lean)
        let (conntrack, _) = try track([Paths.fixture("conn-s0.pcap")]) { $0.kernelStates = false; $0.profile = .conntrack }
        #expect(conntrack.map(\.tcpState) == [.synSent])
    }

    @Test func communityIDsEqualTheReferenceValues() throws {
        // ../shared/corpus/tshark/*/community_id.tsv holds the reference `communityid`
        // package's value for every flow. pcapngtg…test102 mixes link types in one pcapng,
        // which libpcap 1.10 refuses to read, so none of its flows can be tracked.
        let files = ["cid__combined.pcap", "dpkt__examples__data__http.pcap", "gopacket__pcap__test_loopback.pcap",
                     "tcpdump__resp_3_malicious.pcap", "tcpreplay__test__test.pcap"]
        guard FileManager.default.fileExists(atPath: Paths.corpus) else { return }
        var compared = 0
        for file in files {
            // The reference package reads SCTP's ports; Zeek (FlowTrack's default) keys SCTP with ports 0.
            let (rows, _) = try track([Paths.corpus + "/pcaps/" + file]) { $0.verifyChecksums = false; $0.sctpPorts = true }
            let ours = Set(rows.map(\.communityID))
            for line in readLines(Paths.corpus + "/tshark/" + file + "/community_id.tsv").dropFirst() where !line.hasPrefix("#") {
                let id = String(line.split(separator: "\t")[0])
                #expect(ours.contains(id), "\(file): \(line)")
                compared += 1
            }
        }
        #expect(compared == 14 + 3 + 2 + 18 + 24)  // the rows of the five files
    }

    @Test func evictionKeepsTheTableBoundedAndSaysSo() throws {
        let (rows, statistics) = try track([Paths.fixture("conn-udp.pcap")]) { $0.maxFlows = 1 }
        #expect(rows.count == 3)
        #expect(statistics.evictions == 2)
        #expect(rows.filter { $0.endReason == .eviction }.count == 2)
        #expect(statistics.peakFlows == 1)
    }

    @Test func asyncSequenceDeliversTheSameConnections() async throws {
        var ended: [Connection] = []
        var started = 0
        var configuration = TrackerConfiguration()
        configuration.events = .all
        for try await event in FlowTracker.events(files: [Paths.fixture("conn-udp.pcap"), Paths.fixture("conn-sf.pcap")],
                                                  configuration: configuration) {
            switch event {
            case .started: started += 1
            case let .ended(c): ended.append(c)
            case .stateChanged: break
            }
        }
        #expect(started == 4 && ended.count == 4)
        #expect(Set(ended.map(\.uid)).count == 4)
        #expect(ended.contains { $0.connState == .sf && $0.history == "ShADdFf" })
    }

    @Test func stateChangesAreReportedInPacketOrder() throws {
        var configuration = TrackerConfiguration()
        configuration.events = .all
        var pipeline = FlowTracker(configuration: configuration)
        var states: [String] = []
        try pipeline.run(file: Paths.fixture("conn-sf.pcap")) { event in
            if case let .stateChanged(c) = event { states.append("\(c.tcpState!)/\(c.connState)") }
        }
        // The SYN starts the connection (SYN_SENT, S0; reported as started). SYN-ACK: SYN_RECV,
        // and Zeek marks both endpoints ESTABLISHED (S1). ACK: ESTABLISHED. Client FIN:
        // FIN_WAIT, S2. Server FIN: LAST_ACK, SF. Last ACK: TIME_WAIT.
        #expect(states == ["SYN_RECV/S1", "ESTABLISHED/S1", "FIN_WAIT/S2", "LAST_ACK/SF", "TIME_WAIT/SF"])
    }

    @Test func uidsAreUniqueAndSeeded() throws {
        let first = try track([Paths.fixture("conn-icmp.pcap"), Paths.fixture("conn-udp.pcap")]).rows.map(\.uid)
        let again = try track([Paths.fixture("conn-icmp.pcap"), Paths.fixture("conn-udp.pcap")]).rows.map(\.uid)
        #expect(first == again)
        #expect(Set(first).count == first.count)
        #expect(first.allSatisfy { $0.hasPrefix("C") && $0.count >= 12 })
        let other = try track([Paths.fixture("conn-icmp.pcap")]) { $0.uidSeed = 7 }.rows.map(\.uid)
        #expect(Set(other).isDisjoint(with: first))
    }
}
