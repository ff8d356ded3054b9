import FlowTrack
import Testing

/// The per-packet handler: each packet with its connection, direction and payload bytes
/// (borrowed, through tunnels and reassembled fragments), typed handler errors and stop().
@Suite struct PacketContextTests {
    struct Seen: Hashable {
        var uid: String
        var direction: Direction
        var payload: [UInt8]
    }

    /// Every packet's (uid, direction, payload) and the connections that ended.
    static func collect(_ name: String) throws -> (packets: [Seen], ended: [Connection], unattributed: Int) {
        var tracker = FlowTracker()
        var seen: [Seen] = []
        var ended: [Connection] = []
        var unattributed = 0
        try tracker.run(file: Paths.fixture(name), packets: { packet in
            guard let uid = packet.uid, let direction = packet.direction else { unattributed += 1; return }
            var bytes: [UInt8] = []
            for i in packet.payload.indices { bytes.append(packet.payload[i]) }
            seen.append(Seen(uid: uid, direction: direction, payload: bytes))
        }, events: { if case let .ended(c) = $0 { ended.append(c) } })
        tracker.finish { if case let .ended(c) = $0 { ended.append(c) } }
        return (seen, ended, unattributed)
    }

    /// The payload a connection's packets carried in one direction, in packet order.
    static func stream(_ packets: [Seen], _ c: Connection, _ direction: Direction) -> [UInt8] {
        packets.filter { $0.uid == c.uid && $0.direction == direction }.flatMap(\.payload)
    }

    @Test(arguments: ["tn-vxlan.pcap", "tn-gre.pcap", "ll-ppp.pcap"])
    func payloadsAndDirectionsOfTheInnerConnections(_ name: String) throws {
        // helpers/exchange.py: TCP 40000 -> 80 sends 10 "q" up and 20 "r" down; UDP 40001 -> 9999
        // 12 "d" up and 30 "e" down, whatever carries them.
        let (packets, ended, _) = try Self.collect(name)
        let tcp = try #require(ended.first { $0.originator.port == 40000 && $0.responder.port == 80 })
        let udp = try #require(ended.first { $0.originator.port == 40001 && $0.responder.port == 9999 })
        #expect(Self.stream(packets, tcp, .original) == Array("qqqqqqqqqq".utf8))
        #expect(Self.stream(packets, tcp, .reply) == Array(repeating: UInt8(ascii: "r"), count: 20))
        #expect(Self.stream(packets, udp, .original) == Array(repeating: UInt8(ascii: "d"), count: 12))
        #expect(Self.stream(packets, udp, .reply) == Array(repeating: UInt8(ascii: "e"), count: 30))
        #expect(packets.filter { $0.uid == tcp.uid }.count == Int(tcp.originatorCounters.packets + tcp.responderCounters.packets))
    }

    @Test func aReassembledDatagramIsOnePacketWithItsWholePayload() throws {
        // make_fragments.py: a 3000-byte UDP datagram in three fragments, then a 30-byte answer.
        let (packets, ended, _) = try Self.collect("fr-udp-v4.pcap")
        let udp = try #require(ended.first { $0.responder.port == 9999 })
        let up = packets.filter { $0.uid == udp.uid && $0.direction == .original }
        #expect(up.count == 1 && up[0].payload == Array(repeating: UInt8(ascii: "u"), count: 3000))
        #expect(Self.stream(packets, udp, .reply) == Array(repeating: UInt8(ascii: "a"), count: 30))
    }

    struct Enough: Error, Equatable { var after: Int }

    @Test func aThrowingHandlerStopsTheRunWithItsTypedError() throws {
        var tracker = FlowTracker()
        var handled = 0
        do {
            try tracker.run(file: Paths.fixture("many-flows.pcap"), packets: { _ throws(Enough) in
                handled += 1
                if handled == 3 { throw Enough(after: handled) }
            }, events: { (_: ConnectionEvent) throws(Enough) in })
            Issue.record("the run went on after the handler threw")
        } catch .handler(let error) {
            #expect(error == Enough(after: 3))
        } catch .capture(let error) {
            Issue.record("\(error)")
        }
        #expect(handled == 3 && tracker.statistics.packets.packets == 3)
    }

    @Test func aMissingFileIsACaptureError() {
        var tracker = FlowTracker()
        do {
            try tracker.run(file: "/nonexistent/trace.pcap", packets: { _ in }, events: { _ in })
            Issue.record("read a missing file")
        } catch {
            guard case .capture(.fileNotFound) = error else { Issue.record("\(error)"); return }
        }
    }

    @Test func stopFromTheHandlerEndsTheRunAfterThatPacket() throws {
        var tracker = FlowTracker()
        var handled = 0
        try tracker.run(file: Paths.fixture("many-flows.pcap"), packets: { packet in
            handled += 1
            if handled == 100 { packet.stop() }
        }, events: { _ in })
        #expect(handled == 100 && tracker.statistics.packets.packets == 100)
        var open = 0
        tracker.finish { if case .ended = $0 { open += 1 } }
        #expect(open == 50, "the 50 exchanges read so far end at finish")
    }
}
