extension Span where Element == UInt8 {
    /// Reads a big-endian `UInt16` at `i`.
    @inlinable @inline(__always)
    func be16(at i: Int) -> UInt16 { UInt16(self[i]) << 8 | UInt16(self[i + 1]) }

    /// Reads a big-endian `UInt32` at `i`.
    @inlinable @inline(__always)
    func be32(at i: Int) -> UInt32 {
        UInt32(self[i]) << 24 | UInt32(self[i + 1]) << 16 | UInt32(self[i + 2]) << 8 | UInt32(self[i + 3])
    }

    /// Reads a big-endian `UInt64` at `i`.
    @inlinable @inline(__always)
    func be64(at i: Int) -> UInt64 { UInt64(be32(at: i)) << 32 | UInt64(be32(at: i + 4)) }

    /// Reads a little-endian `UInt32` at `i`.
    @inlinable @inline(__always)
    func le32(at i: Int) -> UInt32 {
        UInt32(self[i]) | UInt32(self[i + 1]) << 8 | UInt32(self[i + 2]) << 16 | UInt32(self[i + 3]) << 24
    }
}
