import FlowTrack

/// The exit statuses `flowtrack` uses, documented in README.md.
public enum ExitStatus: Int32, Sendable {
    /// Everything went well.
    case success = 0
    /// An unexpected failure.
    case failure = 1
    /// A capture file is missing or unreadable.
    case noInput = 2
    /// A file is not a pcap or pcapng capture.
    case notACapture = 3
    /// A capture file is cut short (earlier packets were processed).
    case damagedCapture = 4
    /// The capture's link type cannot be decoded.
    case unsupportedLinkType = 5
    /// A BPF filter expression does not compile.
    case badFilter = 6
    /// Live capture needs privileges the process lacks (CAP_NET_RAW, CAP_NET_ADMIN).
    case needsPrivileges = 7
    /// The capture interface does not exist.
    case noSuchInterface = 8
    /// A capture file is empty.
    case emptyFile = 9
    /// A capture file has an impossible record or block (earlier packets were processed).
    case corruptCapture = 10
    /// A command-line usage error (swift-argument-parser's validation code).
    case usage = 64

    /// The status for a capture error.
    public init(_ error: CaptureError) {
        switch error {
        case .fileNotFound, .permissionDenied: self = .noInput
        case .notACaptureFile: self = .notACapture
        case .emptyFile: self = .emptyFile
        case .truncatedRecord, .readFailed: self = .damagedCapture
        case .corruptRecord: self = .corruptCapture
        case .unsupportedLinkType: self = .unsupportedLinkType
        case .badFilter: self = .badFilter
        case .writeFailed: self = .failure
        }
    }

    /// The status for a live-capture error.
    public init(_ error: LiveCaptureError) {
        switch error {
        case .permissionDenied: self = .needsPrivileges
        case .noSuchInterface: self = .noSuchInterface
        case .badFilter: self = .badFilter
        case .interfaceDown, .activationFailed, .readFailed: self = .failure
        }
    }
}
