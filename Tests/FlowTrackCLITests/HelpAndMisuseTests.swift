import Foundation
import Testing

@Suite struct HelpAndMisuseTests {
    @Test(arguments: [[], ["conn"], ["ports"], ["extract"], ["packets"]])
    func helpEndsWithExamples(_ command: [String]) throws {
        let result = try runBinary(command + ["--help"])
        #expect(result.status == 0)
        let lines = result.out.split(separator: "\n")
        let examples = try #require(lines.lastIndex(of: "EXAMPLES:"))
        #expect(lines[(examples + 1)...].allSatisfy { $0.hasPrefix("  ") && $0.contains("flowtrack ") })
        #expect(lines.count - examples >= 3)
    }

    @Test(arguments: [
        ["conn", "x.pcap", "--format", "xml"], ["conn", "x.pcap", "--sort", "colour"], ["ports", "x.pcap", "--max-flows", "0"],
        ["extract", "x.pcap", "-w", "o.pcap"], ["packets", "x.pcap", "-c", "-1"], ["frobnicate"], ["conn"],
    ])
    func misuseIsOneLineAndStatus64(_ arguments: [String]) throws {
        let result = try runBinary(arguments)
        #expect(result.status == 64)
        #expect(result.err.hasPrefix("flowtrack: ") && result.err.split(separator: "\n").count == 1, "\(result.err)")
        #expect(result.out.isEmpty)
    }

    @Test(arguments: [(["conn", "/nonexistent.pcap", "--format", "json"], Int32(2)),
                      (["ports", "/etc/hostname", "--format", "json"], Int32(3)),
                      (["packets", "/nonexistent.pcap"], Int32(2))] as [([String], Int32)])
    func badFilesAreOneLineWithTheirStatus(_ arguments: [String], _ status: Int32) throws {
        let result = try runBinary(arguments)
        #expect(result.status == status)
        #expect(result.err.split(separator: "\n").count == 1 && result.err.hasPrefix("flowtrack: "))
    }
}
