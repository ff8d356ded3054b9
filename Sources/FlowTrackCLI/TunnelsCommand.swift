import ArgumentParser
import FlowTrack

/// `flowtrack tunnels`: Zeek's tunnel.log of the captures.
public struct TunnelsCommand: ParsableCommand {
    /// The command's help text.
    public static let configuration = CommandConfiguration(
        commandName: "tunnels",
        abstract: "List the tunnels the captures' connections came through, as Zeek's tunnel.log.",
        discussion: """
            One line when an inner connection first uses a tunnel (Tunnel::DISCOVER), when a \
            UDP tunnel's carrying connection ends (Tunnel::CLOSE), and when no inner connection \
            has used a tunnel for an hour (Tunnel::EXPIRE). A UDP tunnel's uid is its carrying \
            connection's conn.log uid; an IP-level tunnel (IP in IP, GRE) has a uid of its own, \
            the one inner rows carry in tunnel_parents.

            EXAMPLES:
              flowtrack tunnels vxlan.pcap
              flowtrack tunnels mirror.pcap --format json | jq -r .tunnel_type
            """)

    /// The options shared with `conn`.
    @OptionGroup public var tracking: TrackingOptions

    /// Output format.
    @Option(help: "Output format: zeek (default) or json.")
    public var format: String = "zeek"

    /// Creates the command.
    public init() {}

    /// Validates options.
    public func validate() throws {
        if format != "zeek" && format != "json" { throw ValidationError("--format must be zeek or json (got '\(format)')") }
    }

    /// Runs against standard output and standard error.
    public func run() throws {
        try runWithStandardStreams { out, err in execute(out: &out, err: &err) }
    }

    /// Runs the command, writing to the given sinks, and returns the exit status.
    public func execute(out: inout some TextSink, err: inout some TextSink) -> ExitStatus {
        var configuration = tracking.configuration(communityID: false)
        configuration.threads = 1  // tunnel.log lines come from every tunnel's table: one thread keeps them in order
        configuration.tunnelLog = true
        configuration.kernelStates = false
        var pipeline = FlowTracker(configuration: configuration)
        let zeek = format == "zeek"
        if zeek { out.write(TunnelLog.zeekHeader(opened: ConnCommand.wallClockStamp())) }
        let status = tracking.track(&pipeline, err: &err, after: { pipeline in
            for r in pipeline.takeTunnelRecords() { out.write(zeek ? TunnelLog.zeekRow(r) : TunnelLog.jsonRow(r)) }
        }) { _ in }
        if zeek { out.write(TunnelLog.zeekFooter(closed: ConnCommand.wallClockStamp())) }
        return status
    }
}
