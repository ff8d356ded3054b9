/// A capture timestamp: nanoseconds since the Unix epoch (1970-01-01 UTC).
///
/// Files are opened with nanosecond precision, so a microsecond pcap file's
/// timestamps are exact multiples of 1000 ns.
public struct Timestamp: Hashable, Comparable, Sendable {
    /// Nanoseconds since the Unix epoch.
    public var nanoseconds: Int64

    /// Creates a timestamp from nanoseconds since the Unix epoch.
    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// Creates a timestamp from whole seconds and nanoseconds within the second.
    @inlinable public init(seconds: Int64, nanoseconds: Int64) {
        self.nanoseconds = seconds &* 1_000_000_000 &+ nanoseconds
    }

    /// Whole seconds since the epoch (rounded towards negative infinity).
    @inlinable public var seconds: Int64 {
        nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
    }

    /// Nanoseconds within the second, 0 ..< 1 000 000 000.
    @inlinable public var fractionNanoseconds: Int64 { nanoseconds - seconds * 1_000_000_000 }

    /// Orders timestamps in time.
    @inlinable public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }
}

