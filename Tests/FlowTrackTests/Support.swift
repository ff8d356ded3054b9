import FlowTrack
import Foundation
@_exported import TestSupport

/// Tracks the given captures and returns every connection record, oldest first.
func track(_ files: [String], configure: (inout TrackerConfiguration) -> Void = { _ in }) throws -> (rows: [Connection], statistics: TrackerStatistics) {
    var configuration = TrackerConfiguration()
    configuration.uidSeed = 42
    configure(&configuration)
    var pipeline = FlowTracker(configuration: configuration)
    var rows: [Connection] = []
    var failure: CaptureError?
    pipeline.run(files: files, failure: { _, error in failure = failure ?? error }) { if case let .ended(c) = $0 { rows.append(c) } }
    if let failure { throw failure }
    pipeline.finish { if case let .ended(c) = $0 { rows.append(c) } }
    rows.sort { ($0.startTime, $0.originator.port) < ($1.startTime, $1.originator.port) }
    return (rows, pipeline.statistics.connections)
}

/// A JSON Lines row parsed back by Foundation, as a pipeline consumer would.
func jsonObject(_ c: Connection, communityID: Bool = false) throws -> [String: Any] {
    let line = JSONLinesWriter(columns: ConnLogColumns(communityID: communityID)).row(c)
    return try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
}

func readLines(_ path: String) -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").map(String.init)
}
