import ArgumentParser
import FlowTrack

/// The options every command that tracks connections shares.
public struct TrackingOptions: ParsableArguments {
    /// Capture files.
    @Argument(help: "Capture files (pcap or pcapng), read in order as one trace; '-' reads standard input.")
    public var files: [String]

    /// BPF filter.
    @Option(name: [.short, .customLong("filter")], help: "BPF filter expression (pcap-filter(7)).")
    public var filter: String?

    /// Ignore checksums.
    @Flag(name: [.customShort("C"), .customLong("ignore-checksums")],
          help: "Do not verify checksums (Zeek's -C); for captures with offloaded checksums.")
    public var ignoreChecksums = false

    /// Local networks.
    @Option(name: .customLong("local-nets"),
            help: "Comma-separated CIDRs counted as local for local_orig/local_resp (default: Zeek's private address space; 'none' leaves them unset).")
    public var localNets: String?

    /// Maximum flows.
    @Option(name: .customLong("max-flows"), help: "Track at most N connections at once; the idlest is evicted beyond that (default 1000000, about 250 MB). With --threads T each table holds N/T, so which connections are evicted depends on T.")
    public var maxFlows: Int = 1_000_000

    /// Timeout profile.
    @Option(help: "Timeout profile: zeek (default) or conntrack.")
    public var timeouts: String = "zeek"

    /// uid seed.
    @Option(help: "Seed for connection uids (default: derived from the first packet's time, so the same capture gives the same uids).")
    public var seed: UInt64?

    /// Community ID seed.
    @Option(name: .customLong("community-id-seed"), help: "Community ID seed (0-65535).")
    public var communityIDSeed: UInt16 = 0

    /// Likely server ports.
    @Option(name: .customLong("likely-server-ports"),
            help: "Ports that orient connections whose first packet is not a plain SYN: zeek (default: Zeek's full set), zeek-bare (what 'zeek -b' has: the UDP tunnel ports), none, or sets such as 'tcp:80,443,8000-8080 udp:53'.")
    public var likelyServerPorts: String = "zeek"

    /// ignore_checksums_nets.
    @Option(name: .customLong("ignore-checksums-nets"),
            help: "Comma-separated CIDRs whose packets (by source address) are not checksum-verified (Zeek's ignore_checksums_nets).")
    public var ignoreChecksumsNets: String?

    /// VLAN-aware key.
    @Flag(name: .customLong("vlan-key"),
          help: "Key connections by their VLAN IDs too (Zeek's vlan_fivetuple): adds id.ctx.vlan and id.ctx.inner_vlan after id.resp_p.")
    public var vlanKey = false

    /// vlan-logging.
    @Flag(name: .customLong("vlan"), help: "Add the vlan and inner_vlan columns of the creating packet (Zeek's vlan-logging).")
    public var vlanColumns = false

    /// mac-logging.
    @Flag(name: .customLong("mac"), help: "Add orig_l2_addr and resp_l2_addr, the creating packet's MAC addresses (Zeek's mac-logging).")
    public var macColumns = false

    /// SCTP by ports.
    @Flag(name: .customLong("sctp-ports"),
          help: "Key SCTP associations by their ports (conntrack's way, and --timeouts conntrack's default); Zeek keys SCTP with ports 0.")
    public var sctpPorts = false

    /// No DNS/NTP rules.
    @Flag(name: .customLong("no-analyzer-flips"),
          help: "Do not apply Zeek's DNS and NTP rules (turning a connection around on a response or server message; ending DNS after 10 s of quiet).")
    public var noAnalyzerFlips = false

    /// The threads a run uses: as asked, at most the number of cores (on 2 cores, 4 threads
    /// were 23 % slower than 2 on bench-1m: the tracking threads took turns with the reading
    /// thread, the pipeline's slowest stage).
    public static func effectiveThreads(_ asked: Int?) -> Int {
        min(asked ?? 64, StandardStream.availableCores, 64)
    }

    /// Checks a `--threads` value: 1 to 64.
    public static func validate(threads: Int?) throws {
        if let threads, !(1...64).contains(threads) { throw ValidationError("--threads must be between 1 and 64 (got \(threads))") }
    }

    /// Tracking threads.
    @Option(help: "Threads: one reads and decodes, N-1 track, each its share of the connections (a symmetric hash of the 5-tuple); output identical to 1 (default and at most: the number of cores, since more threads than cores only compete for them; 1 tracks on the reading thread).")
    public var threads: Int?

    /// No progress bar.
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "No progress bar on standard error for large files.")
    public var quiet = false

    /// Creates the options with their defaults.
    public init() {}

    /// Validates the values.
    public func validate() throws {
        if maxFlows < 1 { throw ValidationError("--max-flows must be at least 1") }
        try Self.validate(threads: threads)
        if timeouts != "zeek" && timeouts != "conntrack" { throw ValidationError("--timeouts must be zeek or conntrack") }
        if let localNets, localNets != "none" {
            for item in localNets.split(separator: ",") where Subnet(Self.trim(item)) == nil {
                throw ValidationError("--local-nets: '\(item)' is not a CIDR such as 10.0.0.0/8 or fd00::/8")
            }
        }
        if let ignoreChecksumsNets {
            for item in ignoreChecksumsNets.split(separator: ",") where Subnet(Self.trim(item)) == nil {
                throw ValidationError("--ignore-checksums-nets: '\(item)' is not a CIDR such as 10.0.0.0/8 or fd00::/8")
            }
        }
        if LikelyServerPorts(parsing: likelyServerPorts) == nil {
            throw ValidationError("--likely-server-ports must be zeek, zeek-bare, none or sets such as 'tcp:80,443 udp:53' (got '\(likelyServerPorts)')")
        }
    }

    static func trim(_ s: Substring) -> String { String(s.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }

    /// The tracker configuration the options describe.
    public func configuration(communityID: Bool) -> TrackerConfiguration {
        var c = TrackerConfiguration()
        c.verifyChecksums = !ignoreChecksums
        c.communityIDSeed = communityIDSeed
        c.computeCommunityID = communityID
        c.maxFlows = maxFlows
        c.profile = timeouts == "conntrack" ? .conntrack : .zeek
        c.uidSeed = seed
        if let localNets {
            c.localNetworks = localNets == "none" ? nil : LocalNetworks(localNets.split(separator: ",").compactMap { Subnet(Self.trim($0)) })
        }
        if let ignoreChecksumsNets {
            c.ignoreChecksumNetworks = LocalNetworks(ignoreChecksumsNets.split(separator: ",").compactMap { Subnet(Self.trim($0)) })
        }
        c.likelyServerPorts = LikelyServerPorts(parsing: likelyServerPorts) ?? .zeekDefault
        c.vlanInKey = vlanKey
        c.recordVLANs = vlanColumns
        c.recordL2Addresses = macColumns
        if sctpPorts { c.sctpPorts = true }
        c.analyzerFlips = !noAnalyzerFlips
        c.threads = Self.effectiveThreads(threads)
        return c
    }

    /// The extra Zeek columns the options ask for.
    public var policyColumns: ConnLogColumns.Policies {
        var extras: ConnLogColumns.Policies = []
        if vlanKey { extras.insert(.vlanContext) }
        if vlanColumns { extras.insert(.vlan) }
        if macColumns { extras.insert(.l2Addresses) }
        return extras
    }

    /// Reads every file into `pipeline`, reporting ended and remaining connections to
    /// `handle`; errors go to `err` as one line each. Returns the exit status.
    /// - Parameter after: runs once the input is read and the remaining connections ended.
    func track(_ pipeline: inout FlowTracker, err: inout some TextSink, after: (inout FlowTracker) -> Void = { _ in },
               _ handle: (ConnectionEvent) -> Void) -> ExitStatus {
        track(&pipeline, err: &err, after: after, render: { event, _ in event }) { event, _ in handle(event) }
    }

    /// Reads every file into `pipeline`, each event turned into an `Output` by `render` on
    /// the tracking threads (``TrackerConfiguration/threads``; it may write a row into the
    /// bytes it is given) and handed to `consume` in packet order with those bytes, then
    /// the remaining connections likewise; errors go to `err` as one line each. Returns
    /// the exit status.
    /// - Parameter after: runs once the input is read and the remaining connections ended.
    func track<Output: Sendable>(_ pipeline: inout FlowTracker, err: inout some TextSink,
                                 after: (inout FlowTracker) -> Void = { _ in },
                                 render: @escaping @Sendable (ConnectionEvent, inout [UInt8]) -> Output?,
                                 _ consume: (Output, borrowing [UInt8]) -> Void) -> ExitStatus {
        var status = ExitStatus.success
        // Several files are one capture, merged by time; one progress bar for all of them.
        var bar = ProgressBar(paths: files, quiet: quiet)
        pipeline.run(files: files, filter: filter, progress: bar == nil ? nil : { bar?.update(packets: $0, bytes: $1) },
                     finishing: true,
                     failure: { path, error in
                         bar?.finish()
                         err.writeError(files.count > 1 ? "\(path): \(error)" : "\(error)")
                         if status == .success { status = ExitStatus(error) }
                     }, render: render, consume)
        bar?.finish()
        after(&pipeline)
        if pipeline.statistics.connections.evictions > 0 {
            err.writeError("\(pipeline.statistics.connections.evictions) connections were evicted to stay within --max-flows \(maxFlows)")
        }
        for warning in pipeline.statistics.warnings(checksumsIgnoredBy: "-C") { err.writeError("warning: \(warning)") }
        return status
    }
}
