import ArgumentParser
import FlowTrack

/// `flowtrack conn`: every connection in the captures, as Zeek's conn.log would list it.
public struct ConnCommand: ParsableCommand {
    /// The command's help text.
    public static let configuration = CommandConfiguration(
        commandName: "conn",
        abstract: "List every connection: Zeek conn.log semantics, plus the kernel-style TCP state.",
        discussion: """
            Connections are written as they end (Zeek's order); the table format sorts \
            them by start time. Times are packet times; connections still open at the end \
            of input are flushed with end_reason end_of_input. Formats: table (default on a \
            terminal), zeek (default otherwise), json (JSON Lines), csv.

            The table is the netstat view from the client's side: Local Address is the \
            client socket, Foreign Address the server's (the SYN's receiver, else a likely \
            server port, else the non-ephemeral port); server ports are shown by their \
            registered service name unless -n. service is port-based, not payload-based.

            EXAMPLES:
              flowtrack conn trace.pcap
              flowtrack conn trace.pcap -n -p 443 --state ESTABLISHED --limit 20
              flowtrack conn trace.pcap --format zeek > conn.log
              flowtrack conn trace.pcap --format json | jq 'select(.proto=="udp")'
              flowtrack conn a.pcap b.pcapng -f 'tcp port 443' --format csv
              flowtrack conn offload.pcap -C --local-nets 10.0.0.0/8,fd00::/8
            """)

    /// The options shared with `ports` and `extract`.
    @OptionGroup public var tracking: TrackingOptions

    /// Output format.
    @Option(help: "Output format: table, zeek, json or csv.")
    public var format: String?

    /// Add community_id.
    @Flag(name: .customLong("community-id"), help: "Add the community_id column (Community ID v1).")
    public var communityID = false

    /// Numeric ports.
    @Flag(name: [.customShort("n"), .customLong("numeric")], help: "Table: show server ports as numbers instead of service names (netstat -n).")
    public var numeric = false

    /// Zeek states in the table.
    @Flag(help: "Table: show Zeek's conn_state and history instead of the kernel-style state.")
    public var zeek = false

    /// Server port filter.
    @Option(name: [.customShort("p"), .customLong("port")], help: "Only connections to this server port.")
    public var port: UInt16?

    /// State filter.
    @Option(help: "Only connections in this state: a kernel-style state (ESTABLISHED, TIME_WAIT, REPLIED…) or a Zeek conn_state (SF, REJ…).")
    public var state: String?

    /// Protocol filter.
    @Option(help: "Only this protocol: tcp, udp, icmp or unknown_transport.")
    public var proto: String?

    /// Sort key.
    @Option(help: "Sort rows by start (default for the table), duration, bytes, packets, port or state.")
    public var sort: String?

    /// Row limit.
    @Option(help: "Print at most N rows.")
    public var limit: Int?

    /// tunnel.log file.
    @Option(name: .customLong("tunnel-log"), help: "Also write Zeek's tunnel.log (DISCOVER, CLOSE, EXPIRE) to this file.")
    public var tunnelLog: String?

    /// The `--ipfix…` options.
    @OptionGroup public var export: IPFIXOptions

    /// Print tracking totals.
    @Flag(help: "After the rows, print tracking totals to standard error (packets, connections, peak, endings by reason).")
    public var stats = false

    /// Creates the command.
    public init() {}

    /// Validates options.
    public func validate() throws {
        if let format, ConnectionFormat(rawValue: format) == nil {
            throw ValidationError("--format must be table, zeek, json or csv (got '\(format)')")
        }
        if let sort, !["start", "duration", "bytes", "packets", "port", "state"].contains(sort) {
            throw ValidationError("--sort must be start, duration, bytes, packets, port or state (got '\(sort)')")
        }
        if let proto, !["tcp", "udp", "icmp", "unknown_transport"].contains(proto) {
            throw ValidationError("--proto must be tcp, udp, icmp or unknown_transport (got '\(proto)')")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    /// Runs against standard output and standard error.
    public func run() throws {
        try runWithStandardStreams { out, err in execute(out: &out, err: &err, terminal: StandardStream.isTerminal(StandardStream.output)) }
    }

    /// Whether a connection passes the `--port`, `--proto` and `--state` filters.
    /// The row filter of `-p`, `--proto` and `--state`, with the options read once
    /// (an option's property wrapper is slow to read for every connection).
    func selection() -> @Sendable (Connection) -> Bool {
        let port = port, proto = proto, wanted = state?.uppercased()
        if port == nil, proto == nil, wanted == nil { return { _ in true } }
        return { c in
            if let port, c.server.port != port { return false }
            if let proto, c.transport.description != proto { return false }
            if let wanted, NetstatTable.kernelState(c) != wanted && c.connState.description != wanted { return false }
            return true
        }
    }

    /// Orders rows for `--sort` (and the table's default, start time).
    static func sorted(_ rows: [Connection], by key: String) -> [Connection] {
        func total(_ c: Connection, _ f: (DirectionCounters) -> UInt64) -> UInt64 { f(c.originatorCounters) + f(c.responderCounters) }
        switch key {
        case "duration": return rows.sorted { ($0.duration, $1.startTime) > ($1.duration, $0.startTime) }
        case "bytes": return rows.sorted { (total($0, \.ipBytes), $1.startTime) > (total($1, \.ipBytes), $0.startTime) }
        case "packets": return rows.sorted { (total($0, \.packets), $1.startTime) > (total($1, \.packets), $0.startTime) }
        case "port": return rows.sorted { ($0.server.port, $0.startTime) < ($1.server.port, $1.startTime) }
        case "state": return rows.sorted { (NetstatTable.kernelState($0), $0.startTime) < (NetstatTable.kernelState($1), $1.startTime) }
        default: return rows.sorted { ($0.startTime, $0.uid) < ($1.startTime, $1.uid) }
        }
    }

    /// Runs the command, writing to the given sinks, and returns the exit status.
    public func execute(out: inout some TextSink, err: inout some TextSink, terminal: Bool = false) -> ExitStatus {
        let chosen = format.flatMap(ConnectionFormat.init(rawValue:)) ?? (terminal ? .table : .zeek)
        let columns = ConnLogColumns(communityID: communityID, policies: tracking.policyColumns)
        // The IPFIX enterprise elements carry the Community ID, column or not.
        var configuration = tracking.configuration(communityID: communityID || export.ipfixEnterprise != nil)
        // Zeek's columns have no kernel-style state; the table, JSON and CSV (tcp_state),
        // --state and --sort state use it.
        configuration.kernelStates = chosen != .zeek || state != nil || sort == "state"
        configuration.tunnelLog = tunnelLog != nil
        // tunnel.log lines come from every tunnel's table: one thread keeps them in order.
        if tunnelLog != nil { configuration.threads = 1 }
        var tunnelFile: FileDescriptorSink?
        if let tunnelLog {
            switch StandardStream.create(tunnelLog) {
            case let .success(fd): tunnelFile = FileDescriptorSink(fd: fd)
            case let .failure(error):
                err.writeError("\(error)")
                return ExitStatus(error)
            }
            tunnelFile?.write(TunnelLog.zeekHeader(opened: Self.wallClockStamp()))
        }
        defer {
            if var file = tunnelFile {
                file.write(TunnelLog.zeekFooter(closed: Self.wallClockStamp()))
                file.flush()
                StandardStream.close(file.fd)
            }
        }
        let (exporter, exportFailure) = export.exporter(live: false, err: &err)
        if let exportFailure { return exportFailure }
        let exporting = exporter != nil
        var pipeline = FlowTracker(configuration: configuration)
        let zeekWriter = ZeekLogWriter(columns: columns)
        let csv = CSVWriter(columns: columns)
        // Rows are collected for the table and for --sort; otherwise they stream as connections end.
        let collect = chosen == .table || sort != nil
        var collected: [Connection] = []
        var written = 0
        switch chosen {
        case .zeek: out.write(zeekWriter.header(opened: Self.wallClockStamp()))
        case .csv: out.write(csv.header)
        default: break
        }
        let selected = selection()
        let limit = limit
        func emit(_ c: Connection, _ out: inout some TextSink) {
            if let limit, written >= limit { return }
            written += 1
            out.append { chosen.append(c, columns: columns, to: &$0) }
        }
        // Rows are formatted on the tracking threads and written here in order.
        let status = tracking.track(&pipeline, err: &err, after: { pipeline in
            guard tunnelFile != nil else { return }
            for r in pipeline.takeTunnelRecords() { tunnelFile?.write(TunnelLog.zeekRow(r)) }
        }, render: { event, bytes -> Row? in
            guard case let .ended(c) = event, selected(c) else { return nil }
            if collect { return .record(c) }
            let start = bytes.count
            chosen.append(c, columns: columns, to: &bytes)
            return exporting ? .exported(start..<bytes.count, c) : .formatted(start..<bytes.count)
        }) { row, bytes in
            let range: Range<Int>
            switch row {
            case let .record(c):
                collected.append(c)
                exporter?.export(c)
                return
            case let .formatted(formatted): range = formatted
            case let .exported(formatted, c):
                exporter?.export(c)
                range = formatted
            }
            if let limit, written >= limit { return }
            written += 1
            out.append { $0.append(contentsOf: bytes[range]) }
        }
        if let exporter {
            exporter.finish()
            IPFIXOptions.reportLosses(exporter, err: &err)
        }
        if collect {
            var rows = Self.sorted(collected, by: sort ?? "start")
            if let limit { rows = Array(rows.prefix(limit)) }
            if chosen == .table {
                out.write(NetstatTable(numeric: numeric, zeekStates: zeek, policies: tracking.policyColumns).render(rows))
            } else {
                for c in rows { emit(c, &out) }
            }
        }
        if chosen == .zeek { out.write(zeekWriter.footer(closed: Self.wallClockStamp())) }
        if stats {
            err.write(Self.report(pipeline.statistics.connections))
            let f = pipeline.statistics.fragments
            if f.fragments + f.unusable > 0 { err.write(PacketStatistics.report(f).joined(separator: "\n") + "\n") }
        }
        return status
    }

    /// A connection as the tracking threads hand it over: formatted (where its row lies in
    /// the bytes handed over with it), kept for sorting, or formatted and kept for export.
    enum Row: Sendable {
        case formatted(Range<Int>)
        indirect case record(Connection)  // (boxed: a formatted row stays two words)
        indirect case exported(Range<Int>, Connection)
    }

    /// The `--stats` report.
    static func report(_ s: TrackerStatistics) -> String {
        var lines = ["packets: \(s.packets)", "tracked: \(s.tracked)", "non-ip: \(s.nonIP)", "malformed: \(s.malformed)",
                     "bad ip checksums: \(s.badIPChecksums)", "non-first fragments: \(s.fragments)",
                     "truncated transport headers: \(s.truncatedTransport)",
                     "verified transport checksums: \(s.verifiedTransportChecksums)",
                     "bad transport checksums: \(s.badTransportChecksums)",
                     "time went backwards: \(s.timeWentBackwards)", "connections: \(s.connections)",
                     "peak concurrent connections: \(s.peakFlows)"]
        for reason in [EndReason.fin, .rst, .timeout, .reuse, .eviction, .endOfInput] {
            lines.append("ended by \(reason): \(s.ended[reason, default: 0])")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The current wall-clock time as Zeek's `#open`/`#close` stamp.
    static func wallClockStamp() -> String {
        TimeFormat.logStamp(WallClock.now)
    }
}
