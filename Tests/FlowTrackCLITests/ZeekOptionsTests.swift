import FlowTrack
@testable import FlowTrackCLI
import Foundation
import Testing

/// The conn options for Zeek's switches, as a user runs them: the columns they add in
/// each format, the warnings about suspicious input, several files as one capture.
@Suite struct ZeekOptionsTests {
    @Test func offloadedChecksumsAreSaidOnceWithTheFix() throws {
        let checked = try conn([Paths.fixture("tcp-loopback.pcap"), "--format", "json"])
        let warnings = checked.err.split(separator: "\n").filter { $0.contains("warning") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("offloaded checksums") == true && warnings.first?.contains("-C") == true)
        let ignored = try conn([Paths.fixture("tcp-loopback.pcap"), "--format", "json", "-C"])
        #expect(ignored.err.isEmpty)
        let stats = try conn([Paths.fixture("tcp-loopback.pcap"), "--format", "json", "--stats"])
        #expect(stats.err.contains("bad transport checksums: 10") && stats.err.contains("verified transport checksums: 10"))
    }

    @Test func timeGoingBackwardsIsSaid() throws {
        let run = try conn([Paths.fixture("zr-backwards.pcap"), "--format", "json"])
        #expect(run.err.contains("warning: packet time went backwards 1 time"))
        #expect(run.lines.count == 2)
    }

    @Test func policyColumnsComeInZeeksOrderInEveryFormat() throws {
        let args = [Paths.fixture("zr-vlan.pcap"), "--vlan-key", "--vlan", "--mac", "--community-id"]
        let zeek = try conn(args + ["--format", "zeek"])
        let fields = try #require(zeek.lines.first { $0.hasPrefix("#fields") }).split(separator: "\t").dropFirst().map(String.init)
        #expect(Array(fields[4...8]) == ["id.resp_h", "id.resp_p", "id.ctx.vlan", "id.ctx.inner_vlan", "proto"])
        #expect(Array(fields.suffix(6)) == ["ip_proto", "community_id", "orig_l2_addr", "resp_l2_addr", "vlan", "inner_vlan"])
        let types = Array(try #require(zeek.lines.first { $0.hasPrefix("#types") }).split(separator: "\t").dropFirst())
        #expect(types.count == fields.count)
        #expect(Array(types.suffix(5)) == ["string", "string", "string", "int", "int"] && Array(types[6...7]) == ["int", "int"])
        let rows = zeek.lines.filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(rows.count == 4 && rows.allSatisfy { $0.count == fields.count })
        // The QinQ row: outer 100, inner 200, in the key and in the vlan-logging columns.
        let qinq = try #require(rows.first { $0[6] == "100" })
        #expect(qinq[7] == "200" && qinq[fields.count - 2] == "100" && qinq[fields.count - 1] == "200")
        #expect(qinq[fields.count - 4] == "02:00:00:00:00:01" && qinq[fields.count - 3] == "02:00:00:00:00:02")
        let untagged = try #require(rows.first { $0[6] == "-" })
        #expect(untagged[7] == "-" && untagged[fields.count - 1] == "-")
        let csv = try conn(args + ["--format", "csv"])
        let header = csv.out.split(separator: "\r\n").first.map { $0.split(separator: ",").map(String.init) } ?? []
        #expect(Array(header.prefix(fields.count)) == fields)
        let table = try conn(args, terminal: true)
        #expect(table.lines[0].hasSuffix("Recv Bytes  vlan  inner_vlan  orig_l2_addr       resp_l2_addr"))
        #expect(table.lines.contains { $0.contains("  100   200         02:00:00:00:00:01  02:00:00:00:00:02") })
        let json = try conn(args + ["--format", "json"])
        let objects = try json.lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.compactMap { $0["id.ctx.vlan"] as? Int }.sorted() == [10, 20, 100])
        #expect(objects.allSatisfy { $0["orig_l2_addr"] as? String == "02:00:00:00:00:01" })
        #expect(objects.filter { $0["vlan"] == nil }.count == 1)
    }

    @Test func likelyServerPortsOption() throws {
        let bare = try conn([Paths.fixture("zr-lone-synack.pcap"), "--format", "json", "--likely-server-ports", "zeek-bare"])
        #expect(bare.out.contains("\"id.orig_h\":\"10.0.0.2\"") && bare.out.contains("\"history\":\"H\""))
        let full = try conn([Paths.fixture("zr-lone-synack.pcap"), "--format", "json"])
        #expect(full.out.contains("\"id.orig_h\":\"10.0.0.1\"") && full.out.contains("\"history\":\"^h\""))
        let custom = try conn([Paths.fixture("zr-lone-synack.pcap"), "--format", "json", "--likely-server-ports", "tcp:80 udp:53"])
        #expect(custom.out.contains("\"history\":\"^h\""))
        for bad in [["--likely-server-ports", "tcp:eighty"], ["--ignore-checksums-nets", "10.0.0.0/40"]] {
            #expect(throws: (any Error).self) { try ConnCommand.parse([Paths.fixture("zr-lone-synack.pcap")] + bad) }
        }
    }

    @Test func ignoreChecksumsNetsExemptsBySource() throws {
        let run = try conn([Paths.fixture("conn-checksum.pcap"), "--format", "json", "--ignore-checksums-nets", "10.0.0.2/32"])
        #expect(run.out.contains("\"history\":\"ShACd\""))
    }

    @Test func sctpAndAnalyzerOptions() throws {
        let zeek = try conn([Paths.fixture("zr-sctp.pcap"), "--format", "json"])
        #expect(zeek.lines.count == 1 && zeek.out.contains("\"id.orig_p\":0"))
        let ports = try conn([Paths.fixture("zr-sctp.pcap"), "--format", "json", "--sctp-ports"])
        #expect(ports.lines.count == 2)
        let conntrack = try conn([Paths.fixture("zr-sctp.pcap"), "--format", "json", "--timeouts", "conntrack"])
        #expect(conntrack.lines.count == 2)
        let flipped = try conn([Paths.fixture("zr-ntp.pcap"), "--format", "json"])
        #expect(flipped.out.contains("\"history\":\"D^\""))
        let plain = try conn([Paths.fixture("zr-ntp.pcap"), "--format", "json", "--no-analyzer-flips"])
        #expect(plain.out.contains("\"history\":\"Dd\""))
    }

    @Test func severalFilesAreOneCaptureInTimeOrder() throws {
        let ab = try conn([Paths.fixture("zr-split-a.pcap"), Paths.fixture("zr-split-b.pcap"), "--format", "zeek"])
        let ba = try conn([Paths.fixture("zr-split-b.pcap"), Paths.fixture("zr-split-a.pcap"), "--format", "zeek"])
        func rows(_ r: Run) -> [Substring] { r.lines.filter { !$0.hasPrefix("#") } }
        #expect(rows(ab) == rows(ba) && rows(ab).count == 1 && rows(ab)[0].contains("\tSF\t"))
        // A missing file among them is named, the status says so, and the others are read.
        let missing = try conn([Paths.fixture("zr-split-a.pcap"), "/nonexistent.pcap", Paths.fixture("zr-split-b.pcap"),
                                "--format", "zeek"])
        #expect(missing.status != .success && missing.err.contains("/nonexistent.pcap"))
        #expect(rows(missing) == rows(ab))
        // extract writes the connection's packets from both files, in time order.
        let out = Paths.temporary("merged.pcap")
        let uid = String(rows(ab)[0].split(separator: "\t")[1])
        let extracted = try ExtractCommand.parse([Paths.fixture("zr-split-b.pcap"), Paths.fixture("zr-split-a.pcap"),
                                                  "--seed", "1", "--uid", uid, "-w", out])
        var o = StringSink(), e = StringSink()
        #expect(extracted.execute(out: &o, err: &e) == .success)
        let back = try packets([out, "--epoch"])
        #expect(back.lines.count == 8)
        let times = back.lines.compactMap { Double($0.prefix { $0 != " " }) }
        #expect(times.count == 8 && times == times.sorted())
    }

    @Test func statsReportFragmentReassembly() throws {
        let stats = try packets([Paths.fixture("fr-udp-v4.pcap"), "--stats"])
        #expect(stats.out.contains("fragments: 3 (reassembled datagrams: 1)"))
        let lost = try packets([Paths.fixture("fr-incomplete.pcap"), Paths.fixture("fr-overlap.pcap"), "--stats"])
        #expect(lost.out.contains("overlaps with different bytes (first kept): 1"))
        let conn = try conn([Paths.fixture("fr-incomplete.pcap"), "--format", "json", "--stats"])
        #expect(conn.err.contains("dropped datagrams: timed out 1"))
    }

    @Test func tunnelLogFromConnAndTunnels() throws {
        let path = Paths.temporary("tunnel.log")
        let run = try conn([Paths.fixture("tn-vxlan.pcap"), "--format", "zeek", "--tunnel-log", path])
        #expect(run.status == .success)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.contains("#path\ttunnel") && lines.contains { $0.hasPrefix("#close") })
        #expect(lines.filter { $0.hasSuffix("Tunnel::VXLAN\tTunnel::DISCOVER") }.count == 2)
        #expect(lines.filter { $0.hasSuffix("Tunnel::VXLAN\tTunnel::CLOSE") }.count == 2)
        // The tunnels command gives the same lines (the same uids with the same seed).
        var out = StringSink(), err = StringSink()
        _ = try TunnelsCommand.parse([Paths.fixture("tn-vxlan.pcap"), "--seed", "1"]).execute(out: &out, err: &err)
        let rows = { (t: String) in t.split(separator: "\n").filter { !$0.hasPrefix("#") } }
        #expect(rows(out.text) == rows(text))
        // The connection rows' tunnel uids are the ones tunnel.log names.
        let uids = Set(rows(text).map { String($0.split(separator: "\t")[1]) })
        #expect(run.lines.filter { !$0.hasPrefix("#") && $0.contains("\t10.1.0.1\t") }.allSatisfy { row in
            uids.isSuperset(of: row.split(separator: "\t")[20].split(separator: ",").map(String.init)) })
    }

    @Test func tableMarksTunnelledConnections() throws {
        let run = try conn([Paths.fixture("tn-geneve.pcap"), "-n"], terminal: true)
        #expect(run.lines[0].hasSuffix("Tunnel"))
        #expect(run.lines.filter { $0.hasSuffix("geneve") }.count == 2)  // the two inner connections
        #expect(run.lines.contains { $0.contains(":6081") && $0.hasSuffix("-") })  // the carrying flow itself
    }
}
