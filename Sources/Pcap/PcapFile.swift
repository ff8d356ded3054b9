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
/// copied. The file is read through a 64 KiB stdio buffer: libpcap's default 4 KiB
/// costs about 40 % of the read loop in system calls, while a buffer as large as the
/// L2 cache (1 MiB) pushes the flow table out of it on every refill (bench-1m: 64 KiB
/// is 8 % faster end to end than 1 MiB).
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
        let handle = PcapHandle(pcap: pcap, buffer: buffer)
        if let filter { try handle.setFilter(filter) }
        self.linkType = LinkType(rawValue: pcap_datalink(pcap))
        self.snapshotLength = Int(pcap_snapshot(pcap))
        self.path = path
        self.handle = handle
    }

    /// Bytes of the file consumed so far (for progress reports; 0 for standard input).
    /// The corresponding libpcap function is `pcap_file()`.
    public var bytesRead: Int {
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
    public func setFilter(_ expression: String) throws(CaptureError) {
        try handle.setFilter(expression)
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
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let status = pcap_next_ex(handle.pcap, &header, &data)
        if status == 1, let header, let data {
            let h = header.pointee
            let meta = PacketMetadata(
                timestamp: Timestamp(seconds: Int64(h.ts.tv_sec), nanoseconds: Int64(h.ts.tv_usec)),
                capturedLength: Int(h.caplen), wireLength: Int(h.len))
            _packetsRead += 1
            let buffer = UnsafeBufferPointer(start: data, count: Int(h.caplen))
            return body(meta, buffer.span)
        }
        if status == PCAP_ERROR_BREAK { return nil }
        throw readError()
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
