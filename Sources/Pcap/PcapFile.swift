import CPcap
import Packets
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pcap or pcapng capture file opened for reading, with nanosecond timestamps.
///
/// Packets are pulled one at a time with ``next(_:)``; each is handed to a closure
/// as a borrowed `Span<UInt8>` that is valid only during the call, so nothing is
/// copied.
///
/// libpcap opens every file and reads its header. A classic pcap file (magic `a1b2c3d4` or
/// `a1b23c4d` in this machine's byte order, version 2.4) is then read by FlowTrack's own
/// record reader: `pread` into a buffer, 64 KiB at a time, and each packet's span points
/// into that buffer. libpcap copies every packet a second time (stdio buffer → its own
/// buffer, through `fread`); on bench-1m that copy and `fread` were a sixth of the reading
/// thread's time. The reader follows libpcap's rules record for record: a record longer
/// than the snapshot length is cut to it, a captured length beyond 262,144 is an error,
/// and a truncated record gets the same error text. It applies the filter with
/// `pcap_offline_filter`. Everything else goes through `pcap_next_ex` with a 64 KiB stdio
/// buffer: pcapng, standard input, byte-swapped or old-version files, and link types with
/// their own limits. (libpcap's default 4 KiB buffer costs about 40 % of the read loop in
/// system calls, while one as large as the L2 cache, 1 MiB, pushes the flow table out of
/// it on every refill.)
///
/// ```swift
/// var file = try PcapFile(path: "trace.pcap")
/// while let length = try file.next({ meta, bytes in bytes.count }) { print(length) }
/// ```
///
/// A `PcapFile` is non-copyable (`~Copyable`): it owns the libpcap handle and closes it
/// exactly once, when the value goes away. Keep it in a `var` and pass it `inout` (or
/// `consuming` to hand it over); a copy would close the same handle twice. There is no
/// `for packet in file` loop because each packet's bytes live in libpcap's buffer only until
/// the next read: copying them out for a sequence element is exactly what ``next(_:)`` avoids.
public struct PcapFile: ~Copyable {
    @usableFromInline let handle: PcapHandle
    /// The own reader's buffer (`nil` when libpcap reads), its parse position and the end
    /// of what has been read into it, and the bytes of the file before the buffer. The
    /// buffer, descriptor and filter are owned by the handle's ``RecordSource``; the copies
    /// here spare the per-packet path a class access (a retain and release each).
    @usableFromInline let readBuffer: UnsafeMutableRawPointer?
    @usableFromInline let descriptor: Int32
    @usableFromInline var start = 0
    @usableFromInline var end = 0
    @usableFromInline var consumed = 24
    /// The own reader's filter (owned by the handle's ``RecordSource``).
    @usableFromInline var program: bpf_program?
    /// Whether the file's timestamps are in nanoseconds (else microseconds).
    @usableFromInline var nanosecondFile = false
    /// The own reader's buffer: room for the largest record libpcap accepts, read into
    /// 64 KiB at a time.
    @usableFromInline static var readCapacity: Int { 262_144 + 16 + 65_536 }
    /// The path the file was opened from (`-` for standard input).
    public let path: String
    /// The link-layer header type (its `DLT_` value is what `pcap_datalink()` returns).
    public let linkType: LinkType
    /// The snapshot length recorded in the file header.
    public let snapshotLength: Int
    /// Complete packets delivered so far.
    public var packetsRead: Int { _packetsRead }
    @usableFromInline var _packetsRead: Int = 0

    /// Opens a capture file; `-` reads standard input.
    ///
    /// - Parameters:
    ///   - path: the file to read, or `-` for standard input.
    ///   - filter: an optional BPF filter expression in pcap-filter(7) syntax.
    /// - Throws: `CaptureError` when the file is missing, unreadable, not a
    ///   capture, or the filter does not compile.
    /// The corresponding libpcap function is `pcap_fopen_offline_with_tstamp_precision()`.
    public init(path: String, filter: String? = nil) throws(CaptureError) {
        let file: UnsafeMutablePointer<FILE>?
        if path == "-" {
            file = fdopen(dup(0), "rb")
        } else {
            file = fopen(path, "rb")
        }
        guard let file else {
            let code = errno
            let message = String(cString: strerror(code))
            switch code {
            case ENOENT, ENOTDIR: throw .fileNotFound(path: path, message: message)
            case EACCES, EPERM: throw .permissionDenied(path: path, message: message)
            default: throw .notACaptureFile(path: path, message: message)
            }
        }
        var statInfo = stat()
        if fstat(fileno(file), &statInfo) == 0, (statInfo.st_mode & S_IFMT) == S_IFDIR {
            fclose(file)
            throw .notACaptureFile(path: path, message: "is a directory")
        }
        if (statInfo.st_mode & S_IFMT) == S_IFREG, statInfo.st_size == 0 {
            fclose(file)
            throw .emptyFile(path: path)
        }
        let bufferSize = 1 << 16
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bufferSize)
        setvbuf(file, buffer, _IOFBF, bufferSize)
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let pcap = pcap_fopen_offline_with_tstamp_precision(
            file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf)
        else {
            fclose(file)
            buffer.deallocate()
            let message = errorText(errbuf)
            throw .notACaptureFile(path: path, message: message.isEmpty ? "empty file" : message)
        }
        // Only a regular file: a pipe or a FIFO is read once, by libpcap.
        let regular = path != "-" && (statInfo.st_mode & S_IFMT) == S_IFREG
        let kind = regular ? Self.ownReaderKind(descriptor: fileno(file), linkType: pcap_datalink(pcap)) : nil
        let source = kind == nil ? nil : RecordSource(duplicating: fileno(file), capacity: Self.readCapacity)
        let handle = PcapHandle(pcap: pcap, buffer: buffer, source: source)
        let program = try filter.flatMap { expression throws(CaptureError) in try handle.setFilter(expression) }
        self.linkType = LinkType(rawValue: pcap_datalink(pcap))
        self.snapshotLength = Int(pcap_snapshot(pcap))
        readBuffer = source?.buffer
        descriptor = source?.descriptor ?? -1
        self.program = program
        nanosecondFile = source != nil && kind == true
        self.path = path
        self.handle = handle
    }

    /// Whether FlowTrack's own reader reads a file: `true` for nanosecond timestamps,
    /// `false` for microseconds, `nil` when it goes through libpcap (see the type's overview).
    static func ownReaderKind(descriptor: Int32, linkType: Int32) -> Bool? {
        // Link types whose largest record libpcap sets apart from 262,144 bytes: D-Bus,
        // EBHSCR, USBPcap.
        guard ![231, 279, 249].contains(linkType) else { return nil }
        var header = [UInt32](repeating: 0, count: 2)
        guard pread(descriptor, &header, 8, 0) == 8 else { return nil }
        let version = header[1]  // major (16 bits) then minor, in the file's byte order
        guard version == 2 | 4 << 16 else { return nil }
        switch header[0] {
        case 0xA1B2_C3D4: return false
        case 0xA1B2_3C4D: return true
        default: return nil
        }
    }

    /// Bytes of the file consumed so far (for progress reports; 0 for standard input).
    /// The corresponding libpcap function is `pcap_file()`.
    public var bytesRead: Int {
        if readBuffer != nil { return consumed + start }
        guard path != "-", let file = pcap_file(handle.pcap) else { return 0 }
        return max(0, ftell(file))
    }

    /// libpcap's name for the link type, such as `EN10MB` or `LINUX_SLL`.
    public var linkTypeName: String { Pcap.linkTypeName(linkType.rawValue) }

    /// A decoder for this capture's link type.
    /// - Throws: `CaptureError.unsupportedLinkType` when FlowTrack cannot decode it.
    public func decoder(verifyChecksums: Bool = PacketDecoder.verifiesChecksumsByDefault) throws(CaptureError) -> PacketDecoder {
        guard let decoder = try? PacketDecoder(linkType: linkType, verifyChecksums: verifyChecksums) else {
            throw .unsupportedLinkType(linkType: linkType, name: linkTypeName)
        }
        return decoder
    }

    /// Installs a BPF filter; only packets it accepts are delivered from now on.
    /// - Throws: `CaptureError.badFilter` with libpcap's message.
    /// The corresponding libpcap functions are `pcap_compile()` and `pcap_setfilter()`.
    public mutating func setFilter(_ expression: String) throws(CaptureError) {
        program = try handle.setFilter(expression)
    }

    /// Reads the next packet and hands it to `body` as a borrowed span.
    ///
    /// - Returns: what `body` returned, or `nil` at the end of the file.
    /// - Throws: `CaptureError.truncatedRecord` when the file ends inside a record,
    ///   `CaptureError.corruptRecord` for an impossible record header; every
    ///   complete packet before the damage has been delivered by earlier calls.
    /// The corresponding libpcap function is `pcap_next_ex()`.
    @inlinable
    public mutating func next<R>(_ body: (PacketMetadata, Span<UInt8>) -> R) throws(CaptureError) -> R? {
        guard let record = try nextRecord() else { return nil }
        let meta = PacketMetadata(timestamp: Timestamp(nanoseconds: record.time), capturedLength: record.captured,
                                  wireLength: record.wire)
        return body(meta, UnsafeBufferPointer(start: record.data, count: record.captured).span)
    }

    /// One record: its time (nanoseconds since 1970), lengths, and bytes (valid until the
    /// next read).
    @usableFromInline
    struct Record {
        @usableFromInline var time: Int64
        @usableFromInline var captured: Int
        @usableFromInline var wire: Int
        @usableFromInline var data: UnsafePointer<UInt8>

        @inlinable init(time: Int64, captured: Int, wire: Int, data: UnsafePointer<UInt8>) {
            self.time = time
            self.captured = captured
            self.wire = wire
            self.data = data
        }
    }

    /// The next record the filter accepts: from the own reader's buffer, or from `pcap_next_ex`; `nil`
    /// at the end of the file.
    @inlinable
    mutating func nextRecord() throws(CaptureError) -> Record? {
        guard let buffer = readBuffer else {
            var header: UnsafeMutablePointer<pcap_pkthdr>?
            var data: UnsafePointer<UInt8>?
            let status = pcap_next_ex(handle.pcap, &header, &data)
            if status == 1, let header, let data {
                let h = header.pointee
                _packetsRead += 1
                return Record(time: Int64(h.ts.tv_sec) * 1_000_000_000 + Int64(h.ts.tv_usec), captured: Int(h.caplen),
                              wire: Int(h.len), data: data)
            }
            if status == PCAP_ERROR_BREAK { return nil }
            throw readError()
        }
        while true {
            if end - start < 16, try !fill(16) {
                let available = end - start
                if available == 0 { return nil }
                throw .truncatedRecord(packetsRead: packetsRead,
                                       message: "truncated dump file; tried to read 16 header bytes, only got \(available)")
            }
            var h = UnsafeRawPointer(buffer + start)
            var captured = Int(UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
            // libpcap's checks (sf-pcap.c), with its texts.
            if captured > 262_144 {
                throw .corruptRecord(packetsRead: packetsRead, message: captured > snapshotLength
                    ? "invalid packet capture length \(captured), bigger than snaplen of \(snapshotLength)"
                    : "invalid packet capture length \(captured), bigger than maximum of 262144")
            }
            if end - start < 16 + captured {
                if try !fill(16 + captured) {
                    let available = end - start - 16
                    let tried = captured > snapshotLength && available < snapshotLength ? snapshotLength : captured
                    throw .truncatedRecord(packetsRead: packetsRead,
                                           message: "truncated dump file; tried to read \(tried) captured bytes, only got \(available)")
                }
                h = UnsafeRawPointer(buffer + start)
            }
            let seconds = Int64(Int32(bitPattern: UInt32(littleEndian: h.loadUnaligned(as: UInt32.self))))
            let fraction = Int64(Int32(bitPattern: UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 4, as: UInt32.self))))
            let wire = Int(UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
            start += 16 + captured
            captured = min(captured, snapshotLength)  // the rest of a record beyond the snapshot length is skipped
            let data = (h + 16).assumingMemoryBound(to: UInt8.self)
            if let program {
                var header = pcap_pkthdr()
                header.caplen = UInt32(captured)
                header.len = UInt32(truncatingIfNeeded: wire)
                let accepted = withUnsafePointer(to: program) { pcap_offline_filter($0, &header, data) }
                if accepted == 0 { continue }
            }
            _packetsRead += 1
            return Record(time: seconds * 1_000_000_000 + (nanosecondFile ? fraction : fraction * 1000), captured: captured,
                          wire: wire, data: data)
        }
    }

    /// Makes at least `needed` bytes available from `start` (moving what is left of the
    /// buffer to its front, then reading 64 KiB at a time); `false` at the end of the file.
    @usableFromInline
    mutating func fill(_ needed: Int) throws(CaptureError) -> Bool {
        guard let buffer = readBuffer else { return false }
        if start > 0 {
            let left = end - start
            if left > 0 { memmove(buffer, buffer + start, left) }
            consumed += start
            start = 0
            end = left
        }
        while end < needed {
            // The file header's 24 bytes come first; `consumed + end` is where the buffer's end
            // lies in the file.
            let count = pread(descriptor, buffer + end, min(65_536, Self.readCapacity - end), off_t(consumed + end))
            if count < 0 {
                if errno == EINTR { continue }
                throw .readFailed(message: "error reading dump file: " + String(cString: strerror(errno)))
            }
            if count == 0 { return false }
            end += count
        }
        return true
    }

    @usableFromInline
    func readError() -> CaptureError {
        let message = handle.lastError
        if message.contains("truncated") {
            return .truncatedRecord(packetsRead: packetsRead, message: message)
        }
        if message.contains("length") || message.contains("block") || message.contains("capture") {
            return .corruptRecord(packetsRead: packetsRead, message: message)
        }
        return .readFailed(message: message)
    }
}
