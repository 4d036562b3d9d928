// swift-tools-version:5.9
// The Swift package of the Takedown core: the UniFFI-generated bindings (copied in by
// scripts/swift-tests.sh, not committed) over libtakedown_core, the view models of the
// app's screens (TakedownViewModels, no UIKit / SwiftUI), and XCTests.
import PackageDescription
import Foundation

let libDir = ProcessInfo.processInfo.environment["TAKEDOWN_LIB_DIR"]
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../target/debug").standardized.path

let package = Package(
    name: "TakedownCore",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "TakedownCore", targets: ["TakedownCore"]),
        .library(name: "TakedownViewModels", targets: ["TakedownViewModels"]),
    ],
    targets: [
        .systemLibrary(name: "TakedownCoreFFI", path: "Sources/TakedownCoreFFI"),
        .target(
            name: "TakedownCore",
            dependencies: ["TakedownCoreFFI"],
            path: "Sources/TakedownCore",
            linkerSettings: [.unsafeFlags(["-L", libDir, "-Xlinker", "-rpath", "-Xlinker", libDir])]
        ),
        // Screen state and transitions, no UIKit / SwiftUI: compiled and tested on Linux too.
        .target(name: "TakedownViewModels", dependencies: ["TakedownCore"], path: "Sources/TakedownViewModels"),
        .testTarget(name: "TakedownCoreTests", dependencies: ["TakedownCore"], path: "Tests/TakedownCoreTests"),
        .testTarget(
            name: "TakedownViewModelsTests", dependencies: ["TakedownViewModels", "TakedownCore"],
            path: "Tests/TakedownViewModelsTests"
        ),
    ]
)
