import FlowTrack
import Foundation
import Testing

/// Link layers and L2 encapsulations (Fixtures/make_link_layers.py): every capture holds the
/// same TCP and UDP exchange, so each must give the same two rows, agree with tshark's
/// conversations where tshark decodes the framing, and carry the frames' MAC addresses
/// where the link layer has them.
@Suite struct LinkLayerTests {
    static let files: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Paths.fixture(""))) ?? []
        return names.filter { ($0.hasPrefix("ll-") || $0.hasPrefix("l2-")) && $0.hasSuffix(".pcap") }.sorted()
    }()

    /// Framings tshark 4.0 does not decode as FlowTrack does, and why.
    static let tsharkGaps: [String: String] = [
        "ll-chdlc-dir.pcap": "tshark does not read link type 205 (C_HDLC_WITH_DIR)",
        "l2-mpls-pw.pcap": "tshark needs 'decode as' for Ethernet behind an MPLS pseudowire control word",
        "l2-fabricpath.pcap": "tshark's FabricPath dissector is a heuristic that takes only some of the frames",
    ]

    /// Link layers without MAC addresses (Zeek records none for them either).
    static func hasAddresses(_ file: String) -> Bool {
        !["ll-ppp", "ll-chdlc", "ll-fddi", "ll-nflog"].contains { file.hasPrefix($0) }
    }

    @Test func everyFramingHasAFixture() {
        #expect(Self.files.count == 27)
    }

    @Test(arguments: files)
    func theExchangeComesThrough(_ file: String) throws {
        let rows = try track([Paths.fixture(file)]) { $0.recordL2Addresses = true }.rows
        try #require(rows.count == 2, "\(file): \(rows.map(\.history))")
        let tcp = rows[0], udp = rows[1]
        #expect(tcp.transport == .tcp && tcp.originator == Endpoint(IPAddress("10.1.0.1")!, 40000)
                && tcp.responder == Endpoint(IPAddress("10.1.0.2")!, 80))
        #expect(tcp.connState == .sf && tcp.history == "ShADdFf")
        #expect(tcp.originatorCounters.bytes == 10 && tcp.responderCounters.bytes == 20)
        #expect(tcp.originatorCounters.packets == 5 && tcp.responderCounters.packets == 3)
        #expect(udp.transport == .udp && udp.responder.port == 9999 && udp.connState == .sf && udp.history == "Dd")
        #expect(udp.originatorCounters.bytes == 12 && udp.responderCounters.bytes == 30)
        if Self.hasAddresses(file) {
            #expect(tcp.originatorL2Address == MACAddress("02:00:00:00:00:0a") && tcp.responderL2Address == MACAddress("02:00:00:00:00:0b"))
        } else {
            #expect(tcp.originatorL2Address == nil && tcp.responderL2Address == nil)
        }
    }

    /// tshark's TCP and UDP conversations: both endpoints (sorted) and the frame count.
    static func tsharkConversations(_ path: String) throws -> Set<String> {
        let run = try runCommand("/usr/bin/tshark", ["-n", "-r", path, "-q", "-z", "conv,tcp", "-z", "conv,udp"])
        var out = Set<String>()
        for line in run.out.split(separator: "\n") where line.contains("<->") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count > 9 else { continue }
            out.insert([String(f[0]), String(f[2])].sorted().joined(separator: " ") + " \(f[9])")
        }
        return out
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark"), "needs tshark"), arguments: files)
    func agreesWithTsharksConversations(_ file: String) throws {
        let rows = try track([Paths.fixture(file)]).rows
        let ours = Set(rows.map { ["\($0.originator.address):\($0.originator.port)", "\($0.responder.address):\($0.responder.port)"].sorted().joined(separator: " ")
            + " \($0.originatorCounters.packets + $0.responderCounters.packets)" })
        let theirs = try Self.tsharkConversations(Paths.fixture(file))
        if let gap = Self.tsharkGaps[file] {
            // Still a gap: tshark sees less than FlowTrack (when it catches up, this fails and the list shrinks).
            #expect(theirs != ours && theirs.count <= ours.count, "\(file): \(gap)")
        } else {
            #expect(theirs == ours, "\(file): tshark \(theirs.sorted()), FlowTrack \(ours.sorted())")
        }
    }
}
