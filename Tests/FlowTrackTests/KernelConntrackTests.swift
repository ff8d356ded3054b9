import FlowTrack
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// FlowTrack's kernel-style TCP states against the real kernel's conntrack table: TCP
/// scenarios between two network namespaces that the test creates, with an nftables
/// `ct state` rule so the kernel tracks them, captured by tcpdump; then `conntrack -L`
/// is compared with FlowTrack's `tcp_state`, ASSURED and timeout on that capture
/// (Fixtures/helpers/conntrack_scenarios.py). Needs root, as CI has.
@Suite(.serialized, .enabled(if: getuid() == 0, "network namespaces and conntrack need root (CI runs as root)"))
struct KernelConntrackTests {
    struct Entry {
        var state: String, timeout: Int, sport: Int, dport: Int, assured: Bool
    }

    /// Runs the scenarios; returns the kernel's entries, the capture's rows (Zeek profile)
    /// and the rows under the conntrack profile.
    func scenarios() throws -> (entries: [Entry], rows: [Connection], conntrack: [Connection], kernel: String) {
        let dir = Paths.temporary("conntrack")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let run = try runCommand("/usr/bin/python3", [Paths.fixture("helpers/conntrack_scenarios.py"), "run", dir])
        try #require(run.status == 0, "scenarios failed: \(run.err)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/conntrack.json"))) as! [String: Any]
        let entries = (json["entries"] as! [[String: Any]]).map {
            Entry(state: $0["state"] as! String, timeout: $0["timeout"] as! Int, sport: $0["sport"] as! Int,
                  dport: $0["dport"] as! Int, assured: $0["assured"] as! Bool)
        }
        // veth leaves checksums to the (absent) hardware: ignored, as with -C.
        let rows = try track([dir + "/capture.pcap"]) { $0.verifyChecksums = false }.rows
        let conntrack = try track([dir + "/capture.pcap"]) { $0.verifyChecksums = false; $0.profile = .conntrack }.rows
        return (entries, rows, conntrack, json["kernel"] as? String ?? "?")
    }

    @Test func statesEqualTheKernelsConntrackTable() throws {
        let (entries, rows, conntrack, kernel) = try scenarios()
        print("conntrack -L on Linux \(kernel): \(entries.map { "\($0.dport) \($0.state) \($0.timeout)\($0.assured ? " ASSURED" : "")" })")
        // Eight connections are left in the table; the SYN answered by a RST (9099) was deleted.
        #expect(Set(entries.map(\.dport)) == [9001, 9002, 9003, 9004, 9005, 9006, 9007, 9008])
        for entry in entries {
            // The latest row of the entry's tuple (9005 reused it).
            let row = try #require(rows.last { Int($0.originator.port) == entry.sport && Int($0.responder.port) == entry.dport },
                                   "no row for \(entry.sport) -> \(entry.dport)")
            #expect(row.tcpState?.description == entry.state, "\(entry.dport): FlowTrack \(row.tcpState?.description ?? "-"), kernel \(entry.state)")
            #expect(row.kernelAssured == entry.assured, "\(entry.dport): ASSURED")
            // The table shows the time left; FlowTrack the full timeout the last packet set (a few seconds ago).
            let timeout = try #require(row.kernelTimeout)
            #expect(entry.timeout <= timeout && entry.timeout >= timeout - 10, "\(entry.dport): kernel \(entry.timeout) s left, FlowTrack \(timeout) s")
        }
        // The cases the issue names, spelled out.
        func state(_ port: Int) -> String? { rows.last { Int($0.responder.port) == port }?.tcpState?.description }
        #expect(state(9006) == "ESTABLISHED")  // the RST far outside the window changed nothing
        #expect(state(9004) == "CLOSE_WAIT" && state(9001) == "TIME_WAIT" && state(9008) == "TIME_WAIT")
        #expect(state(9002) == "CLOSE" && state(9003) == "CLOSE")
        #expect(rows.last { Int($0.responder.port) == 9007 }?.kernelTimeout == 300)  // RETRANS after 3 repeated ACKs
        #expect(rows.filter { Int($0.responder.port) == 9005 }.count == 2)  // the reused tuple: a new entry
        // conntrack deletes an entry whose only answer is a RST; the conntrack profile ends it then.
        let rejected = try #require(conntrack.first { Int($0.responder.port) == 9099 })
        #expect(rejected.endReason == .rst && rejected.tcpState == .close)
    }
}

/// Runs a program to its end, capturing its output.
func runCommand(_ executable: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}
