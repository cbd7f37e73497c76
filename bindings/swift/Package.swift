// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Trackgate",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [.library(name: "Trackgate", targets: ["Trackgate"])],
    targets: [
        .systemLibrary(name: "trackgate_ffiFFI", path: "Sources/trackgate_ffiFFI"),
        .target(
            name: "Trackgate",
            dependencies: ["trackgate_ffiFFI"],
            linkerSettings: [.linkedLibrary("trackgate_ffi", .when(platforms: [.linux, .macOS]))]
        ),
        // The per-call cost measurement (bench.sh); not a product.
        .executableTarget(name: "TrackgateBench", dependencies: ["Trackgate"]),
        .testTarget(name: "TrackgateTests", dependencies: ["Trackgate"]),
    ]
)
