import ArgumentParser
import FlowTrack
import Pcap

/// Where a command writes its text: standard output, standard error, or a string in tests.
public protocol TextSink {
    /// Appends text.
    mutating func write(_ text: String)
    /// Appends UTF-8 bytes.
    mutating func write(bytes: [UInt8])
    /// Pushes buffered text to its destination.
    mutating func flush()
    /// Lets `fill` append UTF-8 bytes in place (no intermediate array where the sink buffers).
    mutating func append(_ fill: (inout [UInt8]) -> Void)
}

extension TextSink {
    /// Collects the bytes in a temporary array and writes them.
    public mutating func append(_ fill: (inout [UInt8]) -> Void) {
        var bytes: [UInt8] = []
        fill(&bytes)
        write(bytes: bytes)
    }
}

extension TextSink {
    /// Writes `flowtrack: message` as one line, the form of every error FlowTrack reports.
    public mutating func writeError(_ message: String) {
        write("flowtrack: " + Escaping.line(message) + "\n")
    }
}

/// A buffered writer to a file descriptor (64 KiB chunks, no Foundation).
public struct FileDescriptorSink: TextSink {
    let fd: Int32
    var buffer: [UInt8] = []

    /// Standard output.
    public static var standardOutput: FileDescriptorSink { FileDescriptorSink(fd: 1) }
    /// Standard error (written through at every flush).
    public static var standardError: FileDescriptorSink { FileDescriptorSink(fd: 2) }

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    /// Appends text, flushing when the buffer passes 64 KiB.
    public mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Appends UTF-8 bytes, flushing when the buffer passes 64 KiB.
    public mutating func write(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Lets `fill` append to the buffer, flushing when it passes 64 KiB.
    public mutating func append(_ fill: (inout [UInt8]) -> Void) {
        fill(&buffer)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Writes out everything buffered.
    public mutating func flush() {
        StandardStream.write(buffer, to: fd)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Collects text in memory; used by tests that run commands in-process.
public struct StringSink: TextSink {
    /// Everything written so far.
    public var text = ""
    /// An empty sink.
    public init() {}
    /// Appends text.
    public mutating func write(_ text: String) { self.text += text }
    /// Appends UTF-8 bytes.
    public mutating func write(bytes: [UInt8]) { text += String(decoding: bytes, as: UTF8.self) }
    /// Does nothing: the text is already in memory.
    public mutating func flush() {}
}

/// Runs a command body against buffered standard output and standard error, flushes
/// both, and turns a non-success status into the process's exit code.
func runWithStandardStreams(_ body: (inout FileDescriptorSink, inout FileDescriptorSink) -> ExitStatus) throws {
    var out = FileDescriptorSink.standardOutput
    var err = FileDescriptorSink.standardError
    let status = body(&out, &err)
    out.flush()
    err.flush()
    if status != .success { throw ExitCode(status.rawValue) }
}
