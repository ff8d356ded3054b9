import ArgumentParser
import FlowTrack

/// `flowtrack ports`: one row per server port, the way `ss -l` lists listeners.
public struct PortsCommand: ParsableCommand {
    /// The command's help text.
    public static let configuration = CommandConfiguration(
        commandName: "ports",
        abstract: "One row per server port: service, connections by outcome, distinct clients, bytes each way.",
        discussion: """
            The server port of a connection is the SYN's receiver, else a likely server \
            port, else the non-ephemeral one; service names are the IANA registrations \
            (port-based, not payload-based). Outcomes: established (S1 S2 S3; UDP SF), \
            closed (SF), rejected (REJ), reset (RSTO RSTR RSTOS0 RSTRH), half_open (SH SHR), \
            attempt (S0), other (OTH). Bytes are application bytes as in conn's \
            orig_bytes/resp_bytes.

            EXAMPLES:
              flowtrack ports trace.pcap
              flowtrack ports trace.pcap --format json | jq 'select(.rejected > 0)'
              flowtrack ports a.pcap b.pcap -f 'tcp' --format csv > ports.csv
            """)

    /// The options shared with `conn`.
    @OptionGroup public var tracking: TrackingOptions

    /// Output format.
    @Option(help: "Output format: table, zeek, json or csv.")
    public var format: String?

    /// Creates the command.
    public init() {}

    /// Validates options.
    public func validate() throws {
        if let format, ConnectionFormat(rawValue: format) == nil {
            throw ValidationError("--format must be table, zeek, json or csv (got '\(format)')")
        }
    }

    /// Runs against standard output and standard error.
    public func run() throws {
        try runWithStandardStreams { out, err in execute(out: &out, err: &err, terminal: StandardStream.isTerminal(StandardStream.output)) }
    }

    /// Runs the command, writing to the given sinks, and returns the exit status.
    public func execute(out: inout some TextSink, err: inout some TextSink, terminal: Bool = false) -> ExitStatus {
        let chosen = format.flatMap(ConnectionFormat.init(rawValue:)) ?? (terminal ? .table : .zeek)
        var pipeline = FlowTracker(configuration: tracking.configuration(communityID: false))
        var summary = PortSummary()
        let opened = ConnCommand.wallClockStamp()  // Zeek's #open: when reading began
        let status = tracking.track(&pipeline, err: &err) { event in
            if case let .ended(c) = event { summary.add(c) }
        }
        out.write(summary.render(chosen, opened: opened, closed: ConnCommand.wallClockStamp()))
        return status
    }
}
