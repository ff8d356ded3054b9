#if canImport(Glibc)
import Glibc
#endif

/// Paths to the bundled fixtures and the shared corpus, found from this file's path.
public enum Paths {
    /// The repository's root folder.
    public static let repository: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/Support/TestSupport.swift
        return parts.joined(separator: "/")
    }()

    /// A file in Fixtures/.
    public static func fixture(_ name: String) -> String { repository + "/Fixtures/" + name }

    /// The shared corpus (../shared/corpus beside the repository).
    public static let corpus = repository + "/../shared/corpus"

    /// A fresh path in a new temporary directory.
    public static func temporary(_ name: String) -> String {
        var template = Array("/tmp/flowtrack-test-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        return dir + "/" + name
    }
}

/// A small deterministic generator, so randomized tests reproduce.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    /// Creates a generator from a seed.
    public init(seed: UInt64) { state = seed }
    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
