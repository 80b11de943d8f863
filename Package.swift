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
            name: "CFioLinux",
            path: "Sources/CFioLinux",
            linkerSettings: [.linkedLibrary("uring")]
        ),
        .target(
            name: "FioTrace",
            dependencies: [
                "CZstd", "CZlib", "CXXHash",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "FioReplay",
            dependencies: [
                "FioTrace", "CLibAIO", "CFioLinux",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "fio-replay",
            dependencies: [
                "FioTrace", "FioReplay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
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
