import CPcap
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns a `pcap_t` and the stdio buffer behind it; closes both exactly once.
@usableFromInline
struct PcapHandle: ~Copyable {
    @usableFromInline let pcap: OpaquePointer
    let buffer: UnsafeMutablePointer<CChar>?
    /// What ``PcapFile``'s own reader owns, or `nil` when libpcap reads.
    let source: RecordSource?

    init(pcap: OpaquePointer, buffer: UnsafeMutablePointer<CChar>?, source: RecordSource? = nil) {
        self.pcap = pcap
        self.buffer = buffer
        self.source = source
    }

    deinit {
        pcap_close(pcap)
        buffer?.deallocate()
    }

    /// libpcap's last error text for this handle.
    var lastError: String { String(cString: pcap_geterr(pcap)) }

    /// Compiles `expression` (optimised, netmask unknown) and installs it: into libpcap, or
    /// for ``PcapFile``'s own reader, returned (and owned by its ``RecordSource``).
    @discardableResult
    func setFilter(_ expression: String) throws(CaptureError) -> bpf_program? {
        var compiled = bpf_program()
        guard pcap_compile(pcap, &compiled, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw .badFilter(expression: expression, message: lastError)
        }
        if let source {
            if var old = source.program { pcap_freecode(&old) }
            source.program = compiled
            return compiled
        }
        defer { pcap_freecode(&compiled) }
        guard pcap_setfilter(pcap, &compiled) == 0 else {
            throw .badFilter(expression: expression, message: lastError)
        }
        return nil
    }
}

/// What ``PcapFile``'s own reader owns: the file's descriptor, the buffer records are read
/// into, and the compiled filter it applies; released once.
@usableFromInline
final class RecordSource {
    let descriptor: Int32
    let buffer: UnsafeMutableRawPointer
    /// The filter's program (libpcap applies its own only on its own read path).
    var program: bpf_program?

    /// A descriptor of its own for the file libpcap opened as `descriptor` (`nil` when none
    /// is left: the caller reads through libpcap). It is read with `pread`, so the two
    /// share no file position.
    init?(duplicating descriptor: Int32, capacity: Int) {
        self.descriptor = dup(descriptor)
        guard self.descriptor >= 0 else { return nil }
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        close(descriptor)
        buffer.deallocate()
        if var program { pcap_freecode(&program) }
    }
}

/// The text libpcap wrote into an error buffer (NUL-terminated, `PCAP_ERRBUF_SIZE` bytes).
func errorText(_ errbuf: [CChar]) -> String {
    String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The name libpcap gives a DLT value, such as `EN10MB`; `DLT_<n>` when it has none.
/// The corresponding libpcap function is `pcap_datalink_val_to_name()`.
public func linkTypeName(_ linkType: Int32) -> String {
    if let name = pcap_datalink_val_to_name(linkType) { return String(cString: name) }
    return "DLT_\(linkType)"
}

/// libpcap's description of a DLT value, such as `Ethernet`.
/// The corresponding libpcap function is `pcap_datalink_val_to_description()`.
public func linkTypeDescription(_ linkType: Int32) -> String {
    if let text = pcap_datalink_val_to_description(linkType) { return String(cString: text) }
    return "DLT \(linkType)"
}

/// The version string of the libpcap this program runs with.
/// The corresponding libpcap function is `pcap_lib_version()`.
public var libpcapVersion: String { String(cString: pcap_lib_version()) }
