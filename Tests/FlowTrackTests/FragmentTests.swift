import FlowTrack
import Foundation
import Testing

/// IP fragment reassembly (Fixtures/make_fragments.py): rows written from the datagrams the
/// script builds, and the reassembler's bounds under hostile fragment streams.
@Suite struct FragmentTests {
    /// Rows and fragment statistics of a fixture.
    func run(_ name: String, reassemble: Bool = true) throws -> (rows: [Connection], fragments: IPReassembler.Statistics, tracker: TrackerStatistics) {
        var configuration = TrackerConfiguration()
        configuration.uidSeed = 7
        configuration.reassembleFragments = reassemble
        var pipeline = FlowTracker(configuration: configuration)
        var rows: [Connection] = []
        try pipeline.run(file: Paths.fixture(name)) { if case let .ended(c) = $0 { rows.append(c) } }
        pipeline.finish { if case let .ended(c) = $0 { rows.append(c) } }
        return (rows.sorted { $0.startTime < $1.startTime }, pipeline.statistics.fragments, pipeline.statistics.connections)
    }

    @Test func udpDatagramInThreeFragmentsLastFirst() throws {
        let (rows, f, _) = try run("fr-udp-v4.pcap")
        #expect(rows.count == 1 && f.fragments == 3 && f.reassembled == 1)
        let c = try #require(rows.first)
        #expect(c.connState == .sf && c.history == "Dd")
        // The datagram counts once, with its whole length: 3000 bytes, IP total 20 + 8 + 3000.
        #expect(c.originatorCounters.packets == 1 && c.originatorCounters.bytes == 3000 && c.originatorCounters.ipBytes == 3028)
        #expect(c.responderCounters.packets == 1 && c.responderCounters.bytes == 30 && c.responderCounters.ipBytes == 58)
        // Without reassembly the first fragment stands for the datagram (its UDP length), the others are not attributed.
        let (plain, _, _) = try run("fr-udp-v4.pcap", reassemble: false)
        #expect(plain.count == 1 && plain[0].originatorCounters.bytes == 3000)
    }

    @Test func ipv6DatagramInFragments() throws {
        let (rows, f, _) = try run("fr-udp-v6.pcap")
        #expect(rows.count == 1 && f.reassembled == 1)
        #expect(rows[0].originatorCounters.bytes == 2000 && rows[0].originatorCounters.ipBytes == 40 + 8 + 2000)
        #expect(rows[0].history == "D" && rows[0].responder.port == 9999)
    }

    @Test func tcpHeaderSplitAcrossTinyFragments() throws {
        let (rows, f, _) = try run("fr-tcp-tiny.pcap")
        #expect(f.reassembled == 1 && f.fragments > 10)
        let c = try #require(rows.first)
        #expect(rows.count == 1 && c.connState == .sf && c.history == "ShADaFf")
        #expect(c.originatorCounters.bytes == 100 && c.originatorCounters.packets == 5 && c.originatorCounters.ipBytes == 300)
        #expect(c.responderCounters.packets == 3)
    }

    @Test func overlapKeepsTheFirstBytesAndCountsTheDifference() throws {
        let (rows, f, _) = try run("fr-overlap.pcap")
        #expect(f.overlapsDifferent == 1 && f.reassembled == 1)
        // The first-seen bytes make the datagram whose UDP checksum is right: no C.
        #expect(rows.count == 1 && rows[0].history == "D" && rows[0].originatorCounters.bytes == 24)
    }

    @Test func incompleteDatagramTimesOut() throws {
        let (rows, f, _) = try run("fr-incomplete.pcap")
        #expect(f.timedOut == 1 && f.reassembled == 0)
        #expect(rows.map(\.originator.port) == [40006])
    }

    @Test func tunnelInsideFragments() throws {
        let (rows, f, t) = try run("fr-gre.pcap")
        #expect(f.reassembled == 1 && t.tunnelled == 1)
        let c = try #require(rows.first)
        #expect(rows.count == 1 && c.tunnelParents.count == 1 && c.originatorCounters.bytes == 1500 && c.originatorCounters.ipBytes == 1528)
    }

    /// An IPv4 fragment as a raw-IP frame: `payload` bytes at fragment offset `offset` (bytes).
    static func fragment(id: UInt16, offset: Int, more: Bool, payload: [UInt8], source: UInt32 = 0x0A02_0001) -> [UInt8] {
        let total = 20 + payload.count
        var h: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), UInt8(id >> 8), UInt8(id & 0xFF),
                          UInt8((more ? 0x20 : 0) | (offset / 8) >> 8), UInt8((offset / 8) & 0xFF), 64, 17, 0, 0]
        h += [UInt8(source >> 24), UInt8(source >> 16 & 0xFF), UInt8(source >> 8 & 0xFF), UInt8(source & 0xFF), 10, 2, 0, 2]
        return h + payload
    }

    static func add(_ r: inout IPReassembler, _ frame: [UInt8], time: Int64) -> [UInt8]? {
        let decoder = try! PacketDecoder(linkType: LinkType(rawValue: 101), verifyChecksums: false)
        var p = DecodedPacket()
        decoder.decode(frame.span, wireLength: frame.count, into: &p)
        return r.add(frame.span, p, time: time)
    }

    @Test func manyIncompleteDatagramsStayWithinTheBufferBound() {
        var limits = IPReassembler.Limits()
        limits.maxBufferedBytes = 1 << 20
        var r = IPReassembler(limits: limits)
        // 20 000 datagrams whose first 1000 bytes come and nothing else: 20 MB if all were kept.
        for i in 0..<20_000 {
            _ = Self.add(&r, Self.fragment(id: UInt16(i & 0xFFFF), offset: 0, more: true, payload: Array(repeating: 1, count: 1000),
                                           source: 0x0A00_0000 + UInt32(i)), time: Int64(i) * 1000)
        }
        #expect(r.pending * 1020 <= limits.maxBufferedBytes + 1020)
        #expect(r.statistics.evicted >= 20_000 - r.pending - 1 && r.statistics.evicted > 18_000)
    }

    @Test func teardropAndEndlessFragmentsAreBounded() {
        var r = IPReassembler()
        // Teardrop: the second fragment lies inside the first and claims the datagram ends there.
        #expect(Self.add(&r, Self.fragment(id: 1, offset: 0, more: true, payload: Array(repeating: 7, count: 24)), time: 0) == nil)
        let whole = Self.add(&r, Self.fragment(id: 1, offset: 8, more: false, payload: Array(repeating: 7, count: 8)), time: 1)
        #expect(whole?.count == 20 + 16)  // the datagram ends where its last fragment says
        // Endless fragments of one datagram: dropped past the limit, and counted.
        var limits = IPReassembler.Limits()
        limits.maxFragments = 4
        var few = IPReassembler(limits: limits)
        for k in 0..<10 { _ = Self.add(&few, Self.fragment(id: 2, offset: 8 * k, more: true, payload: Array(repeating: 1, count: 8)), time: 0) }
        #expect(few.statistics.tooManyFragments >= 1 && few.pending <= 1)
        // Beyond 65 535 bytes: dropped and counted.
        #expect(Self.add(&few, Self.fragment(id: 3, offset: 65_528, more: false, payload: Array(repeating: 1, count: 16)), time: 0) == nil)
        #expect(few.statistics.oversized == 1)
    }

    @Test func fragmentsInsideATunnelKeepTheirTunnel() throws {
        let (rows, f, t) = try run("fr-in-gre.pcap")
        #expect(f.reassembled == 1 && t.tunnelled == 1)
        let c = try #require(rows.first)
        #expect(rows.count == 1 && c.tunnelParents.count == 1 && c.tunnel == .gre && c.originatorCounters.bytes == 2000)
    }
}
