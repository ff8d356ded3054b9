// swift-tools-version:6.1
import PackageDescription

// Kept apart from the library's package so `swift build` of FlowTrack never
// resolves or builds package-benchmark.
let package = Package(
    name: "FlowTrackBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "FlowTrackBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "FlowTrack", package: "main"),
            ],
            path: "Benchmarks/FlowTrackBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
    ]
)
