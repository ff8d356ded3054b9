import ArgumentParser

/// The `flowtrack` command: connection tracking and 4-tuple analysis of captures.
public struct FlowTrackCommand: ParsableCommand {
    /// The root command's configuration and subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "flowtrack",
        abstract: "Connection tracking and 4-tuple analysis of network traffic.",
        discussion: """
            EXAMPLES:
              flowtrack packets Fixtures/tcp-loopback.pcap
              flowtrack packets trace.pcap --stats
            """,
        version: "0.1.0",
        subcommands: [ConnCommand.self, PortsCommand.self, ExtractCommand.self, PacketsCommand.self])

    /// Creates the root command.
    public init() {}
}
