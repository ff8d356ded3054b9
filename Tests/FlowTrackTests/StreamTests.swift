import FlowTrack
import Foundation
import Testing

/// TCP streams and UDP datagrams by server port: the bytes each direction delivers, in
/// order, compared with what Fixtures/make_streams.py sent and with `tshark -z follow,tcp,raw`.
@Suite struct StreamTests {
    /// What a connection's handler saw, shared with the test.
    final class Recording {
        var original: [UInt8] = []
        var reply: [UInt8] = []
        var gaps: [(Direction, Int)] = []
        var ends: [StreamEnd] = []
        var start: StreamStart?
        /// Both directions as tshark's follow shows them: chunks in arrival order, a gap as
        /// tshark's own "[N bytes missing in capture file]" text and its NUL byte.
        var chunks: [(Direction, [UInt8])] = []
    }

    struct Recorder: StreamHandler {
        let recording: Recording
        mutating func receive(_ bytes: Span<UInt8>, from direction: Direction) {
            var copy: [UInt8] = []
            for i in bytes.indices { copy.append(bytes[i]) }
            if direction == .original { recording.original += copy } else { recording.reply += copy }
            recording.chunks.append((direction, copy))
        }
        mutating func gap(_ length: Int, in direction: Direction) {
            recording.gaps.append((direction, length))
            recording.chunks.append((direction, Array("[\(length) bytes missing in capture file]".utf8) + [0]))
        }
        mutating func end(_ reason: StreamEnd) { recording.ends.append(reason) }
    }

    /// Runs a fixture with a recorder on `port`; the recordings by connection uid.
    static func record(_ name: String, port: UInt16 = 80, limits: StreamLimits = StreamLimits(),
                       overflow: StreamLimits.OverflowPolicy = .skipAhead)
        throws -> (recordings: [Recording], connections: [Connection], statistics: StreamStatistics) {
        var recordings: [Recording] = []
        var streams = StreamDemultiplexer(limits: limits)
        streams.register(port: port, overflow: overflow) { start in
            let r = Recording()
            r.start = start
            recordings.append(r)
            return Recorder(recording: r)
        }
        var tracker = FlowTracker()
        var connections: [Connection] = []
        try tracker.run(file: Paths.fixture(name), streams: &streams) { if case let .ended(c) = $0 { connections.append(c) } }
        tracker.finish { event in
            streams.event(event)
            if case let .ended(c) = event { connections.append(c) }
        }
        return (recordings, connections, streams.statistics)
    }

    /// tshark's reassembled stream 0 as (direction, bytes) chunks, in its order.
    static func tsharkFollow(_ name: String) throws -> [(Direction, [UInt8])] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tshark", "-r", Paths.fixture(name), "-q", "-z", "follow,tcp,raw,0"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var chunks: [(Direction, [UInt8])] = []
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        for line in lines.drop(while: { !$0.hasPrefix("Node 1:") }).dropFirst() where !line.hasPrefix("====") {
            let reply = line.hasPrefix("\t")
            let hex = line.trimmingCharacters(in: .whitespaces)
            var bytes: [UInt8] = []
            var i = hex.startIndex
            while i < hex.endIndex, let j = hex.index(i, offsetBy: 2, limitedBy: hex.endIndex), let b = UInt8(hex[i..<j], radix: 16) {
                bytes.append(b)
                i = j
            }
            chunks.append((reply ? .reply : .original, bytes))
        }
        return chunks
    }

    /// Consecutive chunks of one direction joined (tshark and FlowTrack cut them differently).
    static func merged(_ chunks: [(Direction, [UInt8])]) -> [String] {
        var out: [(Direction, [UInt8])] = []
        for (d, b) in chunks {
            if let last = out.last, last.0 == d { out[out.count - 1].1 += b } else { out.append((d, b)) }
        }
        return out.map { "\($0.0): \(String(decoding: $0.1, as: UTF8.self))" }
    }

    static let request = Array("GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: flowtrack-test\r\n\r\n".utf8)
    static let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello, world".utf8)

    @Test func outOfOrderSegmentsAndWrappingSequenceNumbers() throws {
        let (recordings, connections, statistics) = try Self.record("st-reorder.pcap")
        let r = try #require(recordings.first)
        #expect(recordings.count == 1 && r.original == Self.request && r.reply == Self.answer)
        #expect(r.gaps.isEmpty && r.ends == [.closed])
        #expect(r.start?.uid == connections.first?.uid && r.start?.responder.port == 80)
        // The second segment (30 bytes) arrived ahead of the first: copied once, then delivered.
        #expect(statistics.heldThenDeliveredBytes == 30 && statistics.heldBytes == 0)
        #expect(Self.merged(r.chunks) == Self.merged(try Self.tsharkFollow("st-reorder.pcap")))
    }

    @Test func holesOverlapsAndDataAfterTheClose() throws {
        let (recordings, connections, statistics) = try Self.record("st-gap.pcap")
        let r = try #require(recordings.first)
        // The first 100 bytes stay "A" (first data wins), 100 never captured, "C" kept over "D".
        #expect(r.original == Array(repeating: UInt8(ascii: "A"), count: 100) + Array(repeating: UInt8(ascii: "C"), count: 100))
        #expect(r.gaps.map(\.1) == [100] && r.gaps.first?.0 == .original)
        #expect(r.reply == Array("ok".utf8))
        #expect(statistics.inconsistentOverlaps == 1 && statistics.dataAfterClose == 1)
        // The gaps add up to Zeek's missed_bytes, computed by the tracker on its own.
        let c = try #require(connections.first)
        #expect(c.missedBytes == 100 && statistics.gapBytes == 100)
        let tshark = Self.merged(try Self.tsharkFollow("st-gap.pcap"))
        #expect(Self.merged(r.chunks) == tshark, "\(Self.merged(r.chunks)) vs \(tshark)")
    }

    @Test(arguments: ["tn-vxlan.pcap", "tn-gre.pcap", "tn-teredo.pcap", "ll-radiotap.pcap"])
    func streamsThroughTunnelsAndLinkLayers(_ name: String) throws {
        // helpers/exchange.py: 10 "q" up and 20 "r" down on TCP 40000 -> 80.
        let (recordings, _, _) = try Self.record(name)
        let r = try #require(recordings.first)
        #expect(r.original == Array(repeating: UInt8(ascii: "q"), count: 10))
        #expect(r.reply == Array(repeating: UInt8(ascii: "r"), count: 20))
        #expect(r.ends == [.closed], "FIN both ways ends the stream before the connection leaves the table")
    }

    @Test func overflowSkipsAheadOrDropsTheStream() throws {
        // 100 bytes wait behind the hole: with a 50-byte limit they cannot be held.
        let small = StreamLimits(perDirection: 50, total: 1 << 20)
        let (skipped, _, skipStatistics) = try Self.record("st-gap.pcap", limits: small, overflow: .skipAhead)
        let s = try #require(skipped.first)
        #expect(s.original.count == 200 && s.gaps.map(\.1) == [100] && skipStatistics.overflows >= 1)
        #expect(skipStatistics.peakHeldBytes <= 50)
        let (dropped, _, dropStatistics) = try Self.record("st-gap.pcap", limits: small, overflow: .dropStream)
        let d = try #require(dropped.first)
        #expect(d.original.count == 100 && d.ends == [.bufferOverflow] && dropStatistics.overflows == 1)
    }

    @Test func nothingIsHeldForPortsNobodyListensTo() throws {
        let (recordings, connections, statistics) = try Self.record("st-reorder.pcap", port: 8080)
        #expect(recordings.isEmpty && connections.count == 1)
        #expect(statistics.streams == 0 && statistics.peakHeldBytes == 0 && statistics.deliveredBytes == 0)
    }

    @Test func dnsQueryNamesFromDatagrams() throws {
        var names: [String] = []
        var directions: [Direction] = []
        var streams = StreamDemultiplexer()
        streams.registerDatagrams(port: 53) { _, direction, datagram in
            directions.append(direction)
            // The question's name: labels after the 12-byte header.
            var i = 12, labels: [String] = []
            while i < datagram.count, datagram[i] != 0, i + Int(datagram[i]) < datagram.count {
                let length = Int(datagram[i])
                var label = ""
                for j in (i + 1)...(i + length) { label.append(Character(UnicodeScalar(datagram[j]))) }
                labels.append(label)
                i += length + 1
            }
            names.append(labels.joined(separator: "."))
        }
        var tracker = FlowTracker()
        try tracker.run(file: Paths.fixture("st-dns.pcap"), streams: &streams)
        #expect(names == ["www.example.com", "www.example.com"] && directions == [.original, .reply])
        #expect(streams.statistics.datagrams == 2)
    }
}
