import FlowTrack
import Foundation
import Testing
@testable import FlowTrackCLI

/// Damaged files give one clear line and a distinct status, and every complete packet
/// before the damage is still tracked and reported.
@Suite struct BrokenFileTests {
    static let pcapHeader: [UInt8] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]

    /// A 54-byte TCP SYN from 10.0.0.1:1000 to 10.0.0.2:80.
    static let syn: [UInt8] = {
        var f = [UInt8](repeating: 0, count: 54)
        f[12] = 8; f[14] = 0x45; f[17] = 40; f[22] = 64; f[23] = 6
        f[26] = 10; f[29] = 1; f[30] = 10; f[33] = 2
        f[34] = 0x03; f[35] = 0xE8; f[37] = 80; f[46] = 0x50; f[47] = 0x02
        return f
    }()

    static func record(_ frame: [UInt8]) -> [UInt8] {
        let n = UInt8(frame.count)
        return [1, 0, 0, 0, 0, 0, 0, 0, n, 0, 0, 0, n, 0, 0, 0] + frame
    }

    func file(_ name: String, _ bytes: [UInt8]) -> String {
        let path = Paths.temporary(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    static let cases: [(String, [UInt8], FlowTrackCLI.ExitStatus, Int)] = {
        let huge: [UInt8] = [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0x80]
        let cut = Array(record(syn).prefix(30))
        var cases: [(String, [UInt8], FlowTrackCLI.ExitStatus, Int)] = []
        cases.append(("not a capture", Array("just some text, not a capture\n".utf8), .notACapture, 0))
        cases.append(("empty", [], .emptyFile, 0))
        cases.append(("header only", pcapHeader, .success, 0))
        cases.append(("2^31 captured length", pcapHeader + record(syn) + huge, .corruptCapture, 1))
        cases.append(("cut mid-record", pcapHeader + record(syn) + cut, .damagedCapture, 1))
        return cases
    }()

    @Test(arguments: cases)
    func damagedPcap(_ name: String, _ bytes: [UInt8], _ status: FlowTrackCLI.ExitStatus, _ rows: Int) throws {
        let path = file(name.replacingOccurrences(of: " ", with: "-") + ".pcap", bytes)
        let run = try conn([path, "--format", "json", "-C"])  // the crafted SYN carries no checksums
        #expect(run.status == status, "\(name): \(run.err)")
        #expect(run.err.split(separator: "\n").count == (status == .success ? 0 : 1))
        #expect(run.out.split(separator: "\n").count == rows)
        if rows > 0 { #expect(run.out.contains("\"conn_state\":\"S0\"") && run.out.contains("\"orig_pkts\":1")) }
    }

    @Test func hostileFileNameStaysOnOneErrorLine() throws {
        let path = file("bad\nname\t\u{7}\u{2028}.pcap", Array("not a capture\n".utf8))
        for run in [try conn([path]), try packets([path, "--stats"])] {
            #expect(run.status == .notACapture)
            #expect(run.err.split(separator: "\n").count == 1 && run.err.hasSuffix("\n"), "\(run.err)")
            #expect(run.err.hasPrefix("flowtrack: ") && run.err.contains("bad\\nname\\t\\u{7}\\u{2028}.pcap"))
        }
        let missing = try packets(["/nonexistent/\r\nforged line"])
        #expect(missing.err == "flowtrack: /nonexistent/\\r\\nforged line: no such file (No such file or directory)\n")
    }

    @Test func corruptPcapngBlockLength() throws {
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        let shb = le32(0x0A0D0D0A) + le32(28) + le32(0x1A2B3C4D) + [1, 0, 0, 0] + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + le32(28)
        let idb = le32(1) + le32(20) + [1, 0, 0, 0] + le32(65535) + le32(20)
        let body = le32(0) + le32(0) + le32(1) + le32(54) + le32(54) + Self.syn + [0, 0]
        let epb = le32(6) + le32(UInt32(12 + body.count)) + body + le32(UInt32(12 + body.count))
        let broken = le32(6) + le32(0xFFFF_FFF0) + [UInt8](repeating: 0, count: 40)
        let path = file("corrupt.pcapng", shb + idb + epb + broken)
        let run = try conn([path, "--format", "json", "-C"])
        #expect(run.status == .corruptCapture, "\(run.err)")
        #expect(run.err.split(separator: "\n").count == 1 && run.err.hasPrefix("flowtrack: "))
        #expect(run.out.split(separator: "\n").count == 1)  // the packet before the bad block
    }
}

/// Every corpus capture through `packets --stats` and `conn`, in-process (the ASan run of
/// scripts/sanitizers.sh covers them with AddressSanitizer): no crash, a time bound per file.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: Paths.corpus + "/pcaps"), "needs ../shared/corpus"))
struct CorpusThroughCommandsTests {
    @Test func everyFileEndsCleanlyAndQuickly() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Paths.corpus + "/pcaps").sorted()
        #expect(names.count == 976)
        var statuses: [FlowTrackCLI.ExitStatus: Int] = [:]
        var slowest = (name: "", seconds: 0.0)
        var packets = 0
        for name in names {
            let path = Paths.corpus + "/pcaps/" + name
            let start = Date()
            var out = StringSink(), err = StringSink()
            let stats = try PacketsCommand.parse([path, "--stats"]).execute(out: &out, err: &err)
            if let first = out.text.split(separator: "\n").first, first.hasPrefix("packets: ") {
                packets += Int(first.dropFirst(9).prefix { $0.isNumber }) ?? 0
            } else {
                #expect(stats != .success && out.text.isEmpty, "\(name): \(out.text)")
            }
            var out2 = StringSink(), err2 = StringSink()
            let rows = try ConnCommand.parse([path, "--format", "json", "--community-id"]).execute(out: &out2, err: &err2)
            #expect(stats == rows, "\(name): packets \(stats), conn \(rows)")
            // At most one error line; warnings about the input (offloaded checksums, time
            // going backwards) may come on top.
            #expect(err2.text.split(separator: "\n").filter { !$0.hasPrefix("flowtrack: warning: ") }.count <= 1, "\(name): \(err2.text)")
            statuses[rows, default: 0] += 1
            let seconds = Date().timeIntervalSince(start)
            if seconds > slowest.seconds { slowest = (name, seconds) }
            #expect(seconds < 20, "\(name) took \(seconds) s")
        }
        print("corpus through packets --stats and conn: \(names.count) files, \(packets) packets; \(statuses.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key): \($0.value)" }); slowest \(slowest.name) \(slowest.seconds) s")
        #expect(statuses[.success, default: 0] > 600)
        #expect(packets > 10_000)  // 11,027 packets in the readable files when this was written
    }
}
