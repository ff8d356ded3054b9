import Packets
import Pcap
import Testing

/// Decodes the bundled fixtures; every expected value is a literal from the script
/// that made the fixture (Fixtures/make_crafted.py, Fixtures/make_loopback.sh).
@Suite struct PacketDecoderTests {
    @Test func loopbackTCPConnection() throws {
        let packets = try decodeFixture("tcp-loopback.pcap")
        #expect(packets.count == 10)
        #expect(packets.allSatisfy { $0.layers.isSuperset(of: [.ethernet, .ipv4, .tcp]) && $0.malformed == nil && $0.cut == nil })
        let server: UInt16 = 47001
        let first = packets[0]
        #expect(first.tcp.flags == .syn)
        #expect(first.destinationPort == server)
        #expect(first.source == ip("127.0.0.1") && first.destination == ip("127.0.0.1"))
        #expect(first.tcp.options.mss == 65495)
        #expect(first.tcp.options.sackPermitted)
        #expect(first.tcp.options.windowScale == 10)
        #expect(first.tcp.options.timestampValue != nil && first.tcp.options.timestampEchoReply == 0)
        #expect(packets[1].tcp.flags == [.syn, .ack])
        #expect(packets[1].tcp.acknowledgment == first.tcp.sequence &+ 1)
        // Payload both ways: the script sends 1000 bytes up and 2500 down.
        let up = packets.filter { $0.destinationPort == server }.map(\.payloadLength).reduce(0, +)
        let down = packets.filter { $0.sourcePort == server }.map(\.payloadLength).reduce(0, +)
        #expect(up == 1000)
        #expect(down == 2500)
        // Both sides close with FIN.
        #expect(packets.filter { $0.tcp.flags.contains(.fin) }.count == 2)
        #expect(!packets.contains { $0.tcp.flags.contains(.rst) })
    }

    @Test func loopbackUDPExchange() throws {
        let packets = try decodeFixture("udp-loopback.pcap")
        #expect(packets.count == 2)
        #expect(packets[0].destinationPort == 47002 && packets[0].udpLength == 68 && packets[0].payloadLength == 60)
        #expect(packets[1].sourcePort == 47002 && packets[1].udpLength == 308 && packets[1].payloadLength == 300)
        #expect(packets[0].sourcePort == packets[1].destinationPort)
    }

    @Test func loopbackIPv6() throws {
        let packets = try decodeFixture("ipv6-loopback.pcap")
        #expect(packets.allSatisfy { $0.ipVersion == 6 && $0.source == ip("::1") && $0.layers.contains(.tcp) })
        let up = packets.filter { $0.destinationPort == 47003 }.map(\.payloadLength).reduce(0, +)
        let down = packets.filter { $0.sourcePort == 47003 }.map(\.payloadLength).reduce(0, +)
        #expect(up == 700 && down == 1300)
        #expect(packets[0].tcp.flags == .syn)
    }

    @Test func vlanAndQinQ() throws {
        let p = try decodeFixture("vlan.pcap")
        #expect(p[0].vlanCount == 1 && p[0].outerVLAN == 100)
        #expect(p[0].layers.isSuperset(of: [.ethernet, .vlan, .ipv4, .tcp]))
        #expect(p[0].sourcePort == 40000 && p[0].destinationPort == 80 && p[0].tcp.sequence == 1000)
        #expect(p[1].vlanCount == 2 && p[1].outerVLAN == 200 && p[1].innerVLAN == 300)
        #expect(p[1].source == ip("10.2.0.1") && p[1].destinationPort == 53 && p[1].payloadLength == 20)
        #expect(p[2].vlanCount == 2 && p[2].outerVLAN == 7 && p[2].innerVLAN == 8)
        #expect(p[2].ipVersion == 6 && p[2].destination == ip("2001:db8::2") && p[2].payloadLength == 4)
    }

    @Test func ipv6ExtensionHeaders() throws {
        let p = try decodeFixture("ipv6-ext.pcap")
        #expect(p[0].ipv6ExtensionHeaders == [.hopByHop, .destinationOptions, .routing])
        #expect(p[0].ipProtocol == .tcp && p[0].destinationPort == 443 && p[0].payloadLength == 10)
        #expect(p[0].ipHeaderLength == 40 + 8 + 8 + 24)
        #expect(p[1].ipv6ExtensionHeaders == [.authentication])
        #expect(p[1].ipProtocol == .udp && p[1].sourcePort == 500 && p[1].destinationPort == 4500 && p[1].payloadLength == 8)
        #expect(p[2].ipv6ExtensionHeaders == [.esp] && p[2].ipProtocol == .esp && !p[2].hasPorts)
        #expect(p[3].ipProtocol == .noNextHeader && !p[3].hasPorts && p[3].malformed == nil)
    }

    @Test func ipv4AndTCPOptions() throws {
        let p = try decodeFixture("ipv4-options.pcap")
        #expect(p[0].ipHeaderLength == 28)  // 20 + record route (7 bytes) padded to 8
        #expect(p[0].anomalies.contains(.ipv4Options))
        #expect(p[0].tcp.sequence == 4_000_000_000)
        let o = p[0].tcp.options
        #expect(o.mss == 1460 && o.sackPermitted && o.windowScale == 7)
        #expect(o.timestampValue == 123_456 && o.timestampEchoReply == 0)
        let sack = p[1].tcp.options
        #expect(sack.sackBlockCount == 2)
        #expect(sack.sackBlock(0) == SACKBlock(left: 100, right: 200))
        #expect(sack.sackBlock(1) == SACKBlock(left: 300, right: 400))
        #expect(p[1].tcp.acknowledgment == 4_000_000_001)
    }

    @Test func fragmentsAreMarkedNotReassembled() throws {
        let p = try decodeFixture("fragments.pcap")
        #expect(p.count == 5)
        // IPv4: 3000 + 8 bytes of UDP in fragments of 1200, 1200, 608.
        #expect(p[0].layers.contains(.fragment) && p[0].moreFragments && p[0].fragmentOffset == 0)
        #expect(p[0].hasPorts && p[0].sourcePort == 7000 && p[0].udpLength == 3008)
        #expect(p[0].fragmentIdentification == 4242)
        #expect(p[1].isNonFirstFragment && !p[1].hasPorts && p[1].fragmentOffset == 1200 && p[1].payloadLength == 1200)
        #expect(p[2].isNonFirstFragment && !p[2].moreFragments && p[2].fragmentOffset == 2400 && p[2].payloadLength == 608)
        #expect(p.allSatisfy { $0.malformed == nil })
        // IPv6 fragment header: first fragment has ports, the second does not.
        #expect(p[3].ipv6ExtensionHeaders == [.fragment] && p[3].hasPorts && p[3].destinationPort == 8001)
        #expect(p[3].fragmentIdentification == 0xABCDEF && p[3].moreFragments)
        #expect(p[4].isNonFirstFragment && !p[4].hasPorts && p[4].fragmentOffset == 1200 && p[4].payloadLength == 808)
        #expect(p[4].ipProtocol == .udp)
    }

    @Test(arguments: ["sll.pcap", "sll2.pcap", "null.pcap", "loop.pcap", "raw-ip.pcap"])
    func linkTypes(_ name: String) throws {
        let p = try decodeFixture(name)
        #expect(p.count >= 2)
        #expect(p[0].source == ip("10.9.0.1") && p[0].destination == ip("10.9.0.2"))
        #expect(p[0].tcp.flags == .syn && p[0].sourcePort == 1234 && p[0].destinationPort == 80)
        #expect(p[1].source == ip("fe80::1") && p[1].destination == ip("ff02::fb"))
        #expect(p[1].layers.contains(.udp) && p[1].destinationPort == 5353 && p[1].payloadLength == 4)
        #expect(p.allSatisfy { $0.malformed == nil && $0.cut == nil })
    }

    @Test func linkTypeLayerMarks() throws {
        #expect(try decodeFixture("sll.pcap")[0].layers.contains(.linuxSLL))
        #expect(try decodeFixture("sll2.pcap")[0].layers.contains(.linuxSLL2))
        #expect(try decodeFixture("loop.pcap")[0].layers.contains(.loopback))
        // DLT_NULL in either byte order: the third packet's family is big-endian.
        let null = try decodeFixture("null.pcap")
        #expect(null[2].layers.contains(.loopback) && null[2].ipVersion == 4)
        #expect(try decodeFixture("ipv4-linktype.pcap")[0].destinationPort == 80)
        #expect(try decodeFixture("ipv6-linktype.pcap")[0].destinationPort == 5353)
    }

    @Test func snaplenTruncatedSaysWhichLayerWasCut() throws {
        let p = try decodeFixture("snaplen-truncated.pcap")
        #expect(p.allSatisfy { $0.malformed == nil })
        #expect(p[0].cut == .payload && p[0].layers.contains(.tcp))
        #expect(p[0].payloadLength == 100 && p[0].capturedPayloadLength == 10)
        #expect(p[0].destinationPort == 80)
        #expect(p[1].cut == .tcp && p[1].layers.contains(.ipv4) && !p[1].layers.contains(.tcp))
        #expect(p[2].cut == .ipv4 && !p[2].layers.contains(.ipv4))
        #expect(p[3].cut == .payload && p[3].ipVersion == 6 && p[3].destinationPort == 53 && p[3].capturedPayloadLength == 2)
    }

    @Test func checksumsVerifiedOnRequest() throws {
        let p = try decodeFixture("checksums.pcap", verifyChecksums: true)
        #expect(p[0].ipChecksum == .good && p[0].transportChecksum == .good)
        #expect(p[1].transportChecksum == .good)
        #expect(p[2].transportChecksum == .good)
        #expect(p[3].transportChecksum == .good)
        #expect(p[4].ipChecksum == .bad && p[4].anomalies.contains(.badIPv4Checksum))
        #expect(p[5].ipChecksum == .good && p[5].transportChecksum == .bad && p[5].anomalies.contains(.badTransportChecksum))
        #expect(p[6].transportChecksum == .bad)
        #expect(p[7].transportChecksum == .bad)
        #expect(p[8].transportChecksum == .bad)
        #expect(p[9].transportChecksum == .unverifiable)  // UDP over IPv4 without a checksum
        #expect(p.allSatisfy { $0.malformed == nil })
        // Off by default: nothing is checked.
        let unchecked = try decodeFixture("checksums.pcap")
        #expect(unchecked.allSatisfy { $0.ipChecksum == .unverified && $0.transportChecksum == .unverified })
    }

    @Test func icmpEchoAndErrors() throws {
        let p = try decodeFixture("icmp.pcap")
        #expect(p[0].layers.contains(.icmpv4) && p[0].icmp.type == 8 && p[0].icmp.identifier == 77 && p[0].icmp.sequence == 1)
        #expect(p[1].icmp.type == 0 && p[1].icmp.identifier == 77)
        let quote = try #require(p[2].icmp.quoted)
        #expect(p[2].icmp.type == 3 && p[2].icmp.code == 3 && p[2].layers.contains(.icmpQuote))
        #expect(quote.ipProtocol == .udp && quote.source == ip("10.5.0.1") && quote.destination == ip("10.5.0.2"))
        #expect(quote.hasPorts && quote.sourcePort == 33434 && quote.destinationPort == 33435)
        #expect(p[3].layers.contains(.icmpv6) && p[3].icmp.type == 128 && p[3].icmp.identifier == 9 && p[3].icmp.sequence == 2)
        #expect(p[4].icmp.type == 129)
        let quote6 = try #require(p[5].icmp.quoted)
        #expect(p[5].icmp.type == 2 && quote6.ipVersion == 6 && quote6.ipProtocol == .tcp)
        #expect(quote6.sourcePort == 44000 && quote6.destinationPort == 443)
        #expect(p.allSatisfy { $0.malformed == nil && $0.cut == nil })
    }

    @Test func malformedPacketsSayWhy() throws {
        let p = try decodeFixture("malformed.pcap")
        #expect(p[0].malformed == .invalidHeaderLength(.ipv4, 16))
        #expect(p[1].malformed == .lengthExceedsPacket(.ipv4, claimed: 1500, available: 40))
        #expect(p[1].layers.contains(.tcp))  // what is there still decodes
        #expect(p[2].malformed == .invalidHeaderLength(.tcp, 12))
        #expect(p[3].malformed == .lengthBelowHeader(.udp, 4))
        #expect(p[4].malformed == .unsupportedVersion(5))
        #expect(p[5].malformed == .truncated(.tcp, needed: 20, available: 10))
        #expect(p[6].malformed == .truncated(.ethernet, needed: 14, available: 10))
        #expect(p.allSatisfy { $0.cut == nil })
    }

    @Test func otherEthernetFrames() throws {
        let p = try decodeFixture("ethernet-misc.pcap")
        #expect(p[0].layers == [.ethernet, .arp] && p[0].malformed == nil)
        #expect(p[1].layers == [.ethernet, .llc] && p[1].ipVersion == 0 && p[1].malformed == nil)  // 802.3 length field, LLC without SNAP
        #expect(p[2].anomalies.contains(.trailingBytes) && p[2].ipTotalLength == 40 && p[2].payloadLength == 0)
    }

    @Test func unsupportedLinkTypeIsTyped() {
        #expect(throws: DecodeError.unsupportedLinkType(107)) { try PacketDecoder(linkType: LinkType(rawValue: 107)) }
    }
}
