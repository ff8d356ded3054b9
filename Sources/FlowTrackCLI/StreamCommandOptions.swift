import ArgumentParser
import FlowTrack

/// What `follow` and `streams` share: checksum verification and the uid seed, turned into
/// the tracker's configuration.
public struct StreamCommandOptions: ParsableArguments {
    /// Whether checksums are ignored.
    @Flag(name: [.customShort("C"), .customLong("ignore-checksums")],
          help: "Do not verify checksums (captures with offloaded checksums).")
    public var ignoreChecksums = false

    /// Uid seed.
    @Option(help: "Seed for connection uids, as given to conn.")
    public var seed: UInt64?

    /// Creates the options.
    public init() {}

    /// The tracker's configuration for these options.
    public var configuration: TrackerConfiguration {
        var configuration = TrackerConfiguration()
        configuration.verifyChecksums = !ignoreChecksums
        configuration.kernelStates = false  // the kernel-style state is not shown; not following it saves time
        configuration.uidSeed = seed
        return configuration
    }
}
