import FlowTrack
import FlowTrackCLI
import Foundation
import Testing

/// `flowtrack follow` against `tshark -q -z follow,tcp,raw,0` on the same captures: the
/// same chunks of hex in the same order, the responder's indented.
@Suite struct FollowCommandTests {
    static func follow(_ arguments: [String]) throws -> (status: FlowTrackCLI.ExitStatus, out: String, err: String) {
        var out = StringSink(), err = StringSink()
        let status = try FollowCommand.parse(arguments).execute(out: &out, err: &err)
        return (status, out.text, err.text)
    }

    /// The lines between "Node 1:" and the closing rule.
    static func body(_ text: String) -> [Substring] {
        Array(text.split(separator: "\n").drop { !$0.hasPrefix("Node 1:") }.dropFirst().prefix { !$0.hasPrefix("====") })
    }

    static func tshark(_ name: String) throws -> String {
        try runProcess("/usr/bin/env", ["tshark", "-r", Paths.fixture(name), "-q", "-z", "follow,tcp,raw,0"]).out
    }

    @Test(arguments: [("st-reorder.pcap", "10.7.0.1:40100 10.7.0.2:80"), ("st-gap.pcap", "10.7.0.2:80,10.7.0.1:40101"),
                      ("tn-vxlan.pcap", "10.1.0.1:40000 10.1.0.2:80"), ("tcp-loopback.pcap", "127.0.0.1:47630 127.0.0.1:47001")])
    func rawOutputEqualsTsharks(_ name: String, _ tuple: String) throws {
        let run = try Self.follow([Paths.fixture(name), "--tuple", tuple, "--format", "raw", "-C"])
        #expect(run.status == .success, "\(run.err)")
        let mine = Self.body(run.out), theirs = Self.body(try Self.tshark(name))
        #expect(!theirs.isEmpty && mine == theirs)
    }

    @Test func selectsByUidAndCommunityID() throws {
        var tracker = FlowTracker()
        var ended: [Connection] = []
        var configuration = TrackerConfiguration()
        configuration.computeCommunityID = true
        tracker = FlowTracker(configuration: configuration)
        try tracker.run(file: Paths.fixture("st-reorder.pcap")) { if case let .ended(c) = $0 { ended.append(c) } }
        tracker.finish { if case let .ended(c) = $0 { ended.append(c) } }
        let c = try #require(ended.first)
        let byUid = try Self.follow([Paths.fixture("st-reorder.pcap"), "--uid", c.uid])
        let byID = try Self.follow([Paths.fixture("st-reorder.pcap"), "--community-id", c.communityID])
        #expect(byUid.status == .success && byUid.out == byID.out)
        #expect(byUid.out.contains("GET /index.html HTTP\n") && byUid.out.contains("\tHTTP/1.1 200 OK"))
        let json = try Self.follow([Paths.fixture("st-gap.pcap"), "--tuple", "10.7.0.1:40101 10.7.0.2:80", "--format", "json"])
        #expect(json.out.split(separator: "\n").contains("{\"direction\":\"original\",\"offset\":100,\"gap\":100}"))
    }

    @Test func aConnectionSplitAcrossTwoFilesIsOneStream() throws {
        // zr-split-a/b hold halves of one exchange; in either order they are one capture, the
        // stream tshark follows in the merged capture (mergecap's order).
        let ab = try Self.follow([Paths.fixture("zr-split-a.pcap"), Paths.fixture("zr-split-b.pcap"), "--all", "--format", "raw"])
        let ba = try Self.follow([Paths.fixture("zr-split-b.pcap"), Paths.fixture("zr-split-a.pcap"), "--all", "--format", "raw"])
        #expect(ab.status == .success && ab.out == ba.out)
        #expect(Self.body(ab.out) == ["78787878787878787878", "\t7979797979797979797979797979797979797979"])
    }

    @Test func aConnectionThatIsNotThereIsAnError() throws {
        let run = try Self.follow([Paths.fixture("st-reorder.pcap"), "--uid", "Cnothere"])
        #expect(run.status == .failure && run.err.contains("no TCP connection") && run.out.isEmpty)
        #expect(throws: (any Error).self) { try FollowCommand.parse([Paths.fixture("st-reorder.pcap")]).validate() }
    }
}
