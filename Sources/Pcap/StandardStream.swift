#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Raw writes to the process's file descriptors, kept here so that C calls and
/// unsafe pointers stay inside the Pcap module.
public enum StandardStream {
    /// Standard output's descriptor.
    public static let output: Int32 = 1
    /// Standard error's descriptor.
    public static let error: Int32 = 2

    /// Writes all of `bytes` to `descriptor`, retrying after interruptions.
    /// - Returns: `false` if the descriptor refused the write (a closed pipe, a full disk).
    @discardableResult
    public static func write(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        var start = 0
        while start < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.write(descriptor, raw.baseAddress! + start, raw.count - start)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            start += n
        }
        return true
    }

    /// Whether `descriptor` is a terminal. The corresponding C function is `isatty()`.
    /// Creates (or truncates) a file for writing; its descriptor, or `nil` with the system's reason.
    public static func create(_ path: String) -> Result<Int32, CaptureError> {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return .failure(.writeFailed(path: path, message: String(cString: strerror(errno)))) }
        return .success(fd)
    }

    /// Opens a file for appending (creating it if needed); its descriptor, or the system's reason.
    public static func append(_ path: String) -> Result<Int32, CaptureError> {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return .failure(.writeFailed(path: path, message: String(cString: strerror(errno)))) }
        return .success(fd)
    }

    /// Creates a directory (and any missing parents); `nil` on success, else the system's reason.
    public static func makeDirectory(_ path: String) -> CaptureError? {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part + "/"
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                return .writeFailed(path: path, message: String(cString: strerror(errno)))
            }
        }
        return nil
    }

    /// Closes a descriptor from ``create(_:)``.
    public static func close(_ descriptor: Int32) { _ = Glibc.close(descriptor) }

    /// The processors online (at least 1).
    public static var availableCores: Int {
        max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// Raises the process's soft limit on open descriptors towards `wanted` (never above the
    /// hard limit) and returns the limit now in force.
    public static func raiseOpenFileLimit(to wanted: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let target = min(rlim_t(wanted), limit.rlim_max)
        if limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(limit.rlim_cur)
    }

    public static func isTerminal(_ descriptor: Int32) -> Bool { isatty(descriptor) == 1 }

    /// The size of the regular file at `path`, or `nil` (standard input, a pipe, missing).
    public static func fileSize(_ path: String) -> Int? {
        var info = stat()
        guard path != "-", stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(info.st_size)
    }
}

extension StandardStream {
    /// The signals that ask a command to stop: SIGINT (Ctrl-C) and SIGTERM.
    public static var stopSignals: [Int32] { [SIGINT, SIGTERM] }

    /// Ignores a signal's default action (so a dispatch source can handle it instead).
    /// The corresponding C function is `signal()`.
    public static func ignore(signal number: Int32) {
        _ = signal(number, SIG_IGN)
    }

    /// Whether the process runs as root (effective user 0). The corresponding C function is `geteuid()`.
    public static var isRoot: Bool { geteuid() == 0 }
}

extension Array where Element == UInt8 {
    /// Appends the bytes of `span` with one copy (a `memcpy`), where a loop over the span's
    /// elements would append them one at a time. Kept here with the other unsafe code.
    public mutating func append(copying span: Span<UInt8>) {
        unsafe span.withUnsafeBufferPointer { unsafe append(contentsOf: $0) }
    }
}
