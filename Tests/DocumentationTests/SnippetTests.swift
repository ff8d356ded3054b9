import FlowTrack
import Foundation
import Testing
import TestSupport

/// The documentation's code: every Swift snippet in README.md, the DocC catalogs and the
/// documentation comments is compiled (it appears verbatim in Snippets.swift), and the ones
/// that read a capture run against a real one, so none can crash or fail to build.
@Suite(.serialized) struct SnippetTests {
    /// The Swift snippets of a document: its ```swift blocks (in documentation comments,
    /// the lines between `/// ```swift` and `/// ````), manifests left out.
    static func snippets(in path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var found: [String] = []
        var current: [String]?
        let comment = path.hasSuffix(".swift")
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(raw)
            if comment {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix("///") else { current = nil; continue }
                line = String(trimmed.dropFirst(trimmed.hasPrefix("/// ") ? 4 : 3))
            }
            if current == nil, line.hasPrefix("```swift") { current = []; continue }
            if current != nil, line.hasPrefix("```") {
                if let body = current, !body.joined().contains(".package(") { found.append(body.joined(separator: "\n")) }
                current = nil
                continue
            }
            current?.append(line)
        }
        return found
    }

    /// Lines without indentation, blank lines and imports: how a snippet is compared.
    static func normalized(_ code: String) -> String {
        code.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("import ") }.joined(separator: "\n")
    }

    static var documents: [String] {
        let root = Paths.repository
        var paths = [root + "/README.md"]
        let enumerator = FileManager.default.enumerator(atPath: root + "/Sources")
        while let relative = enumerator?.nextObject() as? String {
            if relative.hasSuffix(".swift") || (relative.contains(".docc/") && relative.hasSuffix(".md")) {
                paths.append(root + "/Sources/" + relative)
            }
        }
        return paths.sorted()
    }

    @Test func everySnippetIsCompiled() throws {
        let compiled = Self.normalized(try String(contentsOfFile: Paths.repository + "/Tests/DocumentationTests/Snippets.swift",
                                                  encoding: .utf8))
        var count = 0
        for path in Self.documents {
            for snippet in Self.snippets(in: path) {
                count += 1
                let present = compiled.contains(Self.normalized(snippet))
                #expect(present, "a snippet of \(path) is not in Tests/DocumentationTests/Snippets.swift:\n\(snippet)")
            }
        }
        #expect(count >= 19, "found \(count) snippets")
    }

    /// Runs `body` in a directory holding the captures the snippets name.
    static func inCaptureDirectory(_ body: () async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flowtrack-snippets-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, fixture) in [("trace.pcap", "st-reorder.pcap"), ("dns.pcap", "st-dns.pcap"), ("a.pcap", "conn-udp.pcap"),
                                ("b.pcap", "tcp-loopback.pcap")] {
            try FileManager.default.copyItem(atPath: Paths.fixture(fixture), toPath: directory.appendingPathComponent(name).path)
        }
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(directory.path)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try await body()
    }

    @Test func theSnippetsThatReadACaptureRun() async throws {
        // All but the live capture (snippet 4 needs an interface named eth0 and privileges).
        let runnable: [(String, () async throws -> Void)] = [
            ("01", Snippets.snippet01), ("02", Snippets.snippet02), ("03", Snippets.snippet03),
            ("05", Snippets.snippet05), ("06", Snippets.snippet06), ("07", Snippets.snippet07),
            ("08", Snippets.snippet08), ("09", Snippets.snippet09), ("10", Snippets.snippet10),
            ("11", Snippets.snippet11), ("12", Snippets.snippet12), ("13", Snippets.snippet13),
            ("14", Snippets.snippet14), ("15", Snippets.snippet15), ("16", Snippets.snippet16),
            ("17", Snippets.snippet17), ("18", Snippets.snippet18), ("19", Snippets.snippet19),
            ("20", Snippets.snippet20), ("21", Snippets.snippet21), ("22", Snippets.snippet22), ("23", Snippets.snippet23),
        ]
        try await Self.inCaptureDirectory {
            for (name, snippet) in runnable {
                do { try await snippet() } catch { Issue.record("snippet \(name) threw \(error)") }
            }
        }
    }
}
