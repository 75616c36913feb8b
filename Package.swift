// swift-tools-version: 6.2
import PackageDescription

/// Settings shared by every target: Swift 6 language mode plus the upcoming features that keep
/// imports and existentials explicit.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "pgstack_exporter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pgstack_exporter", targets: ["pgstack_exporter"]),
        // Built by scripts/bench.sh only (release mode): the exposition micro-benchmark.
        .executable(name: "encoder-benchmark", targets: ["EncoderBenchmark"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // libpq, the PostgreSQL client library (Debian: libpq-dev).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // Safe Swift wrapper around libpq: connect, simple query, rows of text, errors, cancel.
        .target(
            name: "PostgresClient",
            dependencies: [
                "CLibPQ",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Metric families and the Prometheus text encoder.
        .target(name: "Exposition", swiftSettings: swiftSettings),

        // One file per collector: SQL per server version, column → metric mapping.
        .target(
            name: "Collectors",
            dependencies: ["PostgresClient", "Exposition", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),

        // The git commit and Swift version, stamped in by scripts/package.sh (clang -D defines).
        .target(name: "CBuildStamp"),

        // One malloc arena for the process (set before main) and free heap pages given back.
        .target(name: "CHeap"),

        // Targets, configuration, scrape engine, deadlines, single flight, self metrics.
        .target(
            name: "Exporter",
            dependencies: [
                "Collectors", "PostgresClient", "Exposition", "CBuildStamp", "CHeap",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),

        // The HTTP surface: routes, basic auth, TLS, connection limits.
        .target(
            name: "ExporterHTTP",
            dependencies: [
                "Exporter", "Exposition", "Collectors",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings
        ),

        // The executable: command line, logging, lifecycle.
        .executableTarget(
            name: "pgstack_exporter",
            dependencies: [
                "Exporter", "ExporterHTTP", "Exposition", "Collectors",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Benchmarks (scripts/bench.sh): a process-wide malloc counter and the encoder benchmark.
        .target(name: "CMallocCounter", path: "Benchmarks/CMallocCounter"),
        .executableTarget(
            name: "EncoderBenchmark",
            dependencies: ["Exposition", "CMallocCounter"],
            path: "Benchmarks/EncoderBenchmark",
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "ExpositionTests",
            dependencies: ["Exposition"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PostgresClientTests",
            dependencies: ["PostgresClient", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ExporterTests",
            dependencies: [
                "Exporter", "Collectors", "Exposition", "PostgresClient", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP routes in-process (HummingbirdTesting), no server behind the targets.
        .testTarget(
            name: "HTTPTests",
            dependencies: [
                "ExporterHTTP", "Exporter", "Collectors", "PostgresClient", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The collectors without a server: recorded results through each collector's mapping.
        .testTarget(
            name: "CollectorsTests",
            dependencies: ["Collectors", "Exposition", "PostgresClient", "TestSupport"],
            // Recorded server answers and their expected exposition, read from the source tree.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["TestSupport", "PostgresClient"],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the integration tests: the test bed's settings, running commands.
        .target(
            name: "TestSupport",
            dependencies: [
                "PostgresClient",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
    ]
)

// MARK: - Fuzzing (scripts/fuzz.sh) ------------------------------------------------------------
// libFuzzer targets, one per parser or encoder that reads untrusted input. Built with
// `-Xswiftc -sanitize=fuzzer` each is a fuzzer; a plain build replays the files it is given.
// This block only adds products and targets; nothing above depends on them.
let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
    ("FuzzDuration", ["Exporter"]),
    ("FuzzConnectionString", ["PostgresClient"]),
    ("FuzzConfiguration", ["Exporter", "Collectors", "PostgresClient"]),
    ("FuzzTextEncoder", ["Exposition"]),
]
package.products += fuzzTargets.map { .executable(name: $0.name, targets: [$0.name]) }
package.targets += [
    // Starts libFuzzer's driver when it is linked in (a weak reference), for FuzzSupport.
    .target(name: "CFuzzDriver", path: "Fuzz/CFuzzDriver"),
    .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"], path: "Fuzz/FuzzSupport", swiftSettings: swiftSettings),
] + fuzzTargets.map { target in
    .executableTarget(
        name: target.name,
        dependencies: ["FuzzSupport"] + target.dependencies,
        path: "Fuzz/\(target.name)",
        // main.swift holds @main and the @_cdecl entry point, so it is not top-level code.
        swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]
    )
}
// MARK: - End of fuzzing block -----------------------------------------------------------------
