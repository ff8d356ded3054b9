// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [.strictMemorySafety()]

let package = Package(
    name: "FlowTrack",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FlowTrack", targets: ["FlowTrack"]),
        .library(name: "Packets", targets: ["Packets"]),
        .library(name: "Pcap", targets: ["Pcap"]),
        .executable(name: "flowtrack", targets: ["flowtrack"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .target(name: "Pcap", dependencies: ["CPcap", "Packets"]),
        .target(
            name: "Packets",
            swiftSettings: [.enableExperimentalFeature("Lifetimes")] + strict),
        .target(name: "Flows", dependencies: ["Packets"], swiftSettings: strict),
        .target(
            name: "FlowTrack",
            dependencies: ["Pcap", "Packets", "Flows", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: [.enableExperimentalFeature("Lifetimes")] + strict),
        .target(
            name: "FlowTrackCLI",
            dependencies: ["FlowTrack", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),
        .executableTarget(name: "flowtrack", dependencies: ["FlowTrackCLI"]),
        .target(name: "TestSupport", path: "Tests/Support"),
        .testTarget(name: "PcapTests", dependencies: ["Pcap", "CPcap", "TestSupport"]),
        .testTarget(name: "PacketsTests", dependencies: ["Packets", "Pcap", "TestSupport"]),
        .testTarget(name: "FlowsTests", dependencies: ["Flows", "TestSupport"]),
        .testTarget(
            name: "FlowTrackTests",
            dependencies: ["FlowTrack", "TestSupport", .product(name: "SystemPackage", package: "swift-system")]),
        .testTarget(name: "DocumentationTests", dependencies: ["FlowTrack", "TestSupport"]),
        .testTarget(name: "FlowTrackCLITests", dependencies: ["FlowTrackCLI", "FlowTrack", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
