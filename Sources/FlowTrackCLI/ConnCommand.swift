import ArgumentParser
import FlowTrack
import Foundation

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

            EXAMPLES:
              flowtrack conn trace.pcap
              flowtrack conn trace.pcap --format zeek > conn.log
              flowtrack conn trace.pcap --format json | jq 'select(.conn_state=="REJ")'
              flowtrack conn a.pcap b.pcapng -f 'tcp port 443' --community-id --format csv
              flowtrack conn offload.pcap -C --local-nets 10.0.0.0/8,fd00::/8
            """)

    /// Capture files.
    @Argument(help: "Capture files (pcap or pcapng), read in order as one trace; '-' reads standard input.")
    public var files: [String]

    /// BPF filter.
    @Option(name: [.short, .customLong("filter")], help: "BPF filter expression (pcap-filter(7)).")
    public var filter: String?

    /// Output format.
    @Option(help: "Output format: table, zeek, json or csv.")
    public var format: String?

    /// Ignore checksums.
    @Flag(name: [.customShort("C"), .customLong("ignore-checksums")], help: "Do not verify checksums (Zeek's -C); for captures with offloaded checksums.")
    public var ignoreChecksums = false

    /// Add community_id.
    @Flag(name: .customLong("community-id"), help: "Add the community_id column (Community ID v1).")
    public var communityID = false

    /// Community ID seed.
    @Option(name: .customLong("community-id-seed"), help: "Community ID seed (0-65535).")
    public var communityIDSeed: UInt16 = 0

    /// Local networks.
    @Option(name: .customLong("local-nets"), help: "Comma-separated CIDRs counted as local for local_orig/local_resp (default: Zeek's private address space; 'none' leaves them unset).")
    public var localNets: String?

    /// Maximum flows.
    @Option(name: .customLong("max-flows"), help: "Track at most N connections at once; the idlest is evicted beyond that (default 2000000).")
    public var maxFlows: Int = 2_000_000

    /// Timeout profile.
    @Option(help: "Timeout profile: zeek (default) or conntrack.")
    public var timeouts: String = "zeek"

    /// Print tracking totals.
    @Flag(help: "After the rows, print tracking totals to standard error (packets, connections, peak, endings by reason).")
    public var stats = false

    /// uid seed.
    @Option(help: "Seed for connection uids (default: derived from the first packet's time, so the same capture gives the same uids).")
    public var seed: UInt64?

    /// Creates the command.
    public init() {}

    /// Validates options.
    public func validate() throws {
        if let format, ConnectionFormat(rawValue: format) == nil {
            throw ValidationError("--format must be table, zeek, json or csv (got '\(format)')")
        }
        if maxFlows < 1 { throw ValidationError("--max-flows must be at least 1") }
        if timeouts != "zeek" && timeouts != "conntrack" { throw ValidationError("--timeouts must be zeek or conntrack") }
        if let localNets, localNets != "none" {
            for item in localNets.split(separator: ",") where Subnet(String(item).trimmingCharacters(in: .whitespaces)) == nil {
                throw ValidationError("--local-nets: '\(item)' is not a CIDR such as 10.0.0.0/8 or fd00::/8")
            }
        }
    }

    /// The tracker configuration the options describe.
    public func trackerConfiguration() -> TrackerConfiguration {
        var c = TrackerConfiguration()
        c.verifyChecksums = !ignoreChecksums
        c.communityIDSeed = communityIDSeed
        c.computeCommunityID = communityID
        c.maxFlows = maxFlows
        c.profile = timeouts == "conntrack" ? .conntrack : .zeek
        c.uidSeed = seed
        if let localNets {
            c.localNetworks = localNets == "none" ? nil : LocalNetworks(localNets.split(separator: ",").compactMap {
                Subnet(String($0).trimmingCharacters(in: .whitespaces))
            })
        }
        return c
    }

    /// Runs against standard output and standard error.
    public func run() throws {
        var out = FileDescriptorSink.standardOutput
        var err = FileDescriptorSink.standardError
        let status = execute(out: &out, err: &err, terminal: StandardStream.isTerminal(StandardStream.output))
        out.flush()
        err.flush()
        if status != .success { throw ExitCode(status.rawValue) }
    }

    /// Runs the command, writing to the given sinks, and returns the exit status.
    public func execute(out: inout some TextSink, err: inout some TextSink, terminal: Bool = false) -> ExitStatus {
        let chosen = format.flatMap(ConnectionFormat.init(rawValue:)) ?? (terminal ? .table : .zeek)
        let columns = ConnLogColumns(communityID: communityID)
        var pipeline = FlowTracker(configuration: trackerConfiguration())
        var tableRows: [Connection] = []
        let zeek = ZeekLogWriter(columns: columns)
        let json = JSONLinesWriter(columns: columns)
        let csv = CSVWriter(columns: columns)
        switch chosen {
        case .zeek: out.write(zeek.header(opened: Self.wallClockStamp()))
        case .csv: out.write(csv.header)
        default: break
        }
        var status = ExitStatus.success
        func write(_ event: ConnectionEvent, _ out: inout some TextSink) {
            guard case let .ended(c) = event else { return }
            switch chosen {
            case .table: tableRows.append(c)
            case .zeek: out.write(bytes: zeek.rowBytes(c))
            case .json: out.write(bytes: json.rowBytes(c))
            case .csv: out.write(bytes: csv.rowBytes(c))
            }
        }
        for path in files {
            do throws(CaptureError) {
                try pipeline.run(file: path, filter: filter) { write($0, &out) }
            } catch {
                err.write("flowtrack: \(error)\n")
                status = ExitStatus(error)
                if case .truncatedRecord = error { continue }
                if case .corruptRecord = error { continue }
                break
            }
        }
        pipeline.finish { write($0, &out) }
        if stats { err.write(Self.report(pipeline.statistics)) }
        switch chosen {
        case .table:
            tableRows.sort { ($0.startTime, $0.uid) < ($1.startTime, $1.uid) }
            out.write(ConnectionTable().render(tableRows))
            let stats = pipeline.statistics
            if stats.evictions > 0 {
                err.write("flowtrack: \(stats.evictions) connections were evicted to stay within --max-flows \(maxFlows)\n")
            }
        case .zeek:
            out.write(zeek.footer(closed: Self.wallClockStamp()))
            if pipeline.statistics.evictions > 0 {
                err.write("flowtrack: \(pipeline.statistics.evictions) connections were evicted to stay within --max-flows \(maxFlows)\n")
            }
        default:
            if pipeline.statistics.evictions > 0 {
                err.write("flowtrack: \(pipeline.statistics.evictions) connections were evicted to stay within --max-flows \(maxFlows)\n")
            }
        }
        return status
    }

    /// The `--stats` report.
    static func report(_ s: TrackerStatistics) -> String {
        var lines = ["packets: \(s.packets)", "tracked: \(s.tracked)", "non-ip: \(s.nonIP)", "malformed: \(s.malformed)",
                     "bad ip checksums: \(s.badIPChecksums)", "non-first fragments: \(s.fragments)",
                     "truncated transport headers: \(s.truncatedTransport)", "connections: \(s.connections)",
                     "peak concurrent connections: \(s.peakFlows)"]
        for reason in [EndReason.fin, .rst, .timeout, .reuse, .eviction, .endOfInput] {
            lines.append("ended by \(reason): \(s.ended[reason, default: 0])")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func wallClockStamp() -> String {
        TimeFormat.logStamp(Timestamp(nanoseconds: Int64(Date().timeIntervalSince1970 * 1e9)))
    }
}
