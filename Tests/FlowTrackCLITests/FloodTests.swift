import FlowTrack
import Foundation
import Testing

/// A SYN flood from random sources: the table stays within --max-flows, evictions are
/// counted and reported, and the process's peak memory stays bounded.
@Suite struct FloodTests {
    static func flood(syns: Int) -> String {
        let path = Paths.temporary("flood.pcap")
        let writer = try! PcapWriter(path: path, linkType: .ethernet)
        var rng = SplitMix64(seed: 1)
        var f = [UInt8](repeating: 0, count: 54)
        f[12] = 8; f[14] = 0x45; f[17] = 40; f[22] = 64; f[23] = 6
        f[30] = 192; f[32] = 2; f[33] = 80; f[37] = 80; f[46] = 0x50; f[47] = 0x02
        for i in 0..<syns {
            let r = rng.next()
            f[26] = 10; f[27] = UInt8(truncatingIfNeeded: r); f[28] = UInt8(truncatingIfNeeded: r >> 8); f[29] = UInt8(truncatingIfNeeded: r >> 16)
            f[34] = UInt8(truncatingIfNeeded: r >> 24) | 4; f[35] = UInt8(truncatingIfNeeded: r >> 32)
            writer.write(PacketMetadata(timestamp: Timestamp(seconds: 1_700_000_000, nanoseconds: Int64(i) * 1000),
                                        capturedLength: 54, wireLength: 54), bytes: f)
        }
        try! writer.flush()
        return path
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "needs GNU time for the child's peak RSS"))
    func maxFlowsBoundsTheTableAndSaysSo() throws {
        let path = Self.flood(syns: 300_000)
        let rss = Paths.temporary("rss.txt")
        let result = try runProcess("/usr/bin/time", ["-o", rss, "-f", "%M", binaryPath, "conn", path, "-C", "--format", "json", "--max-flows", "20000", "--stats"])
        #expect(result.status == 0)
        #expect(result.err.contains("connections were evicted to stay within --max-flows 20000"))
        #expect(result.err.contains("peak concurrent connections: 20000"))
        let evicted = result.err.split(separator: "\n").first { $0.hasPrefix("ended by eviction: ") }
        let count = evicted.flatMap { Int($0.split(separator: " ").last!) } ?? 0
        #expect(count >= 279_000)  // 300 000 SYNs (a few random 5-tuples repeat), 20 000 kept
        #expect(result.out.split(separator: "\n").count == 300_000 - (300_000 - count - 20_000))
        let peakKB = Int((try String(contentsOfFile: rss, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? .max
        print("flood: 300000 SYNs, --max-flows 20000: peak RSS \(peakKB / 1024) MB")
        // Under AddressSanitizer (scripts/sanitizers.sh says so) the peak is ASan's quarantine and shadow
        // memory (~520 MB), not FlowTrack's; the bound is checked by the plain run.
        if ProcessInfo.processInfo.environment["FLOWTRACK_SANITIZER"] == nil {
            #expect(peakKB < 120 * 1024)  // measured ~40 MB (debug); the table holds 20 000 connections
        }
    }
}
