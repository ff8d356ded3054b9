/// Calendar formatting of capture timestamps in UTC, without Foundation.
public enum TimeFormat {
    /// `YYYY-MM-DD HH:MM:SS.fffffffff` in UTC (tcpdump's `-tttt` with nanoseconds).
    public static func dateTime(_ t: Timestamp) -> String {
        let (y, m, d, hh, mm, ss) = civil(t.seconds)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(hh, 2)):\(pad(mm, 2)):\(pad(ss, 2)).\(pad(t.fractionNanoseconds, 9))"
    }

    /// `SECONDS.ffffff` since the epoch, as Zeek's `ts` column shows it (6 decimals).
    public static func epochMicros(_ t: Timestamp) -> String {
        let micros = (t.fractionNanoseconds + 500) / 1000
        if micros >= 1_000_000 { return "\(t.seconds + 1).000000" }
        return "\(t.seconds).\(pad(micros, 6))"
    }

    /// A duration in nanoseconds as seconds with 6 decimals (Zeek's `interval`).
    public static func interval(_ nanoseconds: Int64) -> String {
        epochMicros(Timestamp(nanoseconds: nanoseconds))
    }

    /// `YYYY-MM-DD-HH-MM-SS` in UTC, as Zeek's `#open` and `#close` lines.
    public static func logStamp(_ t: Timestamp) -> String {
        let (y, m, d, hh, mm, ss) = civil(t.seconds)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))-\(pad(hh, 2))-\(pad(mm, 2))-\(pad(ss, 2))"
    }

    /// `SECONDS.fffffffff` since the epoch (tcpdump's `-tt` with nanoseconds).
    public static func epochNanos(_ t: Timestamp) -> String {
        "\(t.seconds).\(pad(t.fractionNanoseconds, 9))"
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Converts seconds since the epoch to a UTC civil date and time
    /// (Howard Hinnant's `civil_from_days`).
    static func civil(_ seconds: Int64) -> (Int64, Int64, Int64, Int64, Int64, Int64) {
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
}
