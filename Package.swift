// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "FioTrace",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "FioTrace", targets: ["FioTrace"]),
        .library(name: "FioReplay", targets: ["FioReplay"]),
        .executable(name: "fio-replay", targets: ["fio-replay"]),
        .executable(name: "fio-gen", targets: ["fio-gen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        // Thin C targets: system libraries plus one opaque Linux shim (liburing, O_DIRECT, ioctls).
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CXXHash", path: "Sources/CXXHash"),
        .systemLibrary(name: "CLibAIO", path: "Sources/CLibAIO"),
        .target(
            name: "CChecksum",
            path: "Sources/CChecksum",
            linkerSettings: [.linkedLibrary("isal"), .linkedLibrary("crypto"), .linkedLibrary("xxhash")]
        ),
        // CPU hints Swift cannot spell (prefetch), inline in a header.
        .target(name: "CFioTraceSupport", path: "Sources/CFioTraceSupport"),
        .target(
            name: "CFioLinux",
            path: "Sources/CFioLinux",
            linkerSettings: [.linkedLibrary("uring")]
        ),
        .target(
            name: "FioTrace",
            dependencies: [
                "CZstd", "CZlib", "CXXHash", "CFioTraceSupport",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "FioReplay",
            dependencies: [
                "FioTrace", "CLibAIO", "CFioLinux", "CChecksum",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .executableTarget(
            name: "fio-replay",
            dependencies: [
                "FioTrace", "FioReplay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            // `record --via preload`'s LD_PRELOAD library, as C source in the binary: built
            // with the machine's C compiler at first use (a SwiftPM dynamic library would
            // bring the Swift runtime into every recorded process).
            resources: [.embedInCode("Preload/preload.c")]
        ),
        .executableTarget(
            name: "fio-gen",
            dependencies: [
                "FioTrace",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "fiotrace-bench", dependencies: ["FioTrace"]),
        .testTarget(name: "FioTraceTests", dependencies: ["FioTrace"]),
        .testTarget(name: "FioReplayTests", dependencies: ["FioReplay", "FioTrace"]),
        .testTarget(name: "CLITests", dependencies: ["FioTrace"]),
    ]
)
