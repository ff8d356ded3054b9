import Packets

/// An error from opening, reading, filtering or writing a capture.
///
/// Every case carries libpcap's own message (or the operating system's) as
/// `message`, so a user sees exactly what libpcap saw; ``description`` adds what
/// to do about it. This path is cold, so the cases may carry `String`s.
public enum CaptureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The capture file does not exist.
    case fileNotFound(path: String, message: String)
    /// The capture file exists but cannot be opened for reading.
    case permissionDenied(path: String, message: String)
    /// The file is readable but is neither a pcap nor a pcapng capture, or its
    /// header is damaged.
    case notACaptureFile(path: String, message: String)
    /// The file is empty (zero bytes).
    case emptyFile(path: String)
    /// The capture's link-layer header type is one FlowTrack cannot decode.
    case unsupportedLinkType(linkType: LinkType, name: String)
    /// The file ends in the middle of a record. Every complete packet before the
    /// cut has been delivered.
    case truncatedRecord(packetsRead: Int, message: String)
    /// A record header is impossible (for example a captured length larger than
    /// libpcap's maximum). Every packet before it has been delivered.
    case corruptRecord(packetsRead: Int, message: String)
    /// libpcap could not compile or install a BPF filter expression.
    case badFilter(expression: String, message: String)
    /// A capture file could not be created or written.
    case writeFailed(path: String, message: String)
    /// Any other failure libpcap reports while reading.
    case readFailed(message: String)

    /// Whether the file was read up to a damaged record (cut short or corrupt): every
    /// packet before it has been delivered, and a program reading several files goes on
    /// with the next one.
    public var isDamagedRecord: Bool {
        switch self {
        case .truncatedRecord, .corruptRecord: return true
        default: return false
        }
    }

    /// One line for a person: what went wrong, libpcap's own words, and what to do.
    public var description: String {
        switch self {
        case let .fileNotFound(path, message):
            return "\(path): no such file (\(message))"
        case let .permissionDenied(path, message):
            return "\(path): permission denied (\(message)); check the file's mode or run as its owner"
        case let .notACaptureFile(path, message):
            return "\(path): not a pcap or pcapng capture file (libpcap: \(message))"
        case let .emptyFile(path):
            return "\(path): empty file, not a capture"
        case let .unsupportedLinkType(linkType, name):
            return "unsupported link-layer type \(name) (\(linkType.rawValue)); FlowTrack decodes Ethernet, Linux SLL/SLL2, BSD NULL/LOOP and raw IPv4/IPv6"
        case let .truncatedRecord(packetsRead, message):
            return "capture file cut short after \(packetsRead) complete packets (libpcap: \(message))"
        case let .corruptRecord(packetsRead, message):
            return "corrupt record after \(packetsRead) complete packets (libpcap: \(message))"
        case let .badFilter(expression, message):
            return "bad filter expression '\(expression)' (libpcap: \(message))"
        case let .writeFailed(path, message):
            return "\(path): cannot write capture file (\(message))"
        case let .readFailed(message):
            return "read failed (libpcap: \(message))"
        }
    }
}
