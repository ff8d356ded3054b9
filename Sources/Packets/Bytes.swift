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
    func be64(at i: Int) -> UInt64 {
        UInt64(self[i]) << 56 | UInt64(self[i + 1]) << 48 | UInt64(self[i + 2]) << 40 | UInt64(self[i + 3]) << 32
            | UInt64(self[i + 4]) << 24 | UInt64(self[i + 5]) << 16 | UInt64(self[i + 6]) << 8 | UInt64(self[i + 7])
    }

    /// Reads a little-endian `UInt16` at `i`.
    @inlinable @inline(__always)
    func le16(at i: Int) -> UInt16 { UInt16(self[i]) | UInt16(self[i + 1]) << 8 }

    /// Reads a little-endian `UInt32` at `i`.
    @inlinable @inline(__always)
    func le32(at i: Int) -> UInt32 {
        UInt32(self[i]) | UInt32(self[i + 1]) << 8 | UInt32(self[i + 2]) << 16 | UInt32(self[i + 3]) << 24
    }
}
