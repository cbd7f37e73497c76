// swift-tools-version:6.0
import Foundation
import PackageDescription

// On Linux the package links the library scripts/package.sh staged in lib/ (the shipped build,
// stripped) and records that directory as the run path, so a package that depends on this one
// by path builds and runs with no -Xlinker flag and no LD_LIBRARY_PATH. Tests and demos pass
// their own -L and LD_LIBRARY_PATH (the debug library), which the loader searches first.
// iOS links an XCFramework instead (docs/packaging.md, "iOS").
let stagedLibraryDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("lib").path

let package = Package(
    name: "Trackgate",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [.library(name: "Trackgate", targets: ["Trackgate"])],
    targets: [
        .systemLibrary(name: "trackgate_ffiFFI", path: "Sources/trackgate_ffiFFI"),
        // The library's scalar C functions, which the generated header does not declare.
        .systemLibrary(name: "TrackgateScalarFFI", path: "Sources/TrackgateScalarFFI"),
        .target(
            name: "Trackgate",
            dependencies: ["trackgate_ffiFFI", "TrackgateScalarFFI"],
            linkerSettings: [
                .linkedLibrary("trackgate_ffi", .when(platforms: [.linux, .macOS])),
                .unsafeFlags(
                    ["-L\(stagedLibraryDirectory)", "-Xlinker", "-rpath", "-Xlinker", stagedLibraryDirectory],
                    .when(platforms: [.linux])),
            ]
        ),
        // The per-call cost measurement (bench.sh); not a product.
        .executableTarget(name: "TrackgateBench", dependencies: ["Trackgate"]),
        .testTarget(name: "TrackgateTests", dependencies: ["Trackgate"]),
    ]
)
