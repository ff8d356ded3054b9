import Benchmark
import FlowTrack

#if canImport(Glibc)
import Glibc
#endif

/// The capture to measure: `FLOWTRACK_BENCH_PCAP`, else /tmp/bench-200k.pcap
/// (made by ../shared/bench/gen_bench_pcap.py; see Benchmarks/README.md).
let benchPath: String = {
    if let value = getenv("FLOWTRACK_BENCH_PCAP") { return String(cString: value) }
    return "/tmp/bench-200k.pcap"
}()

/// Every frame of the capture in one contiguous buffer, so decoding is measured without I/O.
struct Frames {
    var bytes: [UInt8] = []
    var offsets: [Int] = []
    var lengths: [Int] = []
    var wireLengths: [Int] = []
    var times: [Int64] = []
    var linkType = LinkType.ethernet

    init(path: String, limit: Int) {
        guard var file = try? PcapFile(path: path) else {
            fatalError("cannot open \(path): generate it with ../shared/bench/gen_bench_pcap.py (see Benchmarks/README.md)")
        }
        linkType = file.linkType
        while offsets.count < limit, let (meta, copy) = try? file.next({ meta, span in
            (meta, (0..<span.count).map { span[$0] })
        }) {
            offsets.append(bytes.count)
            lengths.append(copy.count)
            wireLengths.append(meta.wireLength)
            times.append(meta.timestamp.nanoseconds)
            bytes.append(contentsOf: copy)
        }
    }
}

/// The repository's Fixtures folder (tunnelled captures for the tunnel benchmarks).
let fixturesPath: String = {
    var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(4)  // Benchmarks/Benchmarks/FlowTrackBenchmarks/FlowTrackBenchmarks.swift
    return parts.joined(separator: "/") + "/Fixtures/"
}()

/// Tunnelled fixture frames, by file name.
nonisolated(unsafe) var tunnelFrames: [String: Frames] = [:]

/// 4096 frames (~3 MB): the decoder's own cost, headers in cache.
nonisolated(unsafe) var frames: Frames?
/// Every frame of the capture (150 MB for bench-200k): adds a cache miss per packet, as a real trace does.
nonisolated(unsafe) var allFrames: Frames?

func decodeLoop(_ f: Frames, _ benchmark: Benchmark, verifyChecksums: Bool = false) {
    let decoder = try! PacketDecoder(linkType: f.linkType, verifyChecksums: verifyChecksums)
    var packet = DecodedPacket()
    var ports = 0
    let n = f.offsets.count
    let all = f.bytes.span
    var i = 0
    for _ in benchmark.scaledIterations {
        let start = f.offsets[i]
        decoder.decode(all.extracting(start..<(start + f.lengths[i])), wireLength: f.wireLengths[i], into: &packet)
        ports &+= Int(packet.sourcePort)
        i += 1
        if i == n { i = 0 }
    }
    blackHole(ports)
}

/// Per-packet benchmarks over the whole capture in memory: scaled per packet (×10⁶), up to
/// 20 s or 5 runs.
func wholeCapture(_ metrics: [BenchmarkMetric]) -> Benchmark.Configuration {
    .init(metrics: metrics, scalingFactor: .mega, maxDuration: .seconds(20), maxIterations: 5,
          setup: { if allFrames == nil { allFrames = Frames(path: benchPath, limit: 2_000_000) } })
}

let benchmarks: @Sendable () -> Void = {
    // Tunnelled packets: decoding through VXLAN (Ethernet inside UDP) and GRE (IP inside IP),
    // plus reading the outer headers again for the tracker; nothing allocated.
    for name in ["tn-vxlan.pcap", "tn-gre.pcap"] {
        Benchmark(
            "Decode tunnelled packets, \(name) (per packet)",
            configuration: .init(
                metrics: [.wallClock, .mallocCountTotal, .throughput],
                scalingFactor: .kilo,
                maxDuration: .seconds(5),
                maxIterations: 20,
                setup: { if tunnelFrames[name] == nil { tunnelFrames[name] = Frames(path: fixturesPath + name, limit: 100) } })
        ) { benchmark in
            let f = tunnelFrames[name]!
            let decoder = try! PacketDecoder(linkType: f.linkType, verifyChecksums: true)
            var packet = DecodedPacket()
            var depth = 0
            let all = f.bytes.span
            var i = 0
            for _ in benchmark.scaledIterations {
                let frame = all.extracting(f.offsets[i]..<(f.offsets[i] + f.lengths[i]))
                decoder.decode(frame, wireLength: f.wireLengths[i], into: &packet)
                if packet.tunnelDepth > 0 { depth &+= decoder.tunnels(in: frame, wireLength: f.wireLengths[i], of: packet).count }
                i += 1
                if i == f.offsets.count { i = 0 }
            }
            blackHole(depth)
        }
    }

    // Decoding alone, one packet per scaled iteration: ns/packet and mallocs/packet.
    Benchmark(
        "Decode, 4096 frames in cache (ns and mallocs per packet)",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
            scalingFactor: .mega,
            maxDuration: .seconds(10),
            maxIterations: 20,
            setup: { if frames == nil { frames = Frames(path: benchPath, limit: 4096) } })
    ) { benchmark in
        decodeLoop(frames!, benchmark)
    }

    Benchmark(
        "Decode, whole capture in memory (ns and mallocs per packet)",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, .throughput],
            scalingFactor: .mega,
            maxDuration: .seconds(10),
            maxIterations: 10,
            setup: { if allFrames == nil { allFrames = Frames(path: benchPath, limit: 2_000_000) } })
    ) { benchmark in
        decodeLoop(allFrames!, benchmark)
    }

    // Decoding with checksum verification on.
    Benchmark(
        "Decode + verify checksums (per packet)",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, .throughput],
            scalingFactor: .kilo,
            maxDuration: .seconds(10),
            maxIterations: 20,
            setup: { if frames == nil { frames = Frames(path: benchPath, limit: 4096) } })
    ) { benchmark in
        decodeLoop(frames!, benchmark, verifyChecksums: true)
    }

    // Decode + connection tracking over the whole capture in memory (checksums verified),
    // without building event records: per packet, steady state allocates nothing
    // (allocation only when a flow is created, amortised).
    Benchmark(
        "Track, whole capture in memory (ns and mallocs per packet)",
        configuration: wholeCapture([.wallClock, .mallocCountTotal, .throughput, .peakMemoryResident])
    ) { benchmark in
        let f = allFrames!
        let decoder = try! PacketDecoder(linkType: f.linkType, verifyChecksums: true)
        var configuration = TrackerConfiguration()
        configuration.events = []  // the tracking path alone: no records are built
        var tracker = ConnectionTable(configuration: configuration)
        var packet = DecodedPacket()
        let n = f.offsets.count
        let all = f.bytes.span
        var i = 0
        var round: Int64 = 0
        var ended = 0
        for _ in benchmark.scaledIterations {
            let start = f.offsets[i]
            decoder.decode(all.extracting(start..<(start + f.lengths[i])), wireLength: f.wireLengths[i], into: &packet)
            // Later rounds replay the capture shifted in time, so flows keep ending and starting.
            tracker.process(packet, at: Timestamp(nanoseconds: f.times[i] + round * 3_600_000_000_000)) { _ in ended += 1 }
            i += 1
            if i == n { i = 0; round += 1 }
        }
        blackHole(ended)
    }

    // The ring between the reading thread and the tracking threads (ShardedTracker, the
    // pipeline of --threads): decoded packets of the whole capture handed over in batches of
    // 256 to 1 and 3 tracking threads, which track them (no event records). Per packet:
    // the hand-over plus the tracking, on the calling thread's clock; steady state allocates
    // nothing per packet.
    for threads in [2, 4] {
        Benchmark(
            "Ring: hand decoded packets to \(threads - 1) tracking thread\(threads == 2 ? "" : "s") (ns and mallocs per packet)",
            configuration: wholeCapture([.wallClock, .cpuTotal, .mallocCountTotal, .throughput])
        ) { benchmark in
            let f = allFrames!
            let decoder = try! PacketDecoder(linkType: f.linkType, verifyChecksums: true)
            var configuration = TrackerConfiguration()
            configuration.events = []
            configuration.threads = threads
            var packets: [DecodedPacket] = []
            packets.reserveCapacity(f.offsets.count)
            let all = f.bytes.span
            for i in f.offsets.indices {  // decoded beforehand: the ring and the tracking are measured
                var packet = DecodedPacket()
                decoder.decode(all.extracting(f.offsets[i]..<(f.offsets[i] + f.lengths[i])), wireLength: f.wireLengths[i], into: &packet)
                packets.append(packet)
            }
            let tracker = ShardedTracker(configuration: configuration) { _ in }
            let n = packets.count
            var i = 0
            var round: Int64 = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                tracker.process(packets[i], at: Timestamp(nanoseconds: f.times[i] + round * 3_600_000_000_000))
                i += 1
                if i == n { i = 0; round += 1 }
            }
            blackHole(tracker.finish().packets)
            benchmark.stopMeasurement()
        }
    }

    // Community ID v1 of 4096 distinct TCP flows (a fifth IPv6): one SHA-1 block and
    // the base64 text per flow, as every ended connection costs with --community-id.
    Benchmark(
        "Community ID v1 (per flow)",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput], scalingFactor: .kilo,
                             maxDuration: .seconds(10))
    ) { benchmark in
        var state: UInt64 = 0x853C_49E6_748F_EA9B
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 16 }
        let flows: [(Endpoint, Endpoint)] = (0..<4096).map { i in
            func address() -> IPAddress {
                i % 5 == 0 ? IPAddress(ipv6High: 0xFD00 << 48 | next(), low: next())
                    : IPAddress(ipv4: UInt32(truncatingIfNeeded: next()))
            }
            return (Endpoint(address(), UInt16(truncatingIfNeeded: next())), Endpoint(address(), 443))
        }
        var length = 0
        var i = 0
        for _ in benchmark.scaledIterations {
            length &+= CommunityID.v1(ipProtocol: 6, source: flows[i].0, destination: flows[i].1).utf8.count
            i = (i + 1) & 4095
        }
        blackHole(length)
    }

    // One Zeek conn.log row (with community_id) per connection ended by tracking the
    // capture, written into a reused buffer: the formatting cost of each row.
    Benchmark(
        "conn.log row, Zeek (per connection)",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput], scalingFactor: .kilo,
                             maxDuration: .seconds(10))
    ) { benchmark in
        var configuration = TrackerConfiguration()
        configuration.computeCommunityID = true
        var pipeline = FlowTracker(configuration: configuration)
        var connections: [Connection] = []
        try! pipeline.run(file: benchPath) { if case let .ended(c) = $0 { connections.append(c) } }
        pipeline.finish { if case let .ended(c) = $0 { connections.append(c) } }
        let writer = ZeekLogWriter(columns: ConnLogColumns(communityID: true))
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        var written = 0
        var i = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            writer.append(connections[i], to: &out)
            if out.count > (1 << 20) - 4096 { written &+= out.count; out.removeAll(keepingCapacity: true) }
            i += 1
            if i == connections.count { i = 0 }
        }
        benchmark.stopMeasurement()
        blackHole(written &+ out.count)
    }

    // libpcap read + decode of the whole file (I/O from the page cache included).
    Benchmark(
        "Read file + decode (whole capture)",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident], maxDuration: .seconds(20), maxIterations: 5)
    ) { _ in
        var file = try! PcapFile(path: benchPath)
        // Decoding alone, as measured before the decoder verified checksums by default.
        let decoder = try! PacketDecoder(linkType: file.linkType, verifyChecksums: false)
        var packet = DecodedPacket()
        var count = 0
        while (try? file.next({ meta, bytes in
            decoder.decode(bytes, wireLength: meta.wireLength, into: &packet)
        })) != nil { count += 1 }
        blackHole(count)
    }

    // The asynchronous sequence over the whole file, three ways of consuming it: a task off
    // the main actor, the main actor event by event, and the main actor a batch at a time
    // (the synchronous run is "Read file + decode" plus tracking).
    Benchmark(
        "Events, synchronous handler (whole capture)",
        configuration: .init(metrics: [.wallClock, .cpuTotal, .peakMemoryResident], maxDuration: .seconds(30), maxIterations: 5)
    ) { _ in
        var pipeline = FlowTracker()
        var count = 0
        try! pipeline.run(file: benchPath) { _ in count += 1 }
        pipeline.finish { _ in count += 1 }
        blackHole(count)
    }
    Benchmark(
        "Events, async, consumed by a task (whole capture)",
        configuration: .init(metrics: [.wallClock, .cpuTotal, .peakMemoryResident], maxDuration: .seconds(30), maxIterations: 5)
    ) { _ in
        var count = 0
        for try await _ in FlowTracker.events(files: [benchPath]) { count += 1 }
        blackHole(count)
    }
    Benchmark(
        "Events, async, consumed on the main actor (whole capture)",
        configuration: .init(metrics: [.wallClock, .cpuTotal, .peakMemoryResident], maxDuration: .seconds(30), maxIterations: 5)
    ) { _ in
        blackHole(try await mainActorEvents())
    }
    Benchmark(
        "Events, async batches on the main actor (whole capture)",
        configuration: .init(metrics: [.wallClock, .cpuTotal, .peakMemoryResident], maxDuration: .seconds(30), maxIterations: 5)
    ) { _ in
        blackHole(try await mainActorBatches())
    }
    // A consumer that sleeps 8 s before it reads: the reader waits on the bounded buffer,
    // so peak memory stays near the synchronous run's instead of holding every event.
    Benchmark(
        "Events, async, consumer asleep 8 s first (peak memory)",
        configuration: .init(metrics: [.peakMemoryResident], maxDuration: .seconds(60), maxIterations: 1)
    ) { _ in
        var count = 0
        var iterator = FlowTracker.events(files: [benchPath]).makeAsyncIterator()
        try await Task.sleep(for: .seconds(8))
        while let _ = try await iterator.next() { count += 1 }
        blackHole(count)
    }

    // TCP reassembly per segment (StreamDemultiplexer.segment): 1,000-byte segments of 64
    // connections, in order (delivered straight from the buffer), or each pair swapped (the
    // first held, copied, then delivered behind the second).
    for outOfOrder in [false, true] {
        Benchmark(
            "Stream reassembly, \(outOfOrder ? "out of order (pairs swapped)" : "in order") (per segment)",
            configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput], scalingFactor: .kilo,
                                 maxDuration: .seconds(10))
        ) { benchmark in
            struct Sink: StreamHandler {
                var bytes = 0
                mutating func receive(_ bytes: Span<UInt8>, from direction: Direction) { self.bytes &+= bytes.count }
            }
            var streams = StreamDemultiplexer()
            streams.register(port: 80) { _ in Sink() }
            let server = Endpoint(IPAddress("192.0.2.80")!, 80)
            let connections = (0..<64).map { k in
                StreamStart(connectionID: UInt64(k), uid: "C\(k)", originator: Endpoint(IPAddress("10.0.0.\(k + 1)")!, 40000),
                            responder: server, transport: .tcp)
            }
            let payload = [UInt8](repeating: 0x61, count: 1000)
            var next = [UInt32](repeating: 1, count: 64)
            for c in connections {
                streams.segment(payload.span.extracting(0..<0), sequence: 0, acknowledgment: 0, flags: .syn, from: c.originator, of: c)
            }
            var i = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let k = i & 63, c = connections[k]
                var sequence = next[k]
                if outOfOrder { sequence = (i >> 6) & 1 == 0 ? sequence &+ 1000 : sequence &- 1000 }
                streams.segment(payload.span, sequence: sequence, acknowledgment: 1, flags: [.ack, .psh], from: c.originator, of: c)
                next[k] = next[k] &+ 1000
                i += 1
            }
            benchmark.stopMeasurement()
            blackHole(streams.statistics.deliveredBytes)
        }
    }
}

@MainActor func mainActorEvents() async throws -> Int {
    var count = 0
    for try await _ in FlowTracker.events(files: [benchPath]) { count += 1 }
    return count
}

@MainActor func mainActorBatches() async throws -> Int {
    var count = 0
    for try await batch in FlowTracker.events(files: [benchPath]).batches { count += batch.count }
    return count
}
