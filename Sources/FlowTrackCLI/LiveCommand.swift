import ArgumentParser
import Dispatch
import FlowTrack

/// `flowtrack live`: the connections on a live interface, as `watch netstat` shows a host's.
public struct LiveCommand: ParsableCommand {
    /// The command's help text.
    public static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Track the connections on a live interface (needs CAP_NET_RAW and CAP_NET_ADMIN).",
        discussion: """
            On a terminal, a connection table refreshes every --interval seconds. When \
            standard output is not a terminal, one line per event: '+' started, '~' state \
            changed, '-' ended, each followed by the connection in the chosen format \
            (default json). On SIGINT, SIGTERM, --duration or --count the remaining \
            connections end, and the final table (terminal) and the capture statistics \
            (received, dropped by the kernel, dropped by the interface) are printed. \
            Timeouts run on the clock, so idle connections end while the wire is silent. \
            Without privileges: run as root, or 'setcap cap_net_raw,cap_net_admin=eip' \
            on the flowtrack binary.

            EXAMPLES:
              flowtrack interfaces
              sudo flowtrack live -i eth0
              sudo flowtrack live -i lo -f 'tcp port 8080' --duration 60 -C
              sudo flowtrack live -i eth0 --format json | jq -c 'select(.conn_state)'
              sudo flowtrack live -i eth0 -c 100000 -w trace.pcap
            """)

    /// Interface.
    @Option(name: [.customShort("i"), .customLong("interface")], help: "The interface to capture on (see 'flowtrack interfaces').")
    public var interface: String

    /// BPF filter.
    @Option(name: [.short, .customLong("filter")], help: "BPF filter expression (pcap-filter(7)).")
    public var filter: String?

    /// Duration.
    @Option(help: "Stop after this many seconds.")
    public var duration: Double?

    /// Packet count.
    @Option(name: [.short, .customLong("count")], help: "Stop after this many packets.")
    public var count: Int?

    /// Refresh interval.
    @Option(help: "Seconds between table refreshes on a terminal.")
    public var interval: Double = 1

    /// Output format.
    @Option(help: "Event format when not on a terminal: json (default), zeek (TSV rows) or csv.")
    public var format: String?

    /// Raw packets file.
    @Option(name: [.customShort("w"), .customLong("write")], help: "Also write the raw packets to this pcap file.")
    public var write: String?

    /// Ignore checksums.
    @Flag(name: [.customShort("C"), .customLong("ignore-checksums")],
          help: "Do not verify checksums (loopback and most NICs' transmit side carry offloaded ones).")
    public var ignoreChecksums = false

    /// Snapshot length.
    @Option(help: "Bytes to capture per packet.")
    public var snaplen: Int = 262_144

    /// Promiscuous mode.
    @Flag(help: "Capture in promiscuous mode.")
    public var promiscuous = false

    /// The `--ipfix…` options.
    @OptionGroup public var export: IPFIXOptions

    /// Active timeout.
    @Option(name: .customLong("active-timeout"), help: "With --ipfix: seconds after which a connection still open is exported as a delta record (counts since its last record), and again every as many seconds; what remains is exported at the end (SIGINT, --duration). Default 1800.")
    public var activeTimeout: Double = 1800

    /// Threads.
    @Option(help: "Threads: one reads and decodes, the others track, each its share of the connections by 5-tuple (default and at most: the number of cores when writing events; 1 for the table on a terminal, which shows the table itself, and with --ipfix).")
    public var threads: Int?

    /// Kernel buffer size.
    @Option(name: .customLong("buffer-size"), help: "Kernel capture buffer in bytes.")
    public var bufferSize: Int?

    /// Creates the command.
    public init() {}

    /// Validates options.
    public func validate() throws {
        if let format, !["json", "zeek", "csv"].contains(format) {
            throw ValidationError("--format must be json, zeek or csv (got '\(format)')")
        }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if interval <= 0 { throw ValidationError("--interval must be positive") }
        if snaplen < 64 { throw ValidationError("--snaplen must be at least 64") }
        try TrackingOptions.validate(threads: threads)
        if activeTimeout <= 0 { throw ValidationError("--active-timeout must be positive") }
    }

    /// Runs against standard output and standard error, stopping on SIGINT or SIGTERM.
    public func run() throws {
        let stop = CaptureStop()  // raised by SIGINT/SIGTERM; checked between polls
        var sources: [DispatchSourceSignal] = []
        for number in StandardStream.stopSignals {
            StandardStream.ignore(signal: number)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stop.stop() }
            source.resume()
            sources.append(source)
        }
        defer { for source in sources { source.cancel() } }
        try runWithStandardStreams { out, err in
            execute(out: &out, err: &err, terminal: StandardStream.isTerminal(StandardStream.output), stop: stop)
        }
    }

    /// Captures, writing to the given sinks, and returns the exit status.
    func execute(out: inout some TextSink, err: inout some TextSink, terminal: Bool, stop: CaptureStop) -> ExitStatus {
        var configuration = TrackerConfiguration()
        configuration.verifyChecksums = !ignoreChecksums
        configuration.events = terminal ? [.ended] : .all
        // The terminal view shows the connection table, which the reading thread must hold, and
        // so does the IPFIX active timeout (it reads the long connections every second).
        configuration.threads = terminal || export.ipfix != nil ? 1 : TrackingOptions.effectiveThreads(threads)
        let (exporter, exportFailure) = export.exporter(live: true, err: &err)
        if let exportFailure { return exportFailure }
        let active = Duration.milliseconds(Int64(activeTimeout * 1000))
        var nextSweep = WallClock.now.nanoseconds + 1_000_000_000
        var capture: LiveCapture
        do throws(LiveCaptureError) {
            capture = try LiveCapture(interface: interface, snapshotLength: snaplen, promiscuous: promiscuous,
                                      bufferSize: bufferSize, filter: filter)
        } catch {
            err.writeError("\(error)")
            return ExitStatus(error)
        }
        var writer: PcapWriter?
        if let write {
            do throws(CaptureError) { writer = try PcapWriter(path: write, linkType: capture.linkType, snapshotLength: capture.snapshotLength) } catch {
                err.writeError("\(error)")
                return .failure
            }
        }
        let columns = ConnLogColumns(communityID: false)
        let chosen = format.flatMap(ConnectionFormat.init(rawValue:)) ?? .json  // validate() rules out table
        func line(_ c: Connection) -> [UInt8] { chosen.rowBytes(c, columns: columns) ?? [] }
        let deadline = duration.map { WallClock.now.nanoseconds + Int64($0 * 1e9) }
        var nextRefresh = WallClock.now.nanoseconds
        let every = Int64(interval * 1e9)
        var pipeline = FlowTracker(configuration: configuration)
        var status = ExitStatus.success
        func handle(_ event: ConnectionEvent, _ out: inout some TextSink) {
            if let exporter, case let .ended(c) = event { exporter.export(c) }
            guard !terminal else { return }
            switch event {
            case let .started(c): out.write(bytes: Array("+ ".utf8) + line(c))
            case let .stateChanged(c): out.write(bytes: Array("~ ".utf8) + line(c))
            case let .ended(c): out.write(bytes: Array("- ".utf8) + line(c))
            }
        }
        var lastFlush = WallClock.now.nanoseconds
        // Offloaded checksums are said once, as soon as 100 checked packets show them.
        var warnedChecksums = false
        func warnChecksums(_ statistics: TrackerStatistics, final: Bool, _ err: inout some TextSink) {
            guard !warnedChecksums, final || statistics.verifiedTransportChecksums >= 100 else { return }
            for warning in statistics.warnings(checksumsIgnoredBy: "-C") where warning.contains("checksums") {
                err.writeError("warning: " + warning)
                warnedChecksums = true
            }
        }
        do throws(LiveCaptureError) {
            try pipeline.run(
                live: &capture, maxPackets: count,
                until: { stop.isStopped || deadline.map { WallClock.now.nanoseconds >= $0 } ?? false },
                packet: writer == nil ? nil : { meta, bytes in writer?.write(meta, bytes: bytes) },
                each: { pipeline in
                    warnChecksums(pipeline.statistics.connections, final: false, &err)
                    let now = WallClock.now.nanoseconds
                    exporter?.poll()  // TCP: what the collector can take now, a reconnection when due
                    if let exporter, now >= nextSweep {
                        // Records only for connections old enough to be due (a connection's interim
                        // records are never older than its start): not the whole table every second.
                        let clock = WallClock.now
                        exporter.exportActive(pipeline.tracker.snapshot(startedBy: clock - active), now: clock, timeout: active)
                        nextSweep = now + 1_000_000_000
                    }
                    guard terminal else {
                        // Event lines reach the pipe within 100 ms, without a write per event.
                        if now - lastFlush >= 100_000_000 { out.flush(); lastFlush = now }
                        return
                    }
                    guard now >= nextRefresh else { return }
                    nextRefresh = now + every
                    let rows = pipeline.tracker.snapshot()
                    out.write("\u{1B}[H\u{1B}[2J" + "flowtrack live on \(interface): \(pipeline.statistics.connections.packets) packets, "
                              + "\(rows.count) open connections\n" + NetstatTable(numeric: false).render(rows))
                    out.flush()
                }) { handle($0, &out) }
        } catch {
            err.writeError("\(error)")
            status = ExitStatus(error)
        }
        let open = pipeline.tracker.snapshot()
        pipeline.finish { handle($0, &out) }
        if terminal {
            out.write("\u{1B}[H\u{1B}[2J" + NetstatTable(numeric: false).render(open))
        }
        try? writer?.flush()
        if let exporter {
            exporter.finish()
            err.write("flowtrack: IPFIX: \(exporter.connectionsExported) connections, \(exporter.recordsSent) records in "
                      + "\(exporter.messagesSent) messages to \(exporter.destination) over \(exporter.transport.rawValue.uppercased())\n")
            IPFIXOptions.reportLosses(exporter, err: &err)
        }
        warnChecksums(pipeline.statistics.connections, final: true, &err)
        for warning in pipeline.statistics.warnings(checksumsIgnoredBy: "-C") where !warning.contains("checksums") {
            err.writeError("warning: " + warning)
        }
        let stats = capture.statistics()
        err.write("flowtrack: \(capture.packetsRead) packets captured on \(interface); "
                  + "kernel: \(stats?.received ?? 0) received, \(stats?.dropped ?? 0) dropped, "
                  + "\(stats?.interfaceDropped ?? 0) dropped by the interface\n")
        return status
    }
}

/// `flowtrack interfaces`: the capture devices libpcap can open.
public struct InterfacesCommand: ParsableCommand {
    /// The command's help text.
    public static let configuration = CommandConfiguration(
        commandName: "interfaces",
        abstract: "List the interfaces live capture can use, with their addresses and flags.",
        discussion: """
            EXAMPLES:
              flowtrack interfaces
              flowtrack interfaces --format json
            """)

    /// Output format.
    @Option(help: "table (default) or json.")
    public var format: String = "table"

    /// Creates the command.
    public init() {}

    /// Validates options.
    public func validate() throws {
        if !["table", "json"].contains(format) { throw ValidationError("--format must be table or json (got '\(format)')") }
    }

    /// Prints the list.
    public func run() throws {
        var out = FileDescriptorSink.standardOutput
        out.write(render(CaptureInterface.all()))
        out.flush()
    }

    func render(_ interfaces: [CaptureInterface]) -> String {
        func flags(_ i: CaptureInterface) -> [String] {
            [i.isUp ? "up" : nil, i.isRunning ? "running" : nil, i.isLoopback ? "loopback" : nil, i.isWireless ? "wireless" : nil]
                .compactMap { $0 }
        }
        if format == "json" {
            return interfaces.map { i in
                "{\"name\":\(Escaping.json(i.name)),\"flags\":[\(flags(i).map { "\"\($0)\"" }.joined(separator: ","))],"
                    + "\"addresses\":[\(i.addresses.map(Escaping.json).joined(separator: ","))]"
                    + (i.description.map { ",\"description\":\(Escaping.json($0))" } ?? "") + "}\n"
            }.joined()
        }
        var rows = [["Name", "Flags", "Addresses"]]
        for i in interfaces {
            rows.append([Escaping.terminal(i.name), flags(i).joined(separator: ","), i.addresses.joined(separator: " ")])
        }
        let widths = (0..<3).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in i == 2 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n") + "\n"
    }
}
