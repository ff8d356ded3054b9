import ArgumentParser
import FlowTrack

/// `flowtrack packets`: one line per packet, like `tcpdump -nn -q`, or totals with `--stats`.
public struct PacketsCommand: ParsableCommand {
    /// The command's help text.
    public static let configuration = CommandConfiguration(
        commandName: "packets",
        abstract: "Print one line per packet (like tcpdump -nn -q), or totals with --stats.",
        discussion: """
            Times are UTC. A packet the snapshot length cut ends with [|layer]; a \
            malformed one with [malformed: reason]. IP fragments are not reassembled.

            EXAMPLES:
              flowtrack packets trace.pcap
              flowtrack packets trace.pcapng -f 'tcp port 443' -c 20
              flowtrack packets trace.pcap --stats
              tcpdump -w - -i lo | flowtrack packets -
            """)

    /// Capture files (pcap or pcapng); `-` reads standard input.
    @Argument(help: "Capture files (pcap or pcapng); '-' reads standard input.")
    public var files: [String]

    /// A BPF filter expression.
    @Option(name: [.short, .customLong("filter")], help: "BPF filter expression (pcap-filter(7)).")
    public var filter: String?

    /// Stop after this many packets.
    @Option(name: [.short, .customLong("count")], help: "Stop after this many packets (in all files).")
    public var count: Int?

    /// Print totals instead of packets.
    @Flag(help: "Print totals by link type, protocol and malformed reason instead of packet lines.")
    public var stats = false

    /// Verify checksums.
    @Flag(name: .customLong("verify-checksums"), help: "Verify IPv4, TCP, UDP and ICMP checksums and mark bad ones.")
    public var verifyChecksums = false

    /// Print times as seconds since the epoch.
    @Flag(help: "Print times as seconds since the epoch (tcpdump -tt) instead of UTC date and time.")
    public var epoch = false

    /// Creates the command with default options.
    public init() {}

    /// Validates option combinations.
    public func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    /// Runs the command against standard output and standard error.
    public func run() throws {
        try runWithStandardStreams { out, err in execute(out: &out, err: &err) }
    }

    /// Runs the command, writing to the given sinks, and returns the exit status.
    public func execute(out: inout some TextSink, err: inout some TextSink) -> ExitStatus {
        var statistics = PacketStatistics()
        var remaining = count ?? Int.max
        var status = ExitStatus.success
        var opened = false  // totals only when a file was read: a missing file prints just its error
        var reassembler = IPReassembler()
        defer { statistics.fragments = reassembler.statistics }
        for path in files where remaining > 0 {
            do throws(CaptureError) {
                try readFile(path, remaining: &remaining, statistics: &statistics, reassembler: &reassembler, opened: &opened, out: &out)
            } catch {
                out.flush()
                err.writeError("\(error)")
                status = ExitStatus(error)
                if error.isDamagedRecord { continue }
                break
            }
        }
        statistics.fragments = reassembler.statistics
        if stats && opened { out.write(statistics.report() + "\n") }
        return status
    }

    func readFile(_ path: String, remaining: inout Int, statistics: inout PacketStatistics, reassembler: inout IPReassembler,
                  opened: inout Bool, out: inout some TextSink) throws(CaptureError) {
        var file = try PcapFile(path: path, filter: filter)
        opened = true
        let linkType = file.linkType
        let decoder = try file.decoder(verifyChecksums: verifyChecksums)
        var packet = DecodedPacket()
        var count = 0
        let stats = stats, epoch = epoch  // read once: an option's property wrapper is slow per packet
        defer { statistics.addLinkType(linkType, packets: count) }
        while remaining > 0 {
            guard let meta = try file.next({ meta, bytes in
                decoder.decode(bytes, wireLength: meta.wireLength, into: &packet)
                // --stats says what reassembly would make of the fragments.
                if stats, packet.layers.contains(.fragment), packet.malformed == nil {
                    _ = reassembler.add(bytes, packet, time: meta.timestamp.nanoseconds)
                }
                return meta
            }) else { break }
            remaining -= 1
            count += 1
            statistics.add(packet)
            if !stats { out.write(PacketLine.format(meta, packet, epoch: epoch) + "\n") }
        }
    }
}
