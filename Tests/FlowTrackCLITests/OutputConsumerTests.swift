import FlowTrack
import Foundation
import Testing
@testable import FlowTrackCLI

/// Runs a Python 3 program over a file and returns what it printed.
func python(_ program: String, _ file: String) throws -> String {
    let run = try runProcess("/usr/bin/env", ["python3", "-c", program, file])
    if run.status != 0 { Issue.record("python3 failed: \(run.err)") }
    return run.out
}

func write(_ text: String, to name: String) -> String {
    let path = Paths.temporary(name)
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}

/// A connection whose text fields hold every byte that could break a format.
let hostile: Connection = {
    var c = Connection(
        uid: "C\t\"tab,quote\"\n\r\\back\u{7}é\u{2028}end", startTime: Timestamp(seconds: 1_700_000_000, nanoseconds: 1_500),
        lastTime: Timestamp(seconds: 1_700_000_001, nanoseconds: 0),
        originator: Endpoint(IPAddress("2001:db8::1")!, 1), responder: Endpoint(IPAddress("10.0.0.1")!, 2),
        transport: .tcp, ipProtocol: 6, connState: .sf, history: "-", tcpState: .established,
        originatorState: .established, responderState: .established,
        originatorCounters: DirectionCounters(packets: 1, ipBytes: 60, payloadBytes: 0, bytes: 0),
        responderCounters: DirectionCounters(packets: 2, ipBytes: 80, payloadBytes: 0, bytes: 5),
        missedBytes: 0, localOriginator: true, localResponder: false, communityID: "1:x,\"y\"\tz", endReason: .fin)
    c.service = "(empty)"
    return c
}()

@Suite struct OutputConsumerTests {
    @Test func jsonLinesParseInPython() throws {
        let run = try conn([Paths.fixture("conn-udp.pcap"), Paths.fixture("conn-icmp.pcap"), "--format", "json", "--community-id"])
        let path = write(run.out, to: "conn.json")
        let printed = try python("""
            import json, sys
            rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
            print(len(rows), sorted(set(r["proto"] for r in rows)), all(r["community_id"].startswith("1:") for r in rows))
            """, path)
        #expect(printed == "6 ['icmp', 'udp'] True\n")
    }

    @Test func csvParsesInPython() throws {
        let run = try conn([Paths.fixture("conn-sf.pcap"), Paths.fixture("zr-rej-40001.pcap"), "--format", "csv"])
        let path = write(run.out, to: "conn.csv")
        let printed = try python("""
            import csv, sys
            rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
            print(len(rows), [r["conn_state"] for r in rows], rows[0]["service"], rows[0]["tunnel_parents"] == "")
            """, path)
        #expect(printed == "2 ['SF', 'REJ'] http True\n")
    }

    /// A zeek-cut work-alike: selects columns by the names on the #fields line.
    static let zeekCut = """
        import sys
        fields = None
        for line in open(sys.argv[1], encoding="utf-8"):
            line = line.rstrip("\\n")
            if line.startswith("#fields\\t"):
                fields = line.split("\\t")[1:]
            elif not line.startswith("#"):
                row = dict(zip(fields, line.split("\\t")))
                print(row["id.orig_h"], row["id.resp_p"], row["service"], row["conn_state"], row["history"], row["orig_bytes"])
        """

    @Test func zeekLogWorksWithAZeekCutStyleSelector() throws {
        let run = try conn([Paths.fixture("conn-sf.pcap"), "--format", "zeek"])
        let path = write(run.out, to: "conn.log")
        #expect(try python(Self.zeekCut, path) == "10.0.0.1 80 http SF ShADdFf 100\n")
    }

    @Test func hostileTextSurvivesEveryFormat() throws {
        let columns = ConnLogColumns(communityID: true)
        // JSON: Python decodes every text field back to the same string.
        let json = write(JSONLinesWriter(columns: columns).row(hostile), to: "hostile.json")
        let decoded = try python("""
            import json, sys
            r = json.loads(open(sys.argv[1], encoding="utf-8").read())
            print(json.dumps([r["uid"], r["service"], r["history"], r["community_id"], r["id.orig_h"]]))
            """, json)
        let fields = try JSONSerialization.jsonObject(with: Data(decoded.utf8)) as! [String]
        #expect(fields == [hostile.uid, "(empty)", "-", hostile.communityID, "2001:db8::1"])
        // CSV: one record, every field intact.
        let csvText = CSVWriter(columns: columns).header + CSVWriter(columns: columns).row(hostile)
        let csv = write(csvText, to: "hostile.csv")
        let parsed = try python("""
            import csv, json, sys
            rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
            print(json.dumps([len(rows), rows[0]["uid"], rows[0]["community_id"], rows[0]["service"]]))
            """, csv)
        let csvFields = try JSONSerialization.jsonObject(with: Data(parsed.utf8)) as! [Any]
        #expect(csvFields[0] as? Int == 1 && csvFields[1] as? String == hostile.uid && csvFields[2] as? String == hostile.communityID)
        // Zeek TSV: one line, the right number of columns, control bytes as \\xNN, and a
        // value that would read as unset or empty escaped.
        let row = ZeekLogWriter(columns: columns).row(hostile)
        #expect(row.filter { $0 == "\n" }.count == 1)
        let cells = row.dropLast().split(separator: "\t", omittingEmptySubsequences: false)
        #expect(cells.count == 23)
        #expect(cells[1] == "C\\x09\"tab,quote\"\\x0a\\x0d\\x5cback\\x07é\u{2028}end")
        #expect(cells[7] == "\\x28empty)" && cells[15] == "\\x2d")
        // The table replaces control characters.
        let table = NetstatTable(numeric: false, zeekStates: true).render([hostile])
        #expect(table.split(separator: "\n").count == 2)
    }

    /// Rows are written into space sized before writing; text that escaping makes six
    /// times longer (JSON `\u00XX`), four (Zeek `\xNN`) or twice (CSV quotes) must fit.
    @Test func longTextThatEscapingMultipliesFitsItsRow() {
        var c = hostile
        c.uid = String(repeating: "\u{1}", count: 5_000)
        c.history = String(repeating: "\"", count: 5_000)
        c.service = String(repeating: "\u{2028}", count: 2_000)
        c.communityID = String(repeating: ",", count: 3_000)
        let columns = ConnLogColumns(communityID: true)
        let json = JSONLinesWriter(columns: columns).row(c)
        #expect(json.contains("\"uid\":\"" + String(repeating: "\\u0001", count: 5_000) + "\","))
        #expect(json.contains("\"history\":\"" + String(repeating: "\\\"", count: 5_000) + "\","))
        #expect(json.contains("\"service\":\"" + String(repeating: "\\u2028", count: 2_000) + "\","))
        let zeek = ZeekLogWriter(columns: columns).row(c).dropLast().split(separator: "\t", omittingEmptySubsequences: false)
        #expect(zeek.count == 23)
        #expect(zeek[1] == String(repeating: "\\x01", count: 5_000)[...])
        #expect(zeek[22] == String(repeating: ",", count: 3_000)[...])
        let csv = CSVWriter(columns: columns).row(c)
        #expect(csv.contains(",\"" + String(repeating: "\"\"", count: 5_000) + "\","))
        #expect(csv.contains(",\"" + String(repeating: ",", count: 3_000) + "\","))
        #expect(csv.hasSuffix("\r\n"))
    }
}
