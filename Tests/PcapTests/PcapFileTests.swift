import CPcap
import Pcap
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let f = fopen(path, "wb")!
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    fclose(f)
}

func allPackets(_ file: inout PcapFile) throws(CaptureError) -> [(PacketMetadata, [UInt8])] {
    var out: [(PacketMetadata, [UInt8])] = []
    while let item = try file.next({ meta, bytes in
        (meta, (0..<bytes.count).map { bytes[$0] })
    }) { out.append(item) }
    return out
}

@Suite struct PcapFileTests {
    @Test func readsNanosecondPcap() throws {
        var file = try PcapFile(path: Paths.fixture("vlan.pcap"))
        #expect(file.linkType == .ethernet && file.linkTypeName == "EN10MB")
        #expect(file.snapshotLength == 262_144)
        let packets = try allPackets(&file)
        #expect(packets.count == 3)
        // make_crafted.py: record i is at 1_700_000_000 + i seconds and 1000 * i + 1 nanoseconds.
        for (i, (meta, bytes)) in packets.enumerated() {
            #expect(meta.timestamp == Timestamp(seconds: 1_700_000_000 + Int64(i), nanoseconds: 1000 * Int64(i) + 1))
            #expect(meta.capturedLength == bytes.count && meta.wireLength == bytes.count)
        }
        #expect(file.packetsRead == 3)
    }

    @Test func microsecondFilesGiveWholeMicroseconds() throws {
        var file = try PcapFile(path: Paths.fixture("tcp-loopback.pcap"))
        let packets = try allPackets(&file)
        #expect(packets.count == 10)
        #expect(packets.allSatisfy { $0.0.timestamp.nanoseconds % 1000 == 0 })
        #expect(packets.allSatisfy { $0.0.timestamp.seconds > 1_700_000_000 })
    }

    @Test func readsPcapng() throws {
        let path = Paths.corpus + "/pcaps/pcapng-test-generator__output_le__basic__test001.pcapng"
        guard access(path, R_OK) == 0 else { return }
        var file = try PcapFile(path: path)
        let packets = try allPackets(&file)
        #expect(packets.count > 0)
    }

    @Test func snaplenCutRecordsKeepTheirWireLength() throws {
        var file = try PcapFile(path: Paths.fixture("snaplen-truncated.pcap"))
        #expect(file.snapshotLength == 64)
        let packets = try allPackets(&file)
        #expect(packets.map(\.0.capturedLength) == [64, 44, 24, 64])
        #expect(packets[0].0.wireLength == 154)  // 14 + 20 + 20 + 100
        #expect(packets[3].0.wireLength == 162)  // 14 + 40 + 8 + 100
    }

    @Test func missingFile() {
        #expect(throws: CaptureError.fileNotFound(path: "/nonexistent/x.pcap", message: "No such file or directory")) {
            _ = try PcapFile(path: "/nonexistent/x.pcap")
        }
    }

    @Test func notACaptureFile() throws {
        do {
            _ = try PcapFile(path: Paths.fixture("make_crafted.py"))
            Issue.record("opened a Python script as a capture")
        } catch {
            guard case let .notACaptureFile(_, message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("unknown file format"))
            #expect(error.description.contains("not a pcap or pcapng capture file"))
        }
    }

    @Test func emptyAndHeaderOnlyFiles() throws {
        let empty = Paths.temporary("empty.pcap")
        writeFile(empty, [])
        do {
            _ = try PcapFile(path: empty)
            Issue.record("opened an empty file")
        } catch {
            guard case .emptyFile = error else { Issue.record("\(error)"); return }
        }
        // A valid 24-byte header and no records: zero packets, no error.
        let headerOnly = Paths.temporary("header.pcap")
        writeFile(headerOnly, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0])
        var file = try PcapFile(path: headerOnly)
        #expect(try allPackets(&file).isEmpty)
    }

    @Test func directoryIsNotACapture() {
        #expect(throws: CaptureError.notACaptureFile(path: "/tmp", message: "is a directory")) { _ = try PcapFile(path: "/tmp") }
    }

    @Test func cutMidRecordDeliversEveryCompletePacketThenThrows() throws {
        var file = try PcapFile(path: Paths.fixture("cut-mid-record.pcap"))
        var delivered = 0
        do {
            while try file.next({ _, _ in () }) != nil { delivered += 1 }
            Issue.record("no error at the cut")
        } catch {
            guard case let .truncatedRecord(packetsRead, message) = error else { Issue.record("\(error)"); return }
            #expect(packetsRead == 3)
            #expect(message.contains("truncated"))
        }
        #expect(delivered == 3)
    }

    @Test func hugeCapturedLengthIsACorruptRecord() throws {
        // One good record, then a record header claiming 2^31 captured bytes.
        var bytes: [UInt8] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]
        bytes += [1, 0, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0, 14, 0, 0, 0] + [UInt8](repeating: 0xAA, count: 14)
        bytes += [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0x80]
        let path = Paths.temporary("huge.pcap")
        writeFile(path, bytes)
        var file = try PcapFile(path: path)
        var delivered = 0
        do {
            while try file.next({ _, _ in () }) != nil { delivered += 1 }
            Issue.record("no error for a 2^31 captured length")
        } catch {
            guard case let .corruptRecord(packetsRead, _) = error else { Issue.record("\(error)"); return }
            #expect(packetsRead == 1)
        }
        #expect(delivered == 1)
    }

    @Test func filterSelectsPackets() throws {
        var udp = try PcapFile(path: Paths.fixture("checksums.pcap"), filter: "udp")
        // make_crafted.py checksums.pcap: UDP records are 2, 4, 7, 9, 10 (two over IPv6).
        #expect(try allPackets(&udp).count == 5)
        var port = try PcapFile(path: Paths.fixture("tcp-loopback.pcap"))
        try port.setFilter("tcp[tcpflags] & tcp-fin != 0")
        #expect(try allPackets(&port).count == 2)
    }

    @Test func badFilterCarriesLibpcapMessage() {
        do {
            _ = try PcapFile(path: Paths.fixture("vlan.pcap"), filter: "tcp port banana")
            Issue.record("bad filter accepted")
        } catch {
            guard case let .badFilter(expression, message) = error else { Issue.record("\(error)"); return }
            #expect(expression == "tcp port banana")
            #expect(message.contains("banana"))
        }
    }

    @Test func writerRoundTrip() throws {
        let path = Paths.temporary("written.pcap")
        let frames: [(PacketMetadata, [UInt8])] = [
            (PacketMetadata(timestamp: Timestamp(seconds: 1_600_000_000, nanoseconds: 123_456_789), capturedLength: 4, wireLength: 4), [1, 2, 3, 4]),
            (PacketMetadata(timestamp: Timestamp(seconds: 1_600_000_001, nanoseconds: 1), capturedLength: 3, wireLength: 1500), [9, 8, 7]),
        ]
        do {
            let writer = try PcapWriter(path: path, linkType: .ethernet)
            for (meta, bytes) in frames { writer.write(meta, bytes: bytes) }
            try writer.flush()
        }
        var file = try PcapFile(path: path)
        #expect(file.linkType == .ethernet)
        let back = try allPackets(&file)
        #expect(back.count == 2)
        #expect(back[0].0 == frames[0].0 && back[0].1 == frames[0].1)
        #expect(back[1].0.timestamp == frames[1].0.timestamp)
        #expect(back[1].0.wireLength == 1500 && back[1].0.capturedLength == 3 && back[1].1 == [9, 8, 7])
    }

    @Test func writerToUnwritablePathFails() {
        do {
            _ = try PcapWriter(path: "/nonexistent-dir/out.pcap", linkType: .ethernet)
            Issue.record("created a file in a missing directory")
        } catch {
            guard case .writeFailed = error else { Issue.record("\(error)"); return }
        }
    }

    @Test func timestampArithmetic() {
        let t = Timestamp(seconds: 10, nanoseconds: 5)
        #expect(t.seconds == 10 && t.fractionNanoseconds == 5)
        let before = Timestamp(nanoseconds: -1)
        #expect(before.seconds == -1 && before.fractionNanoseconds == 999_999_999)
        #expect(linkTypeName(113) == "LINUX_SLL")
        #expect(libpcapVersion.contains("libpcap"))
    }
}
