import CPcap
import Packets

/// Several capture files read as one capture in timestamp order, the way `mergecap`
/// merges them: a streaming k-way merge that holds one packet per file (libpcap's
/// buffer of that file), never a whole file.
///
/// Packets with equal timestamps come in the order of the files' positions in the
/// list. A file that cannot be opened, or that turns out damaged while reading, is
/// reported once through ``next(_:)`` as a ``PcapMerge/SourceError`` and left out
/// from then on; the other files go on.
///
/// ```swift
/// var merge = PcapMerge(paths: ["a.pcap", "b.pcap"])
/// while true {
///     do {
///         guard let _ = try merge.next({ source, meta, bytes in bytes.count }) else { break }
///     } catch {
///         print(merge.paths[error.source], error.error)   // reported; the rest go on
///     }
/// }
/// ```
public struct PcapMerge: ~Copyable {
    /// A file that failed: its position in ``paths`` and what went wrong.
    public struct SourceError: Error, Sendable {
        /// The file's position in ``PcapMerge/paths``.
        public var source: Int
        /// What went wrong (`truncatedRecord`/`corruptRecord` after its complete packets were delivered).
        public var error: CaptureError
    }

    /// One open file and the packet it holds next.
    final class Source {
        var file: PcapFile
        let index: Int
        var record: PcapFile.Record?
        var time: Int64 { record?.time ?? 0 }

        init(file: consuming PcapFile, index: Int) {
            self.file = file
            self.index = index
        }

        /// Reads the next packet into `record` (`nil` at the end); returns the damage, if any.
        func advance() -> CaptureError? {
            do throws(CaptureError) {
                record = try file.nextRecord()
                return nil
            } catch {
                record = nil
                return error
            }
        }
    }

    /// The files, in the order given.
    public let paths: [String]
    /// The link type of each file (`nil` for one that could not be opened).
    public private(set) var linkTypes: [LinkType?]
    var sources: [Source] = []
    var failures: [SourceError] = []

    /// Opens every file (a BPF `filter` applies to each); the ones that cannot be
    /// opened are reported by the first calls to ``next(_:)``.
    public init(paths: [String], filter: String? = nil) {
        self.paths = paths
        linkTypes = Array(repeating: nil, count: paths.count)
        for (index, path) in paths.enumerated() {
            do throws(CaptureError) {
                let file = try PcapFile(path: path, filter: filter)
                linkTypes[index] = file.linkType
                let source = Source(file: file, index: index)
                if let damage = source.advance() { failures.append(SourceError(source: index, error: damage)) }
                if source.record != nil { sources.append(source) }
            } catch {
                failures.append(SourceError(source: index, error: error))
            }
        }
    }

    /// Bytes consumed so far, summed over the files (for progress reports).
    public var bytesRead: Int { sources.reduce(0) { $0 + $1.file.bytesRead } }

    /// Hands the earliest packet of all files to `body` as a borrowed span, with the
    /// position of its file in ``paths``.
    ///
    /// - Returns: what `body` returned, or `nil` when every file is exhausted.
    /// - Throws: a ``SourceError`` for a file that could not be opened or is damaged;
    ///   that file is left out and the next call goes on with the others.
    public mutating func next<R>(_ body: (_ source: Int, PacketMetadata, Span<UInt8>) -> R) throws(SourceError) -> R? {
        if !failures.isEmpty { throw failures.removeFirst() }
        guard !sources.isEmpty else { return nil }
        var best = 0
        for i in 1..<sources.count where sources[i].time < sources[best].time { best = i }
        let source = sources[best]
        guard let record = source.record else { return nil }
        let meta = PacketMetadata(timestamp: Timestamp(nanoseconds: record.time),
                                  capturedLength: record.captured, wireLength: record.wire)
        let result = body(source.index, meta, UnsafeBufferPointer(start: record.data, count: record.captured).span)
        if let damage = source.advance() { failures.append(SourceError(source: source.index, error: damage)) }
        if source.record == nil { sources.remove(at: best) }
        return result
    }
}
