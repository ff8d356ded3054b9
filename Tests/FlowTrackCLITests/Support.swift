import Foundation
import FlowTrack
@testable import FlowTrackCLI
@_exported import TestSupport

/// The `flowtrack` executable SwiftPM built next to the test bundle.
var binaryPath: String {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent("flowtrack")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
        dir = dir.deletingLastPathComponent()
    }
    return Paths.repository + "/.build/debug/flowtrack"
}

/// The result of running a command in-process.
struct Run {
    var status: ExitStatus
    var out: String
    var err: String
    var lines: [Substring] { out.split(separator: "\n") }
}

/// Parses and runs `flowtrack packets ARGS…` in-process.
func packets(_ arguments: [String]) throws -> Run {
    let command = try PacketsCommand.parse(arguments)
    var out = StringSink(), err = StringSink()
    let status = command.execute(out: &out, err: &err)
    return Run(status: status, out: out.text, err: err.text)
}

/// Runs a program with its standard output and error captured (standard input from `stdin`,
/// else nothing); `whileRunning` acts on the started process (sends traffic, a signal) before
/// the output is read to its end.
func runProcess(_ executable: String, _ arguments: [String], stdin: String? = nil,
                whileRunning: (Process) throws -> Void = { _ in }) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin.flatMap { FileHandle(forReadingAtPath: $0) } ?? FileHandle.nullDevice
    try process.run()
    try whileRunning(process)
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// Runs the built binary as a user would, optionally feeding a file to standard input.
func runBinary(_ arguments: [String], stdin: String? = nil) throws -> (status: Int32, out: String, err: String) {
    try runProcess(binaryPath, arguments, stdin: stdin)
}

/// Runs a shell command under script(1), so its standard output and error are a terminal,
/// and returns everything it printed.
func runOnTerminal(_ command: String) throws -> String {
    try runProcess("/usr/bin/script", ["-qec", command, "/dev/null"]).out
}
