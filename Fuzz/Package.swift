// swift-tools-version: 6.0
// Fuzz targets for FioTrace's readers, built with libFuzzer (see scripts/fuzz.sh, which
// builds with `-sanitize=fuzzer -parse-as-library`). A separate package so that the root
// package's `swift build` and `swift test` never see a target without a `main`.
import Foundation
import PackageDescription

// A path dependency's identity is its directory's name, which depends on where the
// repository was cloned: compute it rather than hard-code it.
let rootDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = rootDirectory.lastPathComponent.lowercased()

let package = Package(
    name: "FioTraceFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(path: "..")],
    targets: [
        // libFuzzer's driver entry point, declared for Swift.
        .target(name: "CFuzzDriver"),
        .executableTarget(
            name: "fiotrace-fuzz",
            dependencies: ["CFuzzDriver", .product(name: "FioTrace", package: rootIdentity)],
            // Swift 5 mode: the entry points touch C globals (stderr) and process-wide state.
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
