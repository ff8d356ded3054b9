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

/// Runs the built binary as a user would, optionally feeding a file to standard input.
func runBinary(_ arguments: [String], stdin: String? = nil) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binaryPath)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    if let stdin { process.standardInput = FileHandle(forReadingAtPath: stdin) }
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// Runs a shell command under script(1), so its standard output and error are a terminal,
/// and returns everything it printed.
func runOnTerminal(_ command: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
    process.arguments = ["-qec", command, "/dev/null"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return out
}
