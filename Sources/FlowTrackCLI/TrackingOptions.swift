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
    @Option(name: .customLong("max-flows"), help: "Track at most N connections at once; the idlest is evicted beyond that (default 1000000, about 250 MB).")
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

    /// No progress bar.
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "No progress bar on standard error for large files.")
    public var quiet = false

    /// Creates the options with their defaults.
    public init() {}

    /// Validates the values.
    public func validate() throws {
        if maxFlows < 1 { throw ValidationError("--max-flows must be at least 1") }
        if timeouts != "zeek" && timeouts != "conntrack" { throw ValidationError("--timeouts must be zeek or conntrack") }
        if let localNets, localNets != "none" {
            for item in localNets.split(separator: ",") where Subnet(Self.trim(item)) == nil {
                throw ValidationError("--local-nets: '\(item)' is not a CIDR such as 10.0.0.0/8 or fd00::/8")
            }
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
        return c
    }

    /// Reads every file into `pipeline`, reporting ended and remaining connections to
    /// `handle`; errors go to `err` as one line each. Returns the exit status.
    func track(_ pipeline: inout FlowTracker, err: inout some TextSink, _ handle: (ConnectionEvent) -> Void) -> ExitStatus {
        var status = ExitStatus.success
        for path in files {
            var bar = ProgressBar(path: path, quiet: quiet)
            do throws(CaptureError) {
                try pipeline.run(file: path, filter: filter, progress: bar == nil ? nil : { bar?.update(packets: $0, bytes: $1) }, handle)
                bar?.finish()
            } catch {
                bar?.finish()
                err.writeError("\(error)")
                status = ExitStatus(error)
                if error.isDamagedRecord { continue }
                break
            }
        }
        pipeline.finish(handle)
        if pipeline.statistics.evictions > 0 {
            err.writeError("\(pipeline.statistics.evictions) connections were evicted to stay within --max-flows \(maxFlows)")
        }
        return status
    }
}
