import ArgumentParser
import FlowTrack

/// The `flowtrack` command: connection tracking and 4-tuple analysis of captures.
public struct FlowTrackCommand: ParsableCommand {
    /// The root command's configuration and subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "flowtrack",
        abstract: "Connection tracking and 4-tuple analysis of network traffic.",
        discussion: """
            EXAMPLES:
              flowtrack conn trace.pcap
              flowtrack conn trace.pcap --format zeek > conn.log
              flowtrack ports trace.pcap
              flowtrack extract t.pcap --tuple 'tcp 10.0.0.1:40000 10.0.0.2:80' -w 1.pcap
              flowtrack packets trace.pcap --stats
            """,
        version: "0.1.0",
        subcommands: [ConnCommand.self, PortsCommand.self, ExtractCommand.self, FollowCommand.self, StreamsCommand.self, TunnelsCommand.self, LiveCommand.self, InterfacesCommand.self,
                      PacketsCommand.self])

    /// Creates the root command.
    public init() {}
}

extension FlowTrackCommand {
    /// Parses the process's arguments and runs the chosen command, as `main()` does,
    /// except that `--help` ends with the command's examples.
    public static func runMain(_ arguments: [String]? = nil) {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            if exitCode(for: error) == .success {
                let message = fullMessage(for: error)
                StandardStream.write(Array((examplesLast(message) + "\n").utf8), to: StandardStream.output)
                exit()
            }
            if let code = error as? ExitCode { exit(withError: code) }  // already reported by the command
            // One line on standard error for every misuse, with the usage error's status.
            let message = self.message(for: error)
            StandardStream.write(Array("flowtrack: \(Escaping.line(message))\n".utf8), to: StandardStream.error)
            exit(withError: ExitCode(exitCode(for: error).rawValue))
        }
    }

    /// Moves the `EXAMPLES:` block of a help message to its end.
    static func examplesLast(_ help: String) -> String {
        var lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: "EXAMPLES:") else { return help }
        var end = start + 1
        while end < lines.count, !lines[end].isEmpty { end += 1 }
        let block = Array(lines[start..<end])
        lines.removeSubrange(start..<min(end + 1, lines.count))
        while lines.last?.isEmpty == true { lines.removeLast() }
        return (lines + [""] + block).joined(separator: "\n")
    }
}
