import ArgumentParser
import FlowTrack

extension IPFIXTransport: ExpressibleByArgument {}

/// The IPFIX export options `conn` and `live` share.
public struct IPFIXOptions: ParsableArguments {
    /// IPFIX collector.
    @Option(help: "Also export connections as IPFIX (RFC 7011) to this collector, HOST:PORT or [IPv6]:PORT (nfcapd, nfacctd…): one bidirectional record per connection (RFC 5103 reverse elements), sent as it ends.")
    public var ipfix: String?

    /// UDP or TCP.
    @Option(name: .customLong("ipfix-transport"), help: "With --ipfix: udp (default; templates resent every 60 s or 100 messages) or tcp (templates once per connection; a bounded queue of 16 MiB while the collector is away, reconnection with backoff, drops reported).")
    public var ipfixTransport: IPFIXTransport = .udp

    /// Uniflow records.
    @Flag(name: .customLong("ipfix-uniflow"), help: "With --ipfix: two unidirectional records per connection (for collectors without RFC 5103).")
    public var ipfixUniflow = false

    /// Observation domain.
    @Option(name: .customLong("ipfix-domain"), help: "With --ipfix: the observation domain id of every message (default 1).")
    public var ipfixDomain: UInt32 = 1

    /// Enterprise elements.
    @Option(name: .customLong("ipfix-enterprise"), help: ArgumentHelp("With --ipfix: also send conn_state (element 1), history (2) and community_id (3) as variable-length strings under this Private Enterprise Number (FlowTrack has none of its own: use your organisation's; 32473 is the documentation number).", valueName: "PEN"))
    public var ipfixEnterprise: UInt32?

    /// Creates the options with their defaults.
    public init() {}

    /// Validates the collector's address.
    public func validate() throws {
        if let ipfix, Self.collector(ipfix) == nil {
            throw ValidationError("--ipfix must be HOST:PORT or [IPv6]:PORT (got '\(ipfix)')")
        }
        if ipfix == nil, ipfixUniflow || ipfixEnterprise != nil || ipfixTransport != .udp {
            throw ValidationError("--ipfix-transport, --ipfix-uniflow and --ipfix-enterprise need --ipfix")
        }
        if ipfixEnterprise == 0 { throw ValidationError("--ipfix-enterprise must be a Private Enterprise Number (not 0)") }
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
    /// `live`: a full TCP queue drops at once rather than stall the capture.
    func exporter(live: Bool, err: inout some TextSink) -> (exporter: IPFIXExporter?, failure: ExitStatus?) {
        guard let ipfix, let (host, port) = Self.collector(ipfix) else { return (nil, nil) }
        do throws(CaptureError) {
            let exporter = try IPFIXExporter(host: host, port: port, transport: ipfixTransport, observationDomain: ipfixDomain,
                                             bidirectional: !ipfixUniflow, enterpriseNumber: ipfixEnterprise,
                                             waitWhenFull: live ? .zero : .seconds(30))
            return (exporter, nil)
        } catch {
            err.writeError("--ipfix: \(error)")
            return (nil, ExitStatus(error))
        }
    }

    /// What did not reach the collector, once on `err` at the end: refused datagrams (UDP),
    /// records dropped or left undelivered (TCP), with the likely cause.
    static func reportLosses(_ exporter: IPFIXExporter, err: inout some TextSink) {
        switch exporter.transport {
        case .udp:
            guard exporter.sendFailures > 0 else { return }
            err.writeError("--ipfix: \(exporter.sendFailures) of \(exporter.sendFailures + exporter.messagesSent) messages to \(exporter.destination) were refused (is a collector listening there?)")
        case .tcp:
            guard exporter.recordsDropped > 0 else { return }
            let total = exporter.recordsDropped + Int(exporter.recordsSent)
            err.writeError("--ipfix: \(exporter.recordsDropped) of \(total) records were not delivered to \(exporter.destination) over TCP "
                           + "(\(exporter.lastError ?? "the collector was too slow"); \(exporter.connectionsMade) connections made, "
                           + "\(exporter.sendFailures) attempts failed): is a collector listening there?")
        }
    }
}
