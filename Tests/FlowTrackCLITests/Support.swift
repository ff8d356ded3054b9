import Foundation
import FlowTrack
@testable import FlowTrackCLI

enum Paths {
    static let repository: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()
    static func fixture(_ name: String) -> String { repository + "/Fixtures/" + name }

    /// The `flowtrack` executable SwiftPM built next to the test bundle.
    static var binary: String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("flowtrack")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        return repository + "/.build/debug/flowtrack"
    }

    static func temporary(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flowtrack-cli-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }
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
    process.executableURL = URL(fileURLWithPath: Paths.binary)
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
