import CPcap
import Pcap
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// PcapFile reads classic pcap files with its own record reader; libpcap (`pcap_next_ex`,
/// called directly here) is the oracle: for every file, the same records (times, lengths,
/// bytes) and, for a damaged one, the same error text after the same records.
@Suite struct OwnReaderTests {
    /// A record as libpcap or PcapFile gives it.
    struct Read: Equatable, CustomStringConvertible {
        var time: Int64, captured: Int, wire: Int, bytes: [UInt8]
        var description: String { "\(time) \(captured)/\(wire) \(bytes.prefix(4))" }
    }

    /// What libpcap reads: the records, then its error text (empty at a clean end).
    static func libpcap(_ path: String, filter: String? = nil) -> ([Read], String) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let p = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            return ([], "open failed")
        }
        defer { pcap_close(p) }
        if let filter {
            var program = bpf_program()
            _ = pcap_compile(p, &program, filter, 1, PCAP_NETMASK_UNKNOWN)
            _ = pcap_setfilter(p, &program)
            pcap_freecode(&program)
        }
        var out: [Read] = []
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        while true {
            let status = pcap_next_ex(p, &header, &data)
            guard status == 1, let h = header?.pointee, let data else {
                return (out, status == PCAP_ERROR_BREAK ? "" : String(cString: pcap_geterr(p)))
            }
            out.append(Read(time: Int64(h.ts.tv_sec) * 1_000_000_000 + Int64(h.ts.tv_usec), captured: Int(h.caplen),
                            wire: Int(h.len), bytes: Array(UnsafeBufferPointer(start: data, count: Int(h.caplen)))))
        }
    }

    /// What PcapFile reads: the records, then the error's libpcap-style text.
    static func own(_ path: String, filter: String? = nil) throws -> ([Read], String) {
        var file = try PcapFile(path: path, filter: filter)
        var out: [Read] = []
        do throws(CaptureError) {
            while let r = try file.next({ meta, bytes in
                Read(time: meta.timestamp.nanoseconds, captured: meta.capturedLength, wire: meta.wireLength,
                     bytes: (0..<bytes.count).map { bytes[$0] })
            }) { out.append(r) }
            return (out, "")
        } catch {
            switch error {
            case let .truncatedRecord(_, message), let .corruptRecord(_, message): return (out, message)
            default: return (out, "\(error)")
            }
        }
    }

    static func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }

    /// A pcap file: header (magic, snaplen, Ethernet) then records (seconds, fraction,
    /// captured, wire, and `captured` bytes unless `data` says otherwise).
    static func file(nanoseconds: Bool = false, snaplen: UInt32 = 65_535,
                     records: [(seconds: UInt32, fraction: UInt32, captured: UInt32, wire: UInt32, data: Int?)], tail: [UInt8] = []) -> [UInt8] {
        var b = le32(nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(snaplen) + le32(1)
        for (i, r) in records.enumerated() {
            b += le32(r.seconds) + le32(r.fraction) + le32(r.captured) + le32(r.wire)
            b += (0..<(r.data ?? Int(r.captured))).map { UInt8(truncatingIfNeeded: $0 &+ i * 7) }
        }
        return b + tail
    }

    static let cases: [(String, [UInt8])] = [
        ("microseconds", file(records: [(1_700_000_000, 999_999, 60, 60, nil), (1_700_000_001, 5, 42, 1514, nil)])),
        ("nanoseconds", file(nanoseconds: true, records: [(1_700_000_000, 999_999_999, 60, 60, nil), (1, 0, 0, 0, nil)])),
        ("negative time", file(records: [(0xFFFF_FFFF, 0xFFFF_FFFF, 20, 20, nil)])),
        ("longer than the snapshot length", file(snaplen: 64, records: [(1, 1, 100, 100, nil), (2, 2, 50, 50, nil)])),
        ("longer than 262144", file(snaplen: 0, records: [(1, 1, 60, 60, nil), (2, 2, 300_000, 300_000, 0)])),
        ("truncated header", file(records: [(1, 1, 60, 60, nil)], tail: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])),
        ("truncated data", file(records: [(1, 1, 60, 60, nil), (2, 2, 100, 100, 30)])),
        ("truncated before the snapshot length", file(snaplen: 64, records: [(1, 1, 200, 200, 40)])),
        ("truncated after the snapshot length", file(snaplen: 64, records: [(1, 1, 200, 200, 100)])),
        ("records across buffer refills", file(records: (0..<3000).map { i in (UInt32(i), 0, UInt32(i * 37 % 1500 + 1), 1500, nil) })),
        ("largest record", file(snaplen: 262_144, records: [(1, 1, 262_144, 262_144, nil), (2, 2, 10, 10, nil)])),
    ]

    @Test(arguments: cases.indices)
    func readsEveryRecordAsLibpcapDoes(index: Int) throws {
        let (name, bytes) = Self.cases[index]
        let path = Paths.temporary("own-reader-\(index).pcap")
        writeFile(path, bytes)
        let (want, wantError) = Self.libpcap(path)
        let (got, gotError) = try Self.own(path)
        #expect(got.count == want.count && got == want, "\(name): \(got.count) records, libpcap \(want.count)")
        #expect(gotError == wantError, "\(name)")
        #expect(!want.isEmpty || !wantError.isEmpty, "\(name): the case reads something")
    }

    /// The filter runs on the own reader's records (`pcap_offline_filter`) as libpcap's does.
    @Test(arguments: ["tcp", "udp port 53", "vlan", "ip6"])
    func filtersAsLibpcapDoes(filter: String) throws {
        for fixture in ["tcp-loopback.pcap", "vlan.pcap", "many-flows.pcap", "conn-ipv6.pcap"] {
            let (want, _) = Self.libpcap(Paths.fixture(fixture), filter: filter)
            let (got, _) = try Self.own(Paths.fixture(fixture), filter: filter)
            #expect(got == want, "\(fixture) with \(filter): \(got.count) vs \(want.count)")
        }
    }

    /// A file still being written: what was appended after the end was first reached is
    /// read on the next call, as libpcap reads it.
    @Test func aGrowingFileIsReadToItsNewEnd() throws {
        let path = Paths.temporary("own-reader-growing.pcap")
        let first = Self.file(records: [(1, 1, 60, 60, nil)])
        writeFile(path, first)
        var file = try PcapFile(path: path)
        #expect(try file.next { meta, _ in meta.capturedLength } == 60)
        #expect(try file.next { meta, _ in meta.capturedLength } == nil)
        let more = Self.file(records: [(1, 1, 60, 60, nil), (2, 2, 70, 70, nil)])
        writeFile(path, more)
        #expect(try file.next { meta, _ in meta.capturedLength } == 70)
        #expect(file.bytesRead == more.count)
    }

    /// A FIFO (or a pipe given as /dev/fd/N) is read once, by libpcap: the same packets as
    /// the file it carries.
    @Test func aFIFOIsReadByLibpcap() throws {
        let fixture = Paths.fixture("many-flows.pcap")
        let fifo = Paths.temporary("own-reader-\(getpid()).fifo")
        unlink(fifo)
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        #expect(system("cat '\(fixture)' > '\(fifo)' &") == 0)
        let (got, error) = try Self.own(fifo)
        let (want, _) = Self.libpcap(fixture)
        #expect(error.isEmpty && got.count == want.count && got == want, "\(got.count) of \(want.count): \(error)")
    }
}
