import FlowTrack

/// A progress bar on standard error for long reads: bytes done of the file size,
/// packets per second and the time left. Silent unless standard error is a
/// terminal and the file is larger than 50 MB.
struct ProgressBar {
    let total: Int
    let start = ContinuousClock.now
    var lastDraw: ContinuousClock.Instant?
    var drawn = false

    /// A bar for `path`, or `nil` when none should be shown.
    init?(path: String, quiet: Bool) { self.init(paths: [path], quiet: quiet) }

    /// One bar for files read together (their sizes added), or `nil` when none should be shown.
    init?(paths: [String], quiet: Bool) {
        guard !quiet, StandardStream.isTerminal(StandardStream.error) else { return nil }
        let size = paths.reduce(0) { $0 + (StandardStream.fileSize($1) ?? 0) }
        guard size > 50_000_000 else { return nil }
        total = size
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Draws at the first update, then at most five times a second.
    mutating func update(packets: Int, bytes: Int) {
        let now = ContinuousClock.now
        if let lastDraw, Self.seconds(now - lastDraw) < 0.2 { return }
        lastDraw = now
        let elapsed = max(Self.seconds(now - start), 0.001)
        let fraction = min(1, Double(bytes) / Double(max(total, 1)))
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = Double(packets) / elapsed
        let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        let line = "\r\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))| "
            + "\(Int(fraction * 100))% \(bytes / 1_000_000)/\(total / 1_000_000) MB  "
            + "\(Self.format(rate)) packets/s  ETA \(Int(eta) / 60):\(Self.two(Int(eta) % 60)) "
        StandardStream.write(Array(line.utf8), to: StandardStream.error)
        drawn = true
    }

    /// Clears the bar.
    func finish() {
        if drawn { StandardStream.write(Array(("\r" + String(repeating: " ", count: 78) + "\r").utf8), to: StandardStream.error) }
    }

    static func format(_ rate: Double) -> String {
        rate >= 1e6 ? "\(Int(rate / 1e5) / 10).\(Int(rate / 1e5) % 10) M" : "\(Int(rate / 1e3)) k"
    }

    static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
}
