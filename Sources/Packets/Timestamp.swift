/// A capture timestamp: nanoseconds since the Unix epoch (1970-01-01 UTC).
///
/// Files are opened with nanosecond precision, so a microsecond pcap file's
/// timestamps are exact multiples of 1000 ns. Its description is ISO 8601 in UTC with
/// nanoseconds (`2023-11-14T22:13:20.000000001Z`); `Duration`s add to it and the
/// difference of two timestamps is one:
///
/// ```swift
/// let earlier = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
/// let later = earlier + .milliseconds(1500)   // a Timestamp
/// let idle = later - earlier                  // a Duration
/// print(later, idle)                          // 2023-11-14T22:13:21.500000000Z 1.5 seconds
/// ```
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
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

    /// ISO 8601 in UTC with nanoseconds: `2023-11-14T22:13:20.123456789Z`.
    public var description: String {
        let (y, m, d, hh, mm, ss) = Self.civil(seconds)
        let pad = zeroPadded
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(hh, 2)):\(pad(mm, 2)):\(pad(ss, 2)).\(pad(fractionNanoseconds, 9))Z"
    }

    /// Converts seconds since the epoch to a UTC civil date and time: year, month, day,
    /// hour, minute, second (Howard Hinnant's `civil_from_days`).
    package static func civil(_ seconds: Int64) -> (Int64, Int64, Int64, Int64, Int64, Int64) {
        var days = seconds / 86_400
        var rem = seconds % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
    }

    /// The time `duration` after `t` (truncated to whole nanoseconds).
    public static func + (t: Timestamp, duration: Duration) -> Timestamp {
        Timestamp(nanoseconds: t.nanoseconds &+ duration.wholeNanoseconds)
    }

    /// The time `duration` before `t` (truncated to whole nanoseconds).
    public static func - (t: Timestamp, duration: Duration) -> Timestamp {
        Timestamp(nanoseconds: t.nanoseconds &- duration.wholeNanoseconds)
    }

    /// The time from `b` to `a` (negative when `a` is earlier).
    public static func - (a: Timestamp, b: Timestamp) -> Duration {
        .nanoseconds(a.nanoseconds &- b.nanoseconds)
    }

    /// Moves `t` by `duration`.
    public static func += (t: inout Timestamp, duration: Duration) { t = t + duration }
}

extension Duration {
    /// The duration in whole nanoseconds (truncated towards zero; saturates beyond ±292 years).
    public var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }
}

/// `v` in decimal, zero-padded to `width` digits (calendar fields, tcpflow's file names).
package func zeroPadded(_ v: Int64, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
