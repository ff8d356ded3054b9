import FlowTrack
import Foundation
import Testing
@testable import FlowTrackCLI

@Suite struct PacketsCommandTests {
    @Test func printsOneLinePerPacketLikeTcpdump() throws {
        let run = try packets([Paths.fixture("tcp-loopback.pcap")])
        #expect(run.status == .success && run.err.isEmpty)
        #expect(run.lines.count == 10)
        #expect(run.lines[0].contains(" IP 127.0.0.1."))
        #expect(run.lines[0].hasSuffix(" > 127.0.0.1.47001: tcp 0 [S]"))
        #expect(run.lines[1].contains("127.0.0.1.47001 > 127.0.0.1.") && run.lines[1].hasSuffix("tcp 0 [S.]"))
        #expect(run.lines.contains { $0.hasSuffix("47001: tcp 1000 [P.]") })
        #expect(run.lines.contains { $0.contains("127.0.0.1.47001 >") && $0.hasSuffix("tcp 2500 [P.]") })
        #expect(run.lines.filter { $0.hasSuffix("[F.]") }.count == 2)
    }

    @Test func timesAreUTCWithNanoseconds() throws {
        // make_crafted.py writes its first record at 1_700_000_000 s + 1 ns: 2023-11-14 22:13:20 UTC.
        let run = try packets([Paths.fixture("vlan.pcap")])
        #expect(run.lines[0].hasPrefix("2023-11-14 22:13:20.000000001 vlan 100 IP 10.1.0.1.40000 > 10.1.0.2.80: tcp 0 [S]"))
        #expect(run.lines[1].contains("vlan 200 vlan 300 IP 10.2.0.1.5353 > 10.2.0.2.53: udp 20"))
        let epoch = try packets([Paths.fixture("vlan.pcap"), "--epoch"])
        #expect(epoch.lines[2].hasPrefix("1700000002.000002001 "))
    }

    @Test func ipv6AndIcmpLines() throws {
        let run = try packets([Paths.fixture("icmp.pcap")])
        #expect(run.lines[0].hasSuffix("IP 10.5.0.1 > 10.5.0.2: ICMP echo request, id 77, seq 1, length 64"))
        #expect(run.lines[2].contains("ICMP unreachable, code 3 (quoting udp 10.5.0.1.33434 > 10.5.0.2.33435)"))
        #expect(run.lines[3].contains("IP6 2001:db8::7 > 2001:db8::8: ICMP6 echo request, id 9, seq 2"))
    }

    @Test func countAndFilter() throws {
        #expect(try packets([Paths.fixture("tcp-loopback.pcap"), "-c", "3"]).lines.count == 3)
        let udp = try packets([Paths.fixture("checksums.pcap"), "-f", "udp"])
        #expect(udp.lines.count == 5 && udp.lines.allSatisfy { $0.contains(": udp ") })
        // The count spans files.
        #expect(try packets([Paths.fixture("udp-loopback.pcap"), Paths.fixture("tcp-loopback.pcap"), "--count", "4"]).lines.count == 4)
    }

    @Test func truncatedAndMalformedMarks() throws {
        let cut = try packets([Paths.fixture("snaplen-truncated.pcap")])
        #expect(cut.lines[0].hasSuffix("tcp 100 [P.] [|payload]"))
        #expect(cut.lines[1].hasSuffix("[|tcp]"))
        #expect(cut.lines[2].hasSuffix("[|ipv4]"))
        let bad = try packets([Paths.fixture("malformed.pcap")])
        #expect(bad.lines[0].hasSuffix("[malformed: ipv4 header length 16 is invalid]"))
        #expect(bad.lines[6].hasSuffix("[malformed: ethernet header truncated: needs 14 bytes, 10 present]"))
        let sums = try packets([Paths.fixture("checksums.pcap"), "--verify-checksums"])
        #expect(sums.lines[4].hasSuffix("[bad ip cksum]"))
        #expect(sums.lines[5].hasSuffix("[bad tcp cksum]"))
        #expect(sums.lines.filter { $0.contains("cksum") }.count == 5)
    }

    @Test func statsCountByLinkTypeProtocolAndReason() throws {
        let run = try packets([Paths.fixture("malformed.pcap"), Paths.fixture("sll.pcap"), "--stats"])
        let lines = Set(run.lines.map(String.init))
        // malformed.pcap: four 54-byte frames, 45 (UDP), 44 (short TCP), 10; sll.pcap: 16+40 and 16+40+8+4.
        let bytes: Int = 54 * 4 + 45 + 44 + 10 + 56 + 68
        #expect(lines.contains("packets: 9 (\(bytes) bytes on the wire, \(bytes) captured)"))
        #expect(lines.contains("link type EN10MB (1): 7"))
        #expect(lines.contains("link type LINUX_SLL (113): 2"))
        #expect(lines.contains("malformed: 7"))
        #expect(lines.contains("  bad-header-length-ipv4: 1"))
        #expect(lines.contains("  truncated-ethernet: 1"))
        #expect(lines.contains("  udp: 2"))  // udp_short in malformed.pcap and the mDNS packet in sll.pcap
        #expect(!run.out.contains(" IP "))  // totals only
    }

    @Test func missingFileIsOneLineAndExitStatus2() throws {
        let run = try packets(["/nonexistent.pcap"])
        #expect(run.status == .noInput)
        #expect(try packets(["/nonexistent.pcap", "--stats"]).out.isEmpty)  // no zero totals for an unread file
        #expect(run.err == "flowtrack: /nonexistent.pcap: no such file (No such file or directory)\n")
    }

    @Test func cutFilePrintsPacketsThenError() throws {
        let run = try packets([Paths.fixture("cut-mid-record.pcap")])
        #expect(run.status == .damagedCapture)
        #expect(run.lines.count == 3)
        #expect(run.err.hasPrefix("flowtrack: capture file cut short after 3 complete packets"))
        #expect(run.err.split(separator: "\n").count == 1)
    }

    @Test func unsupportedLinkTypeAndBadFilter() throws {
        let path = Paths.temporary("frame-relay.pcap")
        do {
            let writer = try PcapWriter(path: path, linkType: LinkType(rawValue: 107))
            writer.write(PacketMetadata(timestamp: Timestamp(nanoseconds: 0), capturedLength: 8, wireLength: 8), bytes: [0, 0, 8, 0, 0, 0, 0, 0])
        }
        let run = try packets([path])
        #expect(run.status == .unsupportedLinkType)
        #expect(run.err.contains("unsupported link-layer type FRELAY (107)"))
        let filter = try packets([Paths.fixture("vlan.pcap"), "-f", "port"])
        #expect(filter.status == .badFilter && filter.err.contains("bad filter expression 'port'"))
    }

    @Test func binaryReadsStandardInputAndReportsUsageErrors() throws {
        let piped = try runBinary(["packets", "-"], stdin: Paths.fixture("udp-loopback.pcap"))
        #expect(piped.status == 0)
        #expect(piped.out.split(separator: "\n").count == 2)
        #expect(piped.out.contains("127.0.0.1.47002: udp 60"))
        let usage = try runBinary(["packets", Paths.fixture("vlan.pcap"), "-c", "0"])
        #expect(usage.status == 64)
        #expect(usage.err.contains("--count must be at least 1"))
        let missing = try runBinary(["packets", "/nonexistent.pcap"])
        #expect(missing.status == 2 && missing.out.isEmpty)
        let help = try runBinary(["packets", "--help"])
        #expect(help.out.contains("EXAMPLES:"))
    }
}
