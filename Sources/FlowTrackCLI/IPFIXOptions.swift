import ArgumentParser
import FlowTrack

/// The IPFIX export options `conn` and `live` share.
public struct IPFIXOptions: ParsableArguments {
    /// IPFIX collector.
    @Option(help: "Also export connections as IPFIX (RFC 7011) over UDP to this collector, HOST:PORT or [IPv6]:PORT (nfcapd, nfacctd…): one bidirectional record per connection (RFC 5103 reverse elements), sent as it ends.")
    public var ipfix: String?

    /// Uniflow records.
    @Flag(name: .customLong("ipfix-uniflow"), help: "With --ipfix: two unidirectional records per connection (for collectors without RFC 5103).")
    public var ipfixUniflow = false

    /// Creates the options with their defaults.
    public init() {}

    /// Validates the collector's address.
    public func validate() throws {
        if let ipfix, Self.collector(ipfix) == nil {
            throw ValidationError("--ipfix must be HOST:PORT or [IPv6]:PORT (got '\(ipfix)')")
        }
    }

    /// `HOST:PORT` or `[IPv6]:PORT`.
    static func collector(_ text: String) -> (host: String, port: UInt16)? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    /// The exporter `--ipfix` asks for (`nil` without it), or the status to exit with when its
    /// collector's address does not resolve or no socket connects (reported on `err`).
    func exporter(err: inout some TextSink) -> (exporter: IPFIXExporter?, failure: ExitStatus?) {
        guard let ipfix, let (host, port) = Self.collector(ipfix) else { return (nil, nil) }
        do throws(CaptureError) {
            return (try IPFIXExporter(host: host, port: port, bidirectional: !ipfixUniflow), nil)
        } catch {
            err.writeError("--ipfix: \(error)")
            return (nil, ExitStatus(error))
        }
    }
}
