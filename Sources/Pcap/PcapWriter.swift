import Packets
import CPcap
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes packets to a pcap file with nanosecond timestamps.
///
/// The corresponding libpcap functions are `pcap_open_dead_with_tstamp_precision()`,
/// `pcap_dump_open()`, `pcap_dump()` and `pcap_dump_close()`.
public struct PcapWriter: ~Copyable {
    let dead: PcapHandle
    let dumper: OpaquePointer
    /// The file being written.
    public let path: String

    /// Creates (or truncates) `path` as a pcap file of the given link type.
    /// - Throws: `CaptureError.writeFailed` with libpcap's message.
    public init(path: String, linkType: LinkType, snapshotLength: Int = 262_144) throws(CaptureError) {
        guard let pcap = pcap_open_dead_with_tstamp_precision(
            linkType.rawValue, Int32(snapshotLength), UInt32(PCAP_TSTAMP_PRECISION_NANO))
        else { throw .writeFailed(path: path, message: "pcap_open_dead failed") }
        let dead = PcapHandle(pcap: pcap, buffer: nil)
        guard let dumper = pcap_dump_open(pcap, path) else {
            throw .writeFailed(path: path, message: dead.lastError)
        }
        self.dead = dead
        self.dumper = dumper
        self.path = path
    }

    deinit { pcap_dump_close(dumper) }

    /// Appends one packet. `bytes` holds the captured bytes; `metadata.wireLength`
    /// may be larger to record a packet cut by the snapshot length.
    public func write(_ metadata: PacketMetadata, bytes: Span<UInt8>) {
        var header = pcap_pkthdr()
        header.ts.tv_sec = Int(metadata.timestamp.seconds)
        header.ts.tv_usec = Int(metadata.timestamp.fractionNanoseconds)
        header.caplen = UInt32(bytes.count)
        header.len = UInt32(max(metadata.wireLength, bytes.count))
        bytes.withUnsafeBufferPointer { buffer in
            pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &header,
                      buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!)
        }
    }

    /// Appends one packet from an array of bytes.
    public func write(_ metadata: PacketMetadata, bytes: [UInt8]) {
        write(metadata, bytes: bytes.span)
    }

    /// Flushes buffered packets to the file.
    /// - Throws: `CaptureError.writeFailed` if the operating system reports an error.
    public func flush() throws(CaptureError) {
        guard pcap_dump_flush(dumper) == 0 else {
            throw .writeFailed(path: path, message: String(cString: strerror(errno)))
        }
    }
}
