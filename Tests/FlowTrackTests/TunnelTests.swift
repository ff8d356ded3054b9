import FlowTrack
import Foundation
import Testing

/// Tunnels (Fixtures/make_tunnels.py, Docs/Encapsulation.md §2-3): every capture carries the
/// exchange of Fixtures/helpers/exchange.py inside a tunnel. The inner connections are
/// tracked by their own 5-tuple with `tunnel_parents`; a UDP tunnel's carrying flow keeps its
/// own row, with the tunnel's service once confirmed; IP-level tunnels have no row but a uid.
@Suite struct TunnelTests {
    /// The outer rows Zeek writes for each capture (UDP tunnels only), written from the
    /// fixture script: "orig -> resp packets service".
    static let outerRows: [String: [String]] = [
        "tn-ipip-44.pcap": [], "tn-ipip-46.pcap": [], "tn-ipip-64.pcap": [], "tn-ipip-66.pcap": [],
        "tn-gre.pcap": [], "tn-gre-csum-key-seq.pcap": [], "tn-gre-teb.pcap": [], "tn-pptp.pcap": [],
        "tn-erspan1.pcap": [], "tn-erspan2.pcap": [], "tn-erspan3.pcap": [], "tn-erspan3-platform.pcap": [],
        // VXLAN: each direction in its own outer flow (both to port 4789).
        "tn-vxlan.pcap": ["192.0.2.1:50000 -> 192.0.2.2:4789 6 vxlan", "192.0.2.2:50001 -> 192.0.2.1:4789 4 vxlan"],
        "tn-geneve.pcap": ["192.0.2.1:50000 -> 192.0.2.2:6081 10 geneve"],
        "tn-gtpu.pcap": ["192.0.2.1:2152 -> 192.0.2.2:2152 10 gtpv1"],
        "tn-teredo.pcap": ["192.0.2.1:50000 -> 192.0.2.2:3544 10 teredo"],
        "tn-ayiya.pcap": ["192.0.2.1:50000 -> 192.0.2.2:5072 10 ayiya"],
        // GRE in UDP: a row for the UDP flow, without a service (Zeek never confirms it); the
        // inner rows' parent is the IP-level GRE tunnel.
        "tn-gre-udp.pcap": ["192.0.2.1:50000 -> 192.0.2.2:4754 10 -"],
        // CAPWAP data (beyond Zeek, as tshark decodes it): 802.11 or Ethernet inside.
        "tn-capwap-80211.pcap": ["192.0.2.1:50000 -> 192.0.2.2:5247 10 capwap"],
        "tn-capwap-ether.pcap": ["192.0.2.1:50000 -> 192.0.2.2:5247 10 capwap"],
    ]

    /// Captures tshark 4.0 decodes differently, and why.
    static let tsharkGaps: [String: String] = [
        "tn-capwap-80211.pcap": "tshark swaps the 802.11 frame control of CAPWAP data by default (Cisco's byte order), so it finds no inner frames",
    ]

    static var files: [String] { outerRows.keys.sorted() }

    static func describe(_ c: Connection) -> String {
        "\(c.originator) -> \(c.responder) \(c.originatorCounters.packets + c.responderCounters.packets) \(c.service ?? "-")"
    }

    @Test func everyTunnelHasAFixture() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Paths.fixture("")).filter { $0.hasPrefix("tn-") && $0.hasSuffix(".pcap") }
        #expect(Set(names) == Set(Self.files))
    }

    @Test(arguments: files)
    func innerAndOuterRowsAreZeeks(_ file: String) throws {
        let (rows, statistics) = try track([Paths.fixture(file)])
        #expect(statistics.tunnelled == 10, "\(file): every frame came through the tunnel")
        let inner = rows.filter { [40000, 40001].contains($0.originator.port) }
        let outer = rows.filter { ![40000, 40001].contains($0.originator.port) }
        #expect(outer.map(Self.describe).sorted() == Self.outerRows[file]!.sorted(), "\(file)")
        try #require(inner.count == 2, "\(file): \(rows.map(Self.describe))")
        let tcp = try #require(inner.first { $0.transport == .tcp }), udp = try #require(inner.first { $0.transport == .udp })
        #expect(tcp.connState == .sf && tcp.originatorCounters.bytes == 10 && tcp.responderCounters.bytes == 20)
        #expect(tcp.originatorCounters.packets == 5 && tcp.responderCounters.packets == 3 && udp.history == "Dd")
        #expect(!tcp.tunnelParents.isEmpty && tcp.tunnelParents == udp.tunnelParents)
        if file == "tn-vxlan.pcap" {
            // Requests and replies in two outer flows: both uids, and after Zeek's five
            // changes of tunnel the TCP connection records X.
            #expect(tcp.tunnelParents == outer.sorted { $0.startTime < $1.startTime }.map(\.uid))
            #expect(tcp.history == "ShADdFfX")
        } else {
            #expect(tcp.history == "ShADdFf" && tcp.tunnelParents.count == 1)
            if outer.isEmpty || file == "tn-gre-udp.pcap" {
                // An IP-level tunnel: its own uid, no row.
                #expect(!rows.map(\.uid).contains(tcp.tunnelParents[0]))
            } else {
                #expect(tcp.tunnelParents == [outer[0].uid])
            }
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark"), "needs tshark"), arguments: files)
    func agreesWithTsharksConversations(_ file: String) throws {
        let rows = try track([Paths.fixture(file)]).rows
        let ours = Set(rows.map { ["\($0.originator.address):\($0.originator.port)", "\($0.responder.address):\($0.responder.port)"].sorted().joined(separator: " ")
            + " \($0.originatorCounters.packets + $0.responderCounters.packets)" })
        let theirs = try LinkLayerTests.tsharkConversations(Paths.fixture(file))
        if let gap = Self.tsharkGaps[file] {
            #expect(theirs != ours && theirs.isSubset(of: ours), "\(file): \(gap)")
        } else {
            #expect(theirs == ours, "\(file)")
        }
    }

    @Test func tunnelParentsInEveryFormat() throws {
        let rows = try track([Paths.fixture("tn-vxlan.pcap")]).rows
        let tcp = try #require(rows.first { $0.transport == .tcp && $0.responder.port == 80 })
        let zeek = ZeekLogWriter(columns: ConnLogColumns()).row(tcp).split(separator: "\t", omittingEmptySubsequences: false)
        #expect(zeek[20] == tcp.tunnelParents.joined(separator: ","))
        let json = try JSONSerialization.jsonObject(with: Data(JSONLinesWriter(columns: ConnLogColumns()).row(tcp).utf8)) as! [String: Any]
        #expect(json["tunnel_parents"] as? [String] == tcp.tunnelParents)
        let csv = CSVWriter(columns: ConnLogColumns()).row(tcp)
        #expect(csv.contains("\"" + tcp.tunnelParents.joined(separator: ",") + "\""))
    }

    /// tunnel.log lines of a capture.
    func tunnelLog(_ name: String) throws -> (records: [TunnelRecord], rows: [Connection]) {
        var configuration = TrackerConfiguration()
        configuration.uidSeed = 42
        configuration.tunnelLog = true
        var pipeline = FlowTracker(configuration: configuration)
        var rows: [Connection] = []
        try pipeline.run(file: Paths.fixture(name)) { if case let .ended(c) = $0 { rows.append(c) } }
        pipeline.finish { if case let .ended(c) = $0 { rows.append(c) } }
        return (pipeline.takeTunnelRecords(), rows)
    }

    @Test func tunnelLogOfUDPTunnels() throws {
        // VXLAN in two outer flows: each is discovered when an inner connection first uses it
        // (the second with the first reply: a change of tunnels), and closed when it ends.
        let (records, rows) = try tunnelLog("tn-vxlan.pcap")
        let outer = rows.filter { $0.responder.port == 4789 }.sorted { $0.startTime < $1.startTime }
        #expect(records.map(\.action) == [.discover, .discover, .close, .close])
        #expect(records.filter { $0.action == .discover }.map(\.uid) == outer.map(\.uid))
        #expect(Set(records.filter { $0.action == .close }.map(\.uid)) == Set(outer.map(\.uid)))
        #expect(records.allSatisfy { $0.kind == .vxlan })
        #expect(records[0].originator == outer[0].originator && records[0].responder == outer[0].responder)
        #expect(records[1].timestamp.nanoseconds - records[0].timestamp.nanoseconds == 100_000_000)
    }

    @Test func tunnelLogOfIPTunnels() throws {
        // GRE: one DISCOVER with the uid inner rows carry, port 0; IP tunnels never CLOSE.
        let (records, rows) = try tunnelLog("tn-gre.pcap")
        #expect(records.count == 1 && records[0].action == .discover && records[0].kind == .gre)
        #expect(records[0].originator == Endpoint(IPAddress("192.0.2.1")!, 0) && records[0].responder == Endpoint(IPAddress("192.0.2.2")!, 0))
        #expect(rows.allSatisfy { $0.tunnelParents == [records[0].uid] })
        // Idle for over an hour: EXPIRE at the sweep that finds it (the next packet, 3700 s later).
        let (expiring, _) = try tunnelLog("tl-expire.pcap")
        #expect(expiring.map(\.action) == [.discover, .expire])
        #expect(expiring[1].timestamp.nanoseconds - expiring[0].timestamp.nanoseconds == 3_700_000_000_000)
        #expect(expiring[0].uid == expiring[1].uid)
    }

    @Test func aViolationStopsDecapsulation() throws {
        // The first VXLAN header lacks the I flag: Zeek's analyzer records a violation and
        // decapsulates nothing more of that connection, valid headers or not.
        let (rows, statistics) = try track([Paths.fixture("tv-vxlan-violation.pcap")])
        #expect(rows.count == 1 && rows[0].responder.port == 4789 && rows[0].service == nil)
        #expect(statistics.tunnelled == 0 && rows[0].originatorCounters.packets == 10)
    }

    @Test func decapsulationFollowsTheResponderPort() throws {
        // Every outer packet comes from port 4789: Zeek's likely server ports flip the flow so
        // that 4789 is the responder's and it decapsulates; without them it does not.
        let flipped = try track([Paths.fixture("tv-vxlan-reverse.pcap")]).rows
        #expect(flipped.count == 3 && flipped.contains { $0.responder.port == 4789 && $0.service == "vxlan" && $0.history == "^d" })
        let plain = try track([Paths.fixture("tv-vxlan-reverse.pcap")]) { $0.likelyServerPorts = .empty }.rows
        #expect(plain.count == 1 && plain[0].originator.port == 4789 && plain[0].service == nil)
    }

    @Test func untunnelledPacketsDoNotCountAsChanges() throws {
        // Zeek's Connection::CheckEncapsulation: going to or from no tunnel raises
        // tunnel_changed without counting against Tunnel::max_changes_per_connection (5).
        let (rows, statistics) = try track([Paths.fixture("tv-untunnelled.pcap")])
        #expect(statistics.tunnelled == 15 && rows.count == 2)
        // GRE 1 and 2 alternating with untunnelled datagrams: six swaps, none counted.
        let alternating = try #require(rows.first { $0.originator.port == 40003 })
        #expect(alternating.tunnelParents.count == 2 && alternating.history == "D")
        #expect(alternating.originatorCounters.packets == 13)
        // GRE 1..7 back to back: 2..6 added, 7 refused with X; after an untunnelled datagram
        // tunnel 8 is added again: seven parents.
        let chained = try #require(rows.first { $0.originator.port == 40004 })
        #expect(chained.tunnelParents.count == 7 && chained.history == "DX")
        #expect(Set(chained.tunnelParents).isDisjoint(with: alternating.tunnelParents) == false, "tunnel 1 is shared")
    }

    @Test func tunnelsPastTheMaximumDepthAreNotDecapsulated() throws {
        // Five nested VXLAN layers; Zeek's Tunnel::max_depth is 4: the fifth carrier is
        // tracked with history X and no service, and what it carries is never seen.
        let (rows, statistics) = try track([Paths.fixture("tv-max-depth.pcap")])
        #expect(statistics.tunnelled == 2 && rows.count == 5, "\(rows.map(Self.describe))")
        #expect(!rows.contains { $0.originator.port == 40005 })
        for k in 1...5 {
            let carrier = try #require(rows.first { $0.originator.port == UInt16(50000 + k) })
            #expect(carrier.responder.port == 4789 && carrier.originatorCounters.packets == 2)
            #expect(carrier.service == (k < 5 ? "vxlan" : nil), "carrier \(k)")
            #expect(carrier.history == (k < 5 ? "D" : "DX"), "carrier \(k)")
        }
    }

    @Test func ayiyaConfirmsBeforeCheckingItsInnerPacket() throws {
        // A forward packet with a bad inner packet: nothing decapsulated, yet Zeek's AYIYA has
        // confirmed (service ayiya). A packet of another opcode is ignored: no service.
        let (rows, statistics) = try track([Paths.fixture("tv-ayiya-bad-inner.pcap")])
        #expect(statistics.tunnelled == 0 && rows.count == 2 && !rows.contains { $0.originator.port == 40006 })
        let forward = try #require(rows.first { $0.originator.port == 50010 })
        let other = try #require(rows.first { $0.originator.port == 50011 })
        #expect(forward.service == "ayiya" && other.service == nil)
    }

    @Test func teredoIsDetectedByZeeksRuleOnly() throws {
        // On a port without a tunnel, Zeek's TeredoAnalyzer::DetectProtocol rejects a payload
        // whose second byte is 1 after a first byte that is not 0, and an origin indication not
        // followed by IPv6: no violation, so the flow's later Teredo packet is decapsulated.
        let (rows, statistics) = try track([Paths.fixture("tv-teredo-detect.pcap")])
        #expect(statistics.tunnelled == 2 && rows.count == 4, "\(rows.map(Self.describe))")
        for (carrierPort, innerPort) in [(UInt16(50020), UInt16(40007)), (50021, 40008)] {
            let carrier = try #require(rows.first { $0.originator.port == carrierPort })
            let inner = try #require(rows.first { $0.originator.port == innerPort })
            #expect(carrier.originatorCounters.packets == 2 && carrier.history == "D" && carrier.service == nil)
            #expect(inner.tunnelParents == [carrier.uid] && inner.responder.port == 9999)
        }
    }
}
