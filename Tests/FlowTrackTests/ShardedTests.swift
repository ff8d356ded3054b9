@testable import FlowTrack
import Foundation
import Testing

/// Tracking on several threads (`TrackerConfiguration.threads`): the same events, in the
/// same order, with the same uids, as one thread, on every fixture (tunnels, fragments,
/// A-MSDU subframes, VLANs, Zeek's timer rules, time going backwards…); stops that end every
/// connection once; statistics that add up. Run under ThreadSanitizer in CI.
@Suite struct ShardedTests {
    /// Every capture in Fixtures/ but one: tv-untunnelled.pcap sends one inner UDP flow
    /// through seven GRE tunnels (different outer address pairs) and untunnelled in
    /// between. Packets are shared out by the outermost address pair, so that a tunnel and
    /// everything it carries share a table; an inner connection that moves between tunnels
    /// is then tracked in several tables, as several connections: the one case with several
    /// threads that cannot equal one thread (see `theOneExceptionIsAConnectionMovingBetweenTunnels`).
    static let fixtures: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Paths.repository + "/Fixtures")) ?? []
        return names.filter { ($0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng")) && $0 != "tv-untunnelled.pcap" }.sorted()
    }()

    /// The events of a run over `files`, described with every field of the connection.
    static func events(_ files: [String], threads: Int, finishing: Bool = true,
                       configure: (inout TrackerConfiguration) -> Void = { _ in }) -> (events: [String], statistics: RunStatistics) {
        var configuration = TrackerConfiguration()
        configuration.events = .all
        configuration.threads = threads
        configure(&configuration)
        var pipeline = FlowTracker(configuration: configuration)
        var seen: [String] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let record = { (event: ConnectionEvent) in
            switch event {
            case let .started(c): seen.append("started \(c.uid) \(c)")
            case let .stateChanged(c): seen.append("changed \(c.uid) \(c.connState) \(c.history) \(String(describing: c.tcpState))")
            case let .ended(c):
                // Every field a row shows (Codable under the JSON output's keys).
                let json = (try? encoder.encode(c)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
                seen.append("ended \(json)")
            }
        }
        pipeline.run(files: files, failure: { path, error in seen.append("failed \(path) \(error)") }, record)
        if finishing { pipeline.finish(record) }
        return (seen, pipeline.statistics)
    }

    @Test func everyFixtureGivesTheOneThreadEvents() {
        #expect(Self.fixtures.count > 100)
        var compared = 0
        for name in Self.fixtures {
            let path = [Paths.fixture(name)]
            let one = Self.events(path, threads: 1)
            for threads in [2, 3, 4] {  // 1, 2 and 3 tracking threads
                let many = Self.events(path, threads: threads)
                #expect(many.events == one.events, "\(name) with \(threads) threads: \(Self.firstDifference(many.events, one.events))")
                #expect(many.statistics.connections.connections == one.statistics.connections.connections, "\(name)")
                #expect(many.statistics.connections.packets == one.statistics.connections.packets, "\(name)")
                #expect(many.statistics.connections.tracked == one.statistics.connections.tracked, "\(name)")
                #expect(many.statistics.connections.ended == one.statistics.connections.ended, "\(name)")
                compared += 1
            }
        }
        #expect(compared == 3 * Self.fixtures.count)
    }

    /// Where two event lists part, for the failure message.
    static func firstDifference(_ a: [String], _ b: [String]) -> String {
        guard let i = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset else {
            return "\(a.count) events against \(b.count)"
        }
        return "event \(i): \(a[i]) ≠ \(b[i])"
    }

    @Test func severalFilesAndOptionsGiveTheOneThreadEvents() {
        // Two files merged by time; the conntrack profile; VLAN-aware keys; checksums ignored.
        let split = [Paths.fixture("zr-split-b.pcap"), Paths.fixture("zr-split-a.pcap")]
        #expect(Self.events(split, threads: 2).events == Self.events(split, threads: 1).events)
        let options: [(inout TrackerConfiguration) -> Void] = [
            { $0.profile = .conntrack },
            { $0.vlanInKey = true; $0.recordVLANs = true },
            { $0.verifyChecksums = false },
            { $0.reassembleFragments = false },
        ]
        for (i, option) in options.enumerated() {
            for name in ["vlan.pcap", "conn-checksum.pcap", "fragments.pcap", "many-flows.pcap", "tn-vxlan.pcap"] {
                let path = [Paths.fixture(name)]
                #expect(Self.events(path, threads: 2, configure: option).events == Self.events(path, threads: 1, configure: option).events,
                        "option \(i) on \(name)")
            }
        }
    }

    @Test func finishingInTheThreadsEqualsFinishAfterwards() {
        let path = [Paths.fixture("many-flows.pcap")]
        let afterwards = Self.events(path, threads: 2)
        var configuration = TrackerConfiguration()
        configuration.events = .all
        configuration.threads = 2
        var pipeline = FlowTracker(configuration: configuration)
        var uids: [String] = []
        pipeline.run(files: path, finishing: true, failure: { _, _ in }, transform: { event -> String? in
            guard case let .ended(c) = event else { return nil }
            return c.uid
        }) { uids.append($0) }
        let expected = afterwards.events.filter { $0.hasPrefix("ended") }.compactMap { line -> String? in
            guard let range = line.range(of: "\"uid\":\"") else { return nil }
            return String(line[range.upperBound...].prefix { $0 != "\"" })
        }
        #expect(uids.count == 3000)
        #expect(uids == expected)
    }

    @Test func aStopEndsEveryConnectionOnce() {
        var configuration = TrackerConfiguration()
        configuration.events = [.started, .ended]
        configuration.threads = 2
        var pipeline = FlowTracker(configuration: configuration)
        let stop = CaptureStop()
        var started = Set<String>(), ended: [String] = []
        let record = { (event: ConnectionEvent) in
            switch event {
            case let .started(c):
                started.insert(c.uid)
                if started.count == 100 { stop.stop() }
            case let .ended(c): ended.append(c.uid)
            case .stateChanged: break
            }
        }
        try? pipeline.run(file: Paths.fixture("many-flows.pcap"), stop: stop, record)
        let beforeFinish = pipeline.statistics.packets.packets
        pipeline.finish(record)
        // The reading stopped within the batches in flight (8 × 512) and a check interval
        // (1024 packets) of the request, before the end.
        #expect(beforeFinish < 6000)
        #expect(!started.isEmpty && Set(ended) == started)
        #expect(ended.count == Set(ended).count, "no connection ends twice")
        #expect(pipeline.statistics.connections.connections == started.count)
    }

    @Test func aDamagedFileInTheListIsReportedAndTheRestRead() {
        let damaged = Paths.fixture("cut-mid-record.pcap")
        let files = [Paths.fixture("many-flows.pcap"), damaged]
        let one = Self.events(files, threads: 1), two = Self.events(files, threads: 2)
        #expect(two.events == one.events)
        #expect(two.events.contains { $0.hasPrefix("failed \(damaged)") })
    }

    @Test func theOneExceptionIsAConnectionMovingBetweenTunnels() {
        // One thread: the two inner flows (UDP 40003 and 40004) and the GRE tunnels' parents.
        let path = [Paths.fixture("tv-untunnelled.pcap")]
        let one = Self.events(path, threads: 1).statistics.connections.connections
        let two = Self.events(path, threads: 2).statistics.connections.connections
        #expect(one == 2)
        // With shards, an inner flow is one connection per table its tunnels hash to.
        #expect(two >= one)
    }

    @Test func theShardOfAPacketIsTheShardOfItsReply() {
        var p = DecodedPacket()
        p.ipVersion = 4
        p.ipProtocol = IPProtocol(rawValue: 6)
        var shards = Set<UInt8>()
        for i in 0..<64 {
            p.source = IPAddress(ipv4: 0x0A00_0001 + UInt32(i)); p.destination = IPAddress(ipv4: 0xC000_0250)
            p.sourcePort = UInt16(40000 + i); p.destinationPort = 443
            let there = PacketDispatcher.shard(of: p, tunnels: nil, count: 4)
            swap(&p.source, &p.destination); swap(&p.sourcePort, &p.destinationPort)
            #expect(PacketDispatcher.shard(of: p, tunnels: nil, count: 4) == there)
            shards.insert(there)
        }
        #expect(shards.count == 4, "64 connections use every shard")
    }
}

