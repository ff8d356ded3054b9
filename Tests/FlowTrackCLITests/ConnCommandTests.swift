import FlowTrack
import Foundation
import Testing
@testable import FlowTrackCLI

/// Runs `flowtrack conn ARGS…` in-process.
func conn(_ arguments: [String], terminal: Bool = false) throws -> Run {
    let command = try ConnCommand.parse(arguments + ["--seed", "1"])
    var out = StringSink(), err = StringSink()
    let status = command.execute(out: &out, err: &err, terminal: terminal)
    return Run(status: status, out: out.text, err: err.text)
}

@Suite struct ConnCommandTests {
    @Test func zeekFormatHasZeeksHeaderAndColumns() throws {
        let run = try conn([Paths.fixture("conn-sf.pcap"), "--format", "zeek"])
        #expect(run.status == .success)
        let lines = run.out.split(separator: "\n").map(String.init)
        #expect(lines[0] == "#separator \\x09")
        #expect(lines[1] == "#set_separator\t,")
        #expect(lines[2] == "#empty_field\t(empty)")
        #expect(lines[3] == "#unset_field\t-")
        #expect(lines[4] == "#path\tconn")
        #expect(lines[5].hasPrefix("#open\t20"))
        #expect(lines[6] == "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto")
        #expect(lines[7] == "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount")
        #expect(lines.last!.hasPrefix("#close\t20"))
        let row = lines[8].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        #expect(row.count == 22)
        // make_conn.py conn-sf: first packet at 1_700_000_000 s; the rest by hand (conn-expected.tsv).
        #expect(row[0] == "1700000000.000000")
        #expect(Array(row[2...]) == ["10.0.0.1", "40000", "10.0.0.2", "80", "tcp", "http", "0.600000", "100", "200", "SF", "T", "T",
                                     "0", "ShADdFf", "5", "300", "3", "320", "-", "6"])
    }

    @Test func communityIDColumnAndLocalNets() throws {
        let run = try conn([Paths.fixture("conn-sf.pcap"), "--format", "zeek", "--community-id", "--local-nets", "10.0.0.2/32"])
        let lines = run.out.split(separator: "\n")
        #expect(lines[6].hasSuffix("\tip_proto\tcommunity_id"))
        #expect(lines[7].hasSuffix("\tcount\tstring"))
        let row = lines[8].split(separator: "\t", omittingEmptySubsequences: false)
        #expect(row.count == 23)
        #expect(row[22].hasPrefix("1:") && row[22].count == 30)
        #expect(row[12] == "F" && row[13] == "T")  // only the server is local
        let none = try conn([Paths.fixture("conn-sf.pcap"), "--format", "json", "--local-nets", "none"])
        #expect(!none.out.contains("local_orig"))
    }

    @Test func jsonIsOneObjectPerLine() throws {
        let run = try conn([Paths.fixture("conn-udp.pcap"), "--format", "json"])
        let lines = run.out.split(separator: "\n")
        #expect(lines.count == 3)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(object["proto"] as? String == "udp")
            #expect(object["uid"] is String)
        }
    }

    @Test func csvHasAHeaderAndRFC4180Rows() throws {
        let run = try conn([Paths.fixture("conn-icmp.pcap"), "--format", "csv"])
        let rows = run.out.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(rows.count == 4)
        #expect(rows[0].hasPrefix("ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,service,duration"))
        #expect(rows.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == rows[0].split(separator: ",").count })
    }

    @Test func tableIsTheTerminalDefault() throws {
        let run = try conn([Paths.fixture("conn-sf.pcap"), Paths.fixture("zr-rej-40001.pcap")], terminal: true)
        let lines = run.out.split(separator: "\n")
        #expect(lines[0].hasPrefix("Proto  Local Address"))
        #expect(lines[0].hasSuffix("Sent Pkts  Sent Bytes  Recv Pkts  Recv Bytes"))
        // The client's view: Local = the client socket, Foreign = the server's, named by its service.
        let sf = try #require(lines.first { $0.contains("TIME_WAIT") })
        #expect(sf.hasPrefix("tcp    10.0.0.1:40000  10.0.0.2:http"))
        #expect(sf.split(separator: " ").suffix(4) == ["5", "300", "3", "320"])
        #expect(lines.contains { $0.contains("10.0.0.2:http") && $0.contains("CLOSE") })
        let zeek = try conn([Paths.fixture("conn-sf.pcap"), Paths.fixture("zr-rej-40001.pcap"), "-n", "--zeek"], terminal: true)
        #expect(zeek.out.contains("10.0.0.2:80") && zeek.out.contains("ShADdFf") && zeek.out.contains("REJ"))
        // Piped, the default is Zeek's format.
        #expect(try conn([Paths.fixture("conn-sf.pcap")]).out.hasPrefix("#separator"))
    }

    @Test func ignoreChecksumsSwitch() throws {
        let checked = try conn([Paths.fixture("conn-checksum.pcap"), "--format", "json"])
        #expect(checked.out.contains("\"history\":\"ShACc\""))
        let ignored = try conn([Paths.fixture("conn-checksum.pcap"), "--format", "json", "-C"])
        #expect(ignored.out.contains("\"history\":\"ShADd\""))
    }

    @Test func threadsGiveTheSameOutputInEveryFormat() throws {
        // Rows formatted on the tracking threads, merged in one-thread order: byte for byte the
        // same output (the wall-clock #open/#close lines aside), warnings included.
        let captures = ["many-flows.pcap", "tn-vxlan.pcap", "fragments.pcap", "zr-idle-240.pcap", "conn-checksum.pcap"]
        for name in captures {
            for format in ["zeek", "json", "csv", "table"] {
                let arguments = [Paths.fixture(name), "--format", format, "--community-id"]
                let one = try conn(arguments + ["--threads", "1"])
                let noClock = { (text: String) in text.split(separator: "\n").filter { !$0.hasPrefix("#open") && !$0.hasPrefix("#close") } }
                #expect(!noClock(one.out).isEmpty)
                for threads in ["2", "4"] {
                    let many = try conn(arguments + ["--threads", threads])
                    #expect(noClock(many.out) == noClock(one.out), "\(name) --format \(format) --threads \(threads)")
                    #expect(many.err == one.err && many.status == one.status)
                }
            }
        }
        #expect(throws: (any Error).self) { try ConnCommand.parse(["x.pcap", "--threads", "0"]).validate() }
    }

    @Test func maxFlowsReportsEvictions() throws {
        // One table: with several, each holds its share of the limit and evicts within it.
        let run = try conn([Paths.fixture("conn-udp.pcap"), "--format", "json", "--max-flows", "1", "--threads", "1"])
        #expect(run.status == .success)
        #expect(run.out.split(separator: "\n").count == 3)
        #expect(run.out.contains("\"end_reason\":\"eviction\""))
        #expect(run.err == "flowtrack: 2 connections were evicted to stay within --max-flows 1\n")
    }

    @Test func errorsAreOneLineWithDistinctStatuses() throws {
        let missing = try conn(["/nonexistent.pcap"])
        #expect(missing.status == .noInput && missing.err.split(separator: "\n").count == 1)
        let cut = try conn([Paths.fixture("cut-mid-record.pcap"), "--format", "json"])
        #expect(cut.status == .damagedCapture)
        // Every complete packet before the cut is tracked: three SYNs of one connection.
        #expect(cut.out.contains("\"orig_pkts\":3"))
        #expect(throws: (any Error).self) { try ConnCommand.parse(["x.pcap", "--format", "xml"]) }
        #expect(throws: (any Error).self) { try ConnCommand.parse(["x.pcap", "--local-nets", "10.0.0.0/99"]) }
        #expect(throws: (any Error).self) { try ConnCommand.parse(["x.pcap", "--max-flows", "0"]) }
    }

    @Test func binaryEndToEnd() throws {
        let result = try runBinary(["conn", Paths.fixture("conn-s1.pcap"), "--format", "json", "--seed", "3"])
        #expect(result.status == 0)
        #expect(result.out.contains("\"conn_state\":\"S1\"") && result.out.contains("\"tcp_state\":\"ESTABLISHED\""))
        let usage = try runBinary(["conn", "x.pcap", "--format", "xml"])
        #expect(usage.status == 64 && usage.err.contains("--format must be table, zeek, json or csv"))
        let help = try runBinary(["conn", "--help"])
        #expect(help.out.contains("EXAMPLES:"))
    }
}
