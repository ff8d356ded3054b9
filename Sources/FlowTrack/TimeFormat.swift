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

    static func pad(_ v: Int64, _ width: Int) -> String { zeroPadded(v, width) }

    /// Converts seconds since the epoch to a UTC civil date and time.
    static func civil(_ seconds: Int64) -> (Int64, Int64, Int64, Int64, Int64, Int64) { Timestamp.civil(seconds) }
}
