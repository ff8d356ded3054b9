#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage

extension Timestamp {
    /// The timestamp of `date` (to the nearest nanosecond `Date`'s `Double` can express).
    public init(_ date: Date) {
        self.init(nanoseconds: Int64((date.timeIntervalSince1970 * 1e9).rounded()))
    }

    /// The timestamp as a `Date` (whose `Double` keeps about a tenth of a microsecond).
    public var date: Date {
        Date(timeIntervalSince1970: Double(seconds) + Double(fractionNanoseconds) / 1e9)
    }
}

/// The file-system path of a `file:` URL, or the error a capture reader reports for another URL.
func capturePath(_ url: URL) throws(CaptureError) -> String {
    guard url.isFileURL else { throw .fileNotFound(path: url.absoluteString, message: "not a file URL") }
    return url.path
}

extension PcapFile {
    /// Opens a capture file named by a `file:` URL (see `init(path:filter:)`).
    public init(url: URL, filter: String? = nil) throws(CaptureError) {
        try self.init(path: try capturePath(url), filter: filter)
    }

    /// Opens a capture file (see `init(path:filter:)`).
    public init(filePath: FilePath, filter: String? = nil) throws(CaptureError) {
        try self.init(path: filePath.string, filter: filter)
    }
}

extension PcapWriter {
    /// Creates a capture file named by a `file:` URL (see `init(path:linkType:snapshotLength:)`).
    public init(url: URL, linkType: LinkType, snapshotLength: Int = 262_144) throws(CaptureError) {
        try self.init(path: try capturePath(url), linkType: linkType, snapshotLength: snapshotLength)
    }

    /// Creates a capture file (see `init(path:linkType:snapshotLength:)`).
    public init(filePath: FilePath, linkType: LinkType, snapshotLength: Int = 262_144) throws(CaptureError) {
        try self.init(path: filePath.string, linkType: linkType, snapshotLength: snapshotLength)
    }
}

extension FlowTracker {
    /// Reads a capture file named by a `file:` URL (see `run(file:)` with a path `String`).
    public mutating func run(file url: URL, filter: String? = nil, progress: ((_ packets: Int, _ bytes: Int) -> Void)? = nil,
                             stop: CaptureStop? = nil, _ handler: (ConnectionEvent) -> Void) throws(CaptureError) {
        try run(file: try capturePath(url), filter: filter, progress: progress, stop: stop, handler)
    }

    /// Reads a capture file (see `run(file:)` with a path `String`).
    public mutating func run(file path: FilePath, filter: String? = nil, progress: ((_ packets: Int, _ bytes: Int) -> Void)? = nil,
                             stop: CaptureStop? = nil, _ handler: (ConnectionEvent) -> Void) throws(CaptureError) {
        try run(file: path.string, filter: filter, progress: progress, stop: stop, handler)
    }

    /// The events of capture files named by `file:` URLs (see `events(files:)` with path
    /// `String`s); a URL of another scheme is a file that cannot be opened.
    public static func events(files: [URL], filter: String? = nil,
                              configuration: TrackerConfiguration = TrackerConfiguration(),
                              onFailure: FileFailurePolicy = .stop) -> ConnectionEvents<CaptureError> {
        events(files: files.map { $0.isFileURL ? $0.path : $0.absoluteString }, filter: filter,
               configuration: configuration, onFailure: onFailure)
    }

    /// The events of capture files (see `events(files:)` with path `String`s).
    public static func events(files: [FilePath], filter: String? = nil,
                              configuration: TrackerConfiguration = TrackerConfiguration(),
                              onFailure: FileFailurePolicy = .stop) -> ConnectionEvents<CaptureError> {
        events(files: files.map(\.string), filter: filter, configuration: configuration, onFailure: onFailure)
    }
}
