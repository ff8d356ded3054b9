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

    init(pcap: OpaquePointer, buffer: UnsafeMutablePointer<CChar>?) {
        self.pcap = pcap
        self.buffer = buffer
    }

    deinit {
        pcap_close(pcap)
        buffer?.deallocate()
    }

    /// libpcap's last error text for this handle.
    var lastError: String { String(cString: pcap_geterr(pcap)) }

    /// Compiles `expression` (optimised, netmask unknown) and installs it.
    func setFilter(_ expression: String) throws(CaptureError) {
        var program = bpf_program()
        guard pcap_compile(pcap, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw .badFilter(expression: expression, message: lastError)
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(pcap, &program) == 0 else {
            throw .badFilter(expression: expression, message: lastError)
        }
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
