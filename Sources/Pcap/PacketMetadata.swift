@_exported import struct Packets.Timestamp

/// What the capture says about one packet besides its bytes.
public struct PacketMetadata: Sendable, Equatable {
    /// When the packet was captured.
    public var timestamp: Timestamp
    /// How many bytes were captured (at most the snapshot length).
    public var capturedLength: Int
    /// How long the packet was on the wire.
    public var wireLength: Int

    /// Creates packet metadata.
    @inlinable public init(timestamp: Timestamp, capturedLength: Int, wireLength: Int) {
        self.timestamp = timestamp
        self.capturedLength = capturedLength
        self.wireLength = wireLength
    }
}
