// swift-tools-version:6.2
// Legate: a delegate manager and its delegate client library. No package dependencies.
import PackageDescription

/// Every Swift target: language mode 6 (from the tools version) and warnings are errors.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "Legate",
    products: [
        .library(name: "LegateWire", targets: ["LegateWire"]),
        .library(name: "LegateAuth", targets: ["LegateAuth"]),
        .library(name: "LegateSecrets", targets: ["LegateSecrets"]),
        .library(name: "LegateDelegate", targets: ["LegateDelegate"]),
        .library(name: "LegateAdminClient", targets: ["LegateAdminClient"]),
        .library(name: "LegateManager", targets: ["LegateManager"]),
        .executable(name: "legate-manager", targets: ["legate-manager"]),
        .executable(name: "legate-delegate", targets: ["legate-delegate"]),
        .executable(name: "legatectl", targets: ["legatectl"]),
        .executable(name: "legate-load", targets: ["legate-load"]),
        .executable(name: "legate-bench", targets: ["legate-bench"]),
        .executable(name: "legate-task-driver", targets: ["legate-task-driver"]),
    ],
    targets: [
        // MARK: - C libraries
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        // One prefixed function per OpenSSL macro Swift cannot import.
        .target(name: "COpenSSLShims", dependencies: ["COpenSSL"], path: "Sources/COpenSSLShims"),
        // epoll and accept4 with named constants, for LegateNet only.
        .target(name: "CLegateNetShims", path: "Sources/CLegateNetShims"),
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        // libpq, the PostgreSQL client library, for LegateStore only.
        .systemLibrary(
            name: "CPostgreSQL", path: "Sources/CPostgreSQL", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),

        // MARK: - Pure layers (no I/O, no clock)
        .target(name: "LegateWire", swiftSettings: strict),
        .target(name: "LegateAuth", dependencies: ["COpenSSL", "COpenSSLShims"], swiftSettings: strict),
        .target(name: "LegateCore", dependencies: ["LegateWire", "LegateAuth"], swiftSettings: strict),
        // Secrets only delegates can open: X25519 keys, HPKE, envelopes, output masking; its one I/O is the key file.
        .target(
            name: "LegateSecrets", dependencies: ["COpenSSL", "COpenSSLShims", "LegateAuth"], swiftSettings: strict),
        // `--flag value` parsing and manager addresses for the executables.
        .target(name: "LegateCommandLine", swiftSettings: strict),
        // HTTP/1.1 request parser, response encoder and router for the manager's metrics and health endpoint.
        .target(name: "LegateHTTP", swiftSettings: strict),

        // MARK: - Store and I/O
        .target(
            name: "LegateStore", dependencies: ["LegateCore", "CSQLite", "CPostgreSQL"], swiftSettings: strict),
        .target(
            name: "LegateNet", dependencies: ["COpenSSL", "COpenSSLShims", "CLegateNetShims"], swiftSettings: strict),

        // MARK: - Libraries that wire the layers together
        .target(
            name: "LegateManager",
            dependencies: ["LegateWire", "LegateAuth", "LegateCore", "LegateStore", "LegateNet", "LegateHTTP"],
            swiftSettings: strict),
        .target(
            name: "LegateDelegate",
            dependencies: ["LegateWire", "LegateAuth", "LegateCore", "LegateNet", "LegateCommandLine", "LegateSecrets"],
            swiftSettings: strict),
        .target(
            name: "LegateAdminClient", dependencies: ["LegateWire", "LegateCore", "LegateNet"], swiftSettings: strict),

        // MARK: - Executables: flags in, configuration out, call a library
        .executableTarget(
            name: "legate-manager", dependencies: ["LegateManager", "LegateCore", "LegateNet", "LegateCommandLine"],
            swiftSettings: strict),
        .executableTarget(
            name: "legate-delegate",
            dependencies: [
                "LegateDelegate", "LegateAuth", "LegateCore", "LegateNet", "LegateCommandLine", "LegateSecrets",
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "legatectl",
            dependencies: [
                "LegateAdminClient", "LegateAuth", "LegateWire", "LegateCore", "LegateNet", "LegateCommandLine",
                "LegateSecrets",
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "legate-load",
            dependencies: [
                "LegateDelegate", "LegateAdminClient", "LegateCore", "LegateNet", "LegateWire", "LegateAuth",
                "LegateCommandLine",
            ],
            path: "tools/legate-load", swiftSettings: strict),
        .executableTarget(
            name: "legate-net-bench", dependencies: ["LegateNet"], path: "tools/legate-net-bench",
            exclude: ["README.md", "compare.sh"], swiftSettings: strict),
        // The task path in one process (no sockets), for callgrind instruction counts: tools/bench/callgrind-tasks.sh.
        .executableTarget(
            name: "legate-task-driver", dependencies: ["LegateManager", "LegateCommandLine"],
            path: "tools/bench/task-driver", swiftSettings: strict),
        // The JWT benchmark's C reference measurements, kept out of the product shims.
        .target(name: "CLegateBenchShims", dependencies: ["COpenSSL"], path: "tools/legate-bench-shims"),
        .executableTarget(
            name: "legate-bench", dependencies: ["LegateAuth", "COpenSSLShims", "CLegateBenchShims"],
            path: "tools/legate-bench", swiftSettings: strict),
        .executableTarget(
            name: "legate-secrets-bench", dependencies: ["LegateSecrets"], path: "tools/bench/legate-secrets-bench",
            swiftSettings: strict),
        // What one secret adds to a task (assignment size, opening, masking); see tools/bench/secret-task-bench.
        .executableTarget(
            name: "legate-secret-task-bench", dependencies: ["LegateDelegate", "LegateSecrets", "LegateWire"],
            path: "tools/bench/secret-task-bench", swiftSettings: strict),

        // MARK: - Tests
        .target(
            name: "LegateTestSupport", dependencies: ["LegateWire", "LegateCore", "LegateNet"],
            swiftSettings: strict),
        .testTarget(
            name: "LegateWireTests", dependencies: ["LegateWire", "LegateCore", "LegateTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "LegateAuthTests", dependencies: ["LegateAuth", "LegateCore", "LegateTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "LegateSecretsTests", dependencies: ["LegateSecrets", "COpenSSL"], exclude: ["Vectors"],
            swiftSettings: strict),
        .testTarget(name: "LegateCommandLineTests", dependencies: ["LegateCommandLine"], swiftSettings: strict),
        .testTarget(name: "LegateHTTPTests", dependencies: ["LegateHTTP"], swiftSettings: strict),
        .testTarget(
            name: "LegateCoreTests", dependencies: ["LegateCore", "LegateWire", "LegateAuth", "LegateTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "LegateStoreTests", dependencies: ["LegateStore", "LegateCore", "LegateTestSupport"],
            swiftSettings: strict),
        .testTarget(name: "LegateNetTests", dependencies: ["LegateNet", "LegateTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "LegateDelegateTests",
            dependencies: [
                "LegateDelegate", "LegateAuth", "LegateCore", "LegateNet", "LegateWire", "LegateTestSupport",
                "LegateSecrets",
            ],
            swiftSettings: strict),
        .testTarget(
            name: "LegateManagerTests",
            dependencies: [
                "LegateManager", "LegateDelegate", "LegateAdminClient", "LegateAuth", "LegateCore", "LegateNet",
                "LegateStore", "LegateWire", "LegateTestSupport", "LegateHTTP", "LegateSecrets",
            ],
            swiftSettings: strict),
    ]
)
