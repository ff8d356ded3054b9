// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets, kept out of the library's package. Build and run with
// scripts/fuzz.sh (it passes -sanitize=fuzzer,address).
let package = Package(
    name: "FlowTrackFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../")],
    targets: [
        .target(name: "FuzzSupport"),
        // -parse-as-library: the entry point is the @_cdecl'd `<Module>_main`, which calls libFuzzer.
        .executableTarget(name: "FuzzDecoder", dependencies: ["FuzzSupport", .product(name: "FlowTrack", package: "main")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(name: "FuzzTracker", dependencies: ["FuzzSupport", .product(name: "FlowTrack", package: "main")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(name: "FuzzStreams", dependencies: ["FuzzSupport", .product(name: "FlowTrack", package: "main")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ],
    swiftLanguageModes: [.v6]
)
