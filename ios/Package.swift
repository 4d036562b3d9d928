// swift-tools-version:5.9
// The Swift package of the Takedown core: the UniFFI-generated bindings (copied in by
// scripts/swift-tests.sh, not committed) over libtakedown_core, plus XCTests.
import PackageDescription
import Foundation

let libDir = ProcessInfo.processInfo.environment["TAKEDOWN_LIB_DIR"]
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../target/debug").standardized.path

let package = Package(
    name: "TakedownCore",
    products: [.library(name: "TakedownCore", targets: ["TakedownCore"])],
    targets: [
        .systemLibrary(name: "TakedownCoreFFI", path: "Sources/TakedownCoreFFI"),
        .target(
            name: "TakedownCore",
            dependencies: ["TakedownCoreFFI"],
            path: "Sources/TakedownCore",
            linkerSettings: [.unsafeFlags(["-L", libDir, "-Xlinker", "-rpath", "-Xlinker", libDir])]
        ),
        .testTarget(name: "TakedownCoreTests", dependencies: ["TakedownCore"], path: "Tests/TakedownCoreTests"),
    ]
)
