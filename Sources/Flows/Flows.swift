@_exported import Packets

/// The Flows module: connection tracking on decoded packets.
///
/// The flow table, TCP state machine and port demultiplexing arrive with the
/// connection-tracking work; this namespace marks the layer in the pipeline
/// (`Packets` → `Flows` → `FlowTrack`).
public enum FlowsModule {
    /// The layer's place in FlowTrack's pipeline, for diagnostics.
    public static let stage = "flows"
}
