import FlowTrack
import Foundation
import Testing
@testable import FlowTrackCLI

@Suite struct PortsCommandTests {
    func ports(_ arguments: [String]) throws -> Run {
        let command = try PortsCommand.parse(arguments)
        var out = StringSink(), err = StringSink()
        let status = command.execute(out: &out, err: &err)
        return Run(status: status, out: out.text, err: err.text)
    }

    @Test func onePortPerRowWithOutcomes() throws {
        // conn-udp.pcap (make_conn.py): port 53/udp has the answered query (SF: established,
        // 29 bytes up, 56 down) and the lone answer (SHR: half_open, 56 down) from two clients;
        // port 67/udp the unanswered DHCP offer (S0: attempt).
        let run = try ports([Paths.fixture("conn-udp.pcap"), "--format", "json"])
        #expect(run.status == .success)
        let rows = try run.out.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(rows.count == 2)
        let dns = try #require(rows.first { $0["port"] as? Int == 53 })
        #expect(dns["proto"] as? String == "udp" && dns["service"] as? String == "domain")
        #expect(dns["connections"] as? Int == 2 && dns["established"] as? Int == 1 && dns["half_open"] as? Int == 1)
        #expect(dns["clients"] as? Int == 2 && dns["bytes_to_server"] as? Int == 29 && dns["bytes_from_server"] as? Int == 112)
        let dhcp = try #require(rows.first { $0["port"] as? Int == 67 })
        #expect(dhcp["attempt"] as? Int == 1 && dhcp["service"] as? String == "bootps")
    }

    @Test func tcpOutcomesAndTable() throws {
        // conn-iq.pcap: two connections to 80/tcp, one reset (RSTO), one half-open (SH).
        let run = try ports([Paths.fixture("conn-iq.pcap"), "--format", "table"])
        let lines = run.out.split(separator: "\n")
        #expect(lines[0].hasPrefix("Proto  Port  Service  Conns  Estab  Closed  Rejected  Reset  HalfOpen  Attempt  Other  Clients"))
        let cells = lines[1].split(separator: " ")
        #expect(Array(cells.prefix(11)) == ["tcp", "80", "http", "2", "0", "0", "0", "1", "1", "0", "0"])
        let zeek = try ports([Paths.fixture("conn-iq.pcap"), "--format", "zeek"])
        #expect(zeek.out.contains("#path\tports\n") && zeek.out.contains("#fields\tproto\tport\tservice\tconnections"))
        let csv = try ports([Paths.fixture("conn-iq.pcap"), "--format", "csv"])
        #expect(csv.out.hasPrefix("proto,port,service,connections,established,closed,rejected,reset,half_open,attempt,other,clients"))
    }
}

@Suite struct ExtractCommandTests {
    func extract(_ arguments: [String]) throws -> Run {
        let command = try ExtractCommand.parse(arguments)
        var out = StringSink(), err = StringSink()
        let status = command.execute(out: &out, err: &err)
        return Run(status: status, out: out.text, err: err.text)
    }

    /// Reads a pcap back with libpcap: (source, destination) pairs of its packets.
    func readBack(_ path: String) throws -> [String] {
        var file = try PcapFile(path: path)
        let decoder = try PacketDecoder(linkType: file.linkType)
        var p = DecodedPacket()
        var pairs: [String] = []
        while try file.next({ meta, bytes in decoder.decode(bytes, wireLength: meta.wireLength, into: &p); return true }) != nil {
            pairs.append("\(p.source).\(p.sourcePort)>\(p.destination).\(p.destinationPort)")
        }
        return pairs
    }

    @Test func tupleSelectsEveryRowOfAReusedTuple() throws {
        // conn-reuse.pcap holds 6 + 3 packets of one 5-tuple in two rows.
        let out = Paths.temporary("tuple.pcap")
        let run = try extract([Paths.fixture("conn-reuse.pcap"), "--tuple", "tcp 10.0.0.2:80 10.0.0.1:40000", "-w", out])
        #expect(run.status == .success)
        #expect(run.err == "flowtrack: wrote 9 packets of 2 connections to \(out)\n")
        let pairs = try readBack(out)
        #expect(pairs.count == 9)
        #expect(Set(pairs) == ["10.0.0.1.40000>10.0.0.2.80", "10.0.0.2.80>10.0.0.1.40000"])
    }

    @Test func uidAndCommunityIDSelectOneRow() throws {
        var rows: [Connection] = []
        var configuration = TrackerConfiguration()
        configuration.uidSeed = nil  // the capture-derived seed, as `conn` uses by default
        var tracker = FlowTracker(configuration: configuration)
        try tracker.run(file: Paths.fixture("conn-reuse.pcap")) { if case let .ended(c) = $0 { rows.append(c) } }
        tracker.finish { if case let .ended(c) = $0 { rows.append(c) } }
        let first = try #require(rows.first { $0.endReason == .reuse })
        let out = Paths.temporary("uid.pcap")
        let run = try extract([Paths.fixture("conn-reuse.pcap"), "--uid", first.uid, "-w", out])
        #expect(run.status == .success)
        #expect(try readBack(out).count == 6)  // S, SA, A, F, F, A of the first row
        let cid = Paths.temporary("cid.pcap")
        let byID = try extract([Paths.fixture("conn-sf.pcap"), "--community-id", first.communityID, "-w", cid])
        let cidCount = try readBack(cid).count
        #expect(byID.status == .success && cidCount == 8)
    }

    @Test(arguments: [("fr-udp-v4.pcap", "udp 10.2.0.1:40001 10.2.0.2:9999", 4), ("fr-udp-v6.pcap", "udp [2001:db8:2::1]:40001 [2001:db8:2::2]:9999", 2)])
    func fragmentsAreWrittenWithTheirDatagram(_ file: String, _ tuple: String, _ frames: Int) throws {
        // Every fragment frame of the connection's datagrams (held until the datagram completed)
        // is written, IPv4 and IPv6 alike: the capture's frame count for the one connection.
        let out = Paths.temporary("fragments-\(file)")
        let run = try extract([Paths.fixture(file), "--tuple", tuple, "-w", out])
        #expect(run.status == .success && run.err.hasPrefix("flowtrack: wrote \(frames) packets"), "\(run.err)")
        var file = try PcapFile(path: out)
        var count = 0
        while try file.next({ _, _ in count += 1; return true }) != nil {}
        #expect(count == frames)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark"), "needs tshark (apt-get install tshark)"))
    func tsharkReadsTheOutput() throws {
        let out = Paths.temporary("tshark.pcap")
        _ = try extract([Paths.fixture("conn-reuse.pcap"), "--tuple", "tcp 10.0.0.1:40000 10.0.0.2:80", "-w", out])
        let text = try runProcess("/usr/bin/tshark", ["-n", "-r", out, "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport"]).out
        let lines = text.split(separator: "\n")
        #expect(lines.count == 9)
        #expect(lines.allSatisfy { $0 == "40000\t80" || $0 == "80\t40000" })
    }

    @Test func misuseIsOneClearLine() throws {
        #expect(throws: (any Error).self) { try ExtractCommand.parse(["a.pcap", "-w", "o.pcap"]) }
        #expect(throws: (any Error).self) { try ExtractCommand.parse(["a.pcap", "--uid", "C1", "--tuple", "tcp 1.2.3.4:1 5.6.7.8:2", "-w", "o"]) }
        #expect(throws: (any Error).self) { try ExtractCommand.parse(["a.pcap", "--tuple", "tcp 1.2.3.4 5.6.7.8:2", "-w", "o"]) }
        let none = try extract([Paths.fixture("conn-sf.pcap"), "--uid", "Cnothing", "-w", Paths.temporary("n.pcap")])
        #expect(none.status == .failure && none.err == "flowtrack: no connection matches uid Cnothing\n")
    }
}
