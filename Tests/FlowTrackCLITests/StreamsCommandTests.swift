import FlowTrack
import FlowTrackCLI
import Foundation
import Testing

/// `flowtrack streams`: one file per direction, named as tcpflow names them plus the uid,
/// with the bytes make_streams.py sent, and a summary per connection.
@Suite struct StreamsCommandTests {
    @Test func writesEachDirectionAndASummary() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flowtrack-streams-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["st-reorder.pcap", "st-gap.pcap", "st-dns.pcap"] {
            var out = StringSink(), err = StringSink()
            let status = try StreamsCommand.parse([Paths.fixture(name), "-o", directory, "--holes", "zero"]).execute(out: &out, err: &err)
            #expect(status == .success, "\(err.text)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        func content(_ prefix: String, _ suffix: String = "") throws -> Data {
            let name = try #require(files.first { $0.hasPrefix(prefix + "-C") && $0.hasSuffix(suffix) }, "\(prefix) in \(files)")
            return try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        }
        let request = "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: flowtrack-test\r\n\r\n"
        #expect(try content("010.007.000.001.40100-010.007.000.002.00080") == Data(request.utf8))
        #expect(try content("010.007.000.002.00080-010.007.000.001.40100") == Data("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello, world".utf8))
        // The hole as 100 zeros (--holes zero), the first data kept, nothing after the FIN.
        let gap = try content("010.007.000.001.40101-010.007.000.002.00080")
        #expect(gap == Data(repeating: UInt8(ascii: "A"), count: 100) + Data(count: 100) + Data(repeating: UInt8(ascii: "C"), count: 100))
        #expect(try content("010.007.000.001.40102-010.007.000.002.00053", ".udp").count > 12)
        let summaries = try files.filter { $0.hasSuffix(".json") }.map {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0))) as? [String: Any]
        }
        let gapSummary = try #require(summaries.compactMap { $0 }.first { $0["orig"] as? String == "10.7.0.1:40101" })
        #expect(gapSummary["orig_missing"] as? Int == 100 && gapSummary["orig_bytes"] as? Int == 300 && gapSummary["end"] as? String == "closed")
    }
}
