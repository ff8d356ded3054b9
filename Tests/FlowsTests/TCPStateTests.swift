@testable import Flows
import Testing

/// Every commented transition of `tcp_conntracks` (Docs/Conntrack.md §2).
@Suite struct TCPStateTests {
    @Test func tableHasOneEntryPerDirectionClassAndState() {
        #expect(TCPState.transitions.count == 2 * SegmentClass.count * TCPState.stored)
    }

    @Test(arguments: [
        // original direction
        (Direction.original, SegmentClass.syn, TCPState.initial, TCPState.synSent),
        (.original, .syn, .synSent, .synSent), (.original, .syn, .established, .ignore), (.original, .syn, .timeWait, .synSent),
        (.original, .syn, .close, .synSent), (.original, .syn, .synSent2, .synSent2),
        (.original, .synAck, .initial, .invalid), (.original, .synAck, .synReceived, .synReceived),
        (.original, .synAck, .synSent2, .synReceived), (.original, .synAck, .established, .invalid),
        (.original, .fin, .initial, .invalid), (.original, .fin, .synSent, .invalid), (.original, .fin, .synReceived, .finWait),
        (.original, .fin, .established, .finWait), (.original, .fin, .finWait, .lastAck), (.original, .fin, .closeWait, .lastAck),
        (.original, .fin, .timeWait, .timeWait), (.original, .fin, .close, .close),
        (.original, .ack, .initial, .established), (.original, .ack, .synSent, .invalid), (.original, .ack, .synReceived, .established),
        (.original, .ack, .finWait, .closeWait), (.original, .ack, .lastAck, .timeWait), (.original, .ack, .synSent2, .invalid),
        (.original, .rst, .initial, .invalid), (.original, .rst, .synSent, .close), (.original, .rst, .established, .close),
        (.original, .rst, .timeWait, .close), (.original, .other, .established, .invalid),
        // reply direction
        (.reply, .syn, .initial, .invalid), (.reply, .syn, .synSent, .synSent2), (.reply, .syn, .timeWait, .synSent),
        (.reply, .syn, .established, .invalid), (.reply, .synAck, .synSent, .synReceived), (.reply, .synAck, .synSent2, .synReceived),
        (.reply, .synAck, .synReceived, .ignore), (.reply, .synAck, .established, .ignore), (.reply, .synAck, .initial, .invalid),
        (.reply, .fin, .established, .finWait), (.reply, .fin, .finWait, .lastAck), (.reply, .fin, .synSent, .invalid),
        (.reply, .ack, .synSent, .ignore), (.reply, .ack, .synReceived, .synReceived), (.reply, .ack, .established, .established),
        (.reply, .ack, .finWait, .closeWait), (.reply, .ack, .lastAck, .timeWait), (.reply, .ack, .synSent2, .ignore),
        (.reply, .ack, .initial, .invalid), (.reply, .rst, .synReceived, .close), (.reply, .rst, .initial, .invalid),
        (.reply, .other, .synSent, .invalid),
    ])
    func transition(_ d: Direction, _ c: SegmentClass, _ from: TCPState, _ to: TCPState) {
        #expect(TCPState.next(d, c, from) == to)
    }

    @Test(arguments: [
        (TCPFlags.syn, SegmentClass.syn), ([.syn, .ack], .synAck), ([.fin, .ack], .fin), (.ack, .ack),
        ([.ack, .psh], .ack), ([.rst, .ack], .rst), ([.syn, .rst], .rst), ([], .other), (.fin, .fin),
    ] as [(TCPFlags, SegmentClass)])
    func classification(_ flags: TCPFlags, _ expected: SegmentClass) {
        #expect(SegmentClass(flags) == expected)
    }

    @Test func flagValidityFollowsTcpError() {
        #expect(SegmentClass.isValid(.syn) && SegmentClass.isValid([.syn, .ack]) && SegmentClass.isValid([.fin, .ack]))
        #expect(SegmentClass.isValid([.ack, .psh, .ece, .cwr]) && SegmentClass.isValid(.rst) && SegmentClass.isValid([.rst, .ack]))
        #expect(!SegmentClass.isValid(.fin) && !SegmentClass.isValid([]) && !SegmentClass.isValid([.syn, .fin]))
        #expect(!SegmentClass.isValid([.fin, .rst, .ack]) && !SegmentClass.isValid([.syn, .rst]))
    }

    @Test func conntrackTimeouts() {
        #expect(TrackerConfiguration.conntrackTimeout(.established) == 432_000)
        #expect(TrackerConfiguration.conntrackTimeout(.synSent) == 120)
        #expect(TrackerConfiguration.conntrackTimeout(.close) == 10)
        #expect(TrackerConfiguration.conntrackTimeout(.lastAck) == 30)
    }
}

@Suite struct HistoryAndHelpersTests {
    @Test func historyStoresMoreThanItsInlineLetters() {
        var h = History()
        let letters = Array("ShADadTTTttt".utf8)
        for l in letters { h.append(l) }
        #expect(h.string == "ShADadTTTttt")
        #expect(h.letters == letters && !h.hasOverflow)
        var one = History()
        one.append(UInt8(ascii: "H"))
        #expect(one.isExactly(UInt8(ascii: "H")) && !h.isExactly(UInt8(ascii: "S")))
    }

    @Test func everyHistoryLetterRoundTripsAndNothingElseHasACode() {
        // Each of Zeek's 26 letters, alone and after eleven others, reads back as itself.
        let alphabet = Array("SHADFRCGTWIQ^shadfrcgtwiqX".utf8)
        var codes = Set<UInt64>()
        for letter in alphabet {
            var h = History()
            h.append(letter)
            #expect(h.string == String(decoding: [letter], as: UTF8.self) && h.isExactly(letter))
            var long = History()
            for l in alphabet.prefix(11) { long.append(l) }
            long.append(letter)
            #expect(long.letters == Array(alphabet.prefix(11)) + [letter])
            codes.insert(History.code(letter))
        }
        #expect(codes.count == 26 && !codes.contains(0) && codes.allSatisfy { $0 < 32 })
        for byte in UInt8.min...UInt8.max where !alphabet.contains(byte) {
            #expect(History.code(byte) == 0, "byte \(byte)")
        }
    }

    @Test func historyBeyondItsInlineLettersSpills() {
        var h = History()
        let alphabet = Array("SHADFRCGTWIQ^shadfrcgtwiqX".utf8)
        for i in 0..<35 { h.append(alphabet[i % alphabet.count]) }
        #expect(h.letters == Array("SHADFRCGTWIQ".utf8))  // twelve inline
        #expect(h.spillCount == 4 && h.hasOverflow)  // at most four letters wait between packets; more are not taken
        #expect(h.takeSpill() == Array("^sha".utf8))
        #expect(h.spillCount == 0 && h.hasOverflow && h.letters.count == 12)
        h.append(UInt8(ascii: "R"))
        #expect(h.takeSpill() == [UInt8(ascii: "R")])
        #expect(MemoryLayout<History>.size == 12)
    }

    @Test func connectionStateFitsItsBudget() {
        // 208-byte table entries: 40-byte key + 168-byte state (two 46-byte sides).
        #expect(MemoryLayout<Side>.size == 46)
        #expect(MemoryLayout<ConnectionState>.stride == 168)
        #expect(MemoryLayout<TimerQueue.Timer>.stride == 16)
    }

    @Test func logarithmicCounterFiresOnPowersOfTen() {
        var counter: UInt32 = 0
        var fired: [UInt32] = []
        for _ in 0..<1500 { if ConnectionTable.bump(&counter) { fired.append(counter) } }
        #expect(fired == [1, 10, 100, 1000])
    }

    @Test func sequenceExtensionAcrossWrap() {
        #expect(extend(0x0000_0010, near: 0xFFFF_FFF0) == 0x1_0000_0010)
        #expect(extend(0xFFFF_FFF0, near: 0x1_0000_0010) == 0xFFFF_FFF0)
        #expect(extend(500, near: 400) == 500)
        #expect(extend(5, near: 3) == 5)
    }

    @Test func rstos0HistoryPattern() {
        for yes in ["SR", "SaR", "^SR", "SrR", "SdR", "ShR"] { #expect(ConnectionTable.historyIsRSTOS0(Array(yes.utf8)), "\(yes)") }
        for no in ["SaFR", "SHR", "SAR", "R", "hSR", "S"] { #expect(!ConnectionTable.historyIsRSTOS0(Array(no.utf8)), "\(no)") }
    }

    @Test func subnetsAndLocalNetworks() {
        let net = Subnet("10.1.0.0/16")!
        #expect(net.contains(IPAddress("10.1.255.3")!) && !net.contains(IPAddress("10.2.0.1")!))
        #expect(Subnet("192.168.1.77/24")!.description == "192.168.1.0/24")
        #expect(Subnet("2001:db8::/32")!.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(!Subnet("2001:db8::/32")!.contains(IPAddress("10.0.0.1")!))
        #expect(Subnet("10.0.0.0/33") == nil && Subnet("banana") == nil)
        let zeek = LocalNetworks.zeekDefault
        #expect(zeek.contains(IPAddress("192.168.3.4")!) && zeek.contains(IPAddress("fe80::1")!))
        #expect(zeek.contains(IPAddress("2002:c0a8:0101::1")!))  // 6to4 image of 192.168.1.1
        #expect(!zeek.contains(IPAddress("8.8.8.8")!) && !zeek.contains(IPAddress("2606:4700::1111")!))
    }
}
