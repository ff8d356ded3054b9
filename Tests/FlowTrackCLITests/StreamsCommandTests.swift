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

/// `streams --threads 2` (the files written by a thread of their own) writes the same
/// files with the same bytes as `--threads 1`.
@Suite struct StreamsThreadsTests {
    static func written(_ capture: String, threads: Int) throws -> [String: Data] {
        let directory = Paths.temporary("streams-threads-\(threads)-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var out = StringSink(), err = StringSink()
        let status = try StreamsCommand.parse([Paths.fixture(capture), "-o", directory, "--threads", String(threads)])
            .execute(out: &out, err: &err)
        #expect(status == .success, "\(err.text)")
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            files[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        }
        return files
    }

    @Test(arguments: ["many-flows.pcap", "tcp-loopback.pcap", "st-reorder.pcap", "st-gap.pcap", "st-dns.pcap", "tn-vxlan.pcap"])
    func aWritingThreadWritesTheSameFiles(capture: String) throws {
        let one = try Self.written(capture, threads: 1), two = try Self.written(capture, threads: 2)
        #expect(!one.isEmpty && one.count == two.count, "\(capture): \(one.count) and \(two.count) files")
        #expect(one == two, "\(capture): first different file \(one.keys.sorted().first { one[$0] != two[$0] } ?? "none")")
    }

    /// A failure on the writing thread is still reported: one of the files to write is
    /// already there as a directory (which even root cannot open for writing).
    @Test func aFailureOnTheWritingThreadIsReported() throws {
        let names = try Self.written("many-flows.pcap", threads: 1).keys.sorted()
        let directory = Paths.temporary("streams-blocked-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let blocked = directory + "/" + names[names.count / 2]
        try FileManager.default.createDirectory(atPath: blocked, withIntermediateDirectories: true)
        var out = StringSink(), err = StringSink()
        let status = try StreamsCommand.parse([Paths.fixture("many-flows.pcap"), "-o", directory, "--threads", "2"])
            .execute(out: &out, err: &err)
        #expect(status != .success && err.text.contains(blocked), "\(err.text)")
    }
}

/// 100,000 connections, each leaving a hole at the start of its data and sending 1,400 bytes
/// behind it (140 MB held if nothing bounded it): the held bytes never pass the limit, the
/// overflows are counted, and every stream still ends.
@Suite struct StreamAttackTests {
    static func holes(connections: Int) -> String {
        let path = Paths.temporary("holes.pcap")
        let writer = try! PcapWriter(path: path, linkType: .ethernet)
        var f = [UInt8](repeating: 0, count: 54)
        f[12] = 8; f[14] = 0x45; f[22] = 64; f[23] = 6; f[46] = 0x50
        var data = f + [UInt8](repeating: UInt8(ascii: "x"), count: 1400)
        var time: Int64 = 0
        func put(_ frame: inout [UInt8], from client: Bool, _ i: Int, seq: UInt32, ack: UInt32, flags: UInt8) {
            let length = frame.count - 14
            frame[16] = UInt8(length >> 8); frame[17] = UInt8(length & 0xFF)
            let c: [UInt8] = [10, UInt8(i >> 16), UInt8((i >> 8) & 0xFF), UInt8(i & 0xFF)], s: [UInt8] = [192, 0, 2, 80]
            let (src, dst) = client ? (c, s) : (s, c)
            for k in 0..<4 { frame[26 + k] = src[k]; frame[30 + k] = dst[k] }
            let (sp, dp): (UInt16, UInt16) = client ? (40000, 80) : (80, 40000)
            frame[34] = UInt8(sp >> 8); frame[35] = UInt8(sp & 0xFF); frame[36] = UInt8(dp >> 8); frame[37] = UInt8(dp & 0xFF)
            for k in 0..<4 { frame[38 + k] = UInt8((seq >> (24 - 8 * UInt32(k))) & 0xFF); frame[42 + k] = UInt8((ack >> (24 - 8 * UInt32(k))) & 0xFF) }
            frame[47] = flags
            time += 1000
            writer.write(PacketMetadata(timestamp: Timestamp(seconds: 1_700_000_000, nanoseconds: time),
                                        capturedLength: frame.count, wireLength: frame.count), bytes: frame)
        }
        for i in 0..<connections {
            put(&f, from: true, i, seq: 1000, ack: 0, flags: 0x02)
            put(&f, from: false, i, seq: 5000, ack: 1001, flags: 0x12)
            put(&f, from: true, i, seq: 1001, ack: 5001, flags: 0x10)
            put(&data, from: true, i, seq: 1001 + 1000, ack: 5001, flags: 0x18)  // 1000 bytes never sent
        }
        try! writer.flush()
        return path
    }

    @Test func heldDataStaysWithinTheLimitUnderAttack() throws {
        let path = Self.holes(connections: 100_000)
        let limit = 16 << 20
        var ended = 0, gaps = 0
        struct Counter: StreamHandler {
            let onEnd: (Int) -> Void
            var gaps = 0
            mutating func receive(_ bytes: Span<UInt8>, from direction: Direction) {}
            mutating func gap(_ length: Int, in direction: Direction) { gaps += length }
            mutating func end(_ reason: StreamEnd) { onEnd(gaps) }
        }
        var streams = StreamDemultiplexer(limits: StreamLimits(perDirection: 1 << 20, total: limit))
        streams.register(port: 80) { _ in Counter(onEnd: { ended += 1; gaps += $0 }) }
        let clock = ContinuousClock()
        let started = clock.now
        var configuration = TrackerConfiguration()
        configuration.verifyChecksums = false
        var tracker = FlowTracker(configuration: configuration)
        try tracker.run(file: path, streams: &streams)
        tracker.finish { streams.event($0) }
        let s = streams.statistics
        print("holes: 100000 connections, 140 MB behind holes, limit 16 MiB: peak held \(s.peakHeldBytes / 1024) KiB, "
              + "\(s.overflows) overflows, \(clock.now - started)")
        #expect(s.streams == 100_000 && ended == 100_000)
        #expect(s.peakHeldBytes <= limit && s.overflows > 0)
        #expect(s.heldBytes == 0 && gaps == 100_000 * 1000, "every hole reported once the data is given up on")
    }
}
