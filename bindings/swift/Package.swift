// swift-tools-version:6.0
import PackageDescription

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
            linkerSettings: [.linkedLibrary("trackgate_ffi", .when(platforms: [.linux, .macOS]))]
        ),
        // The per-call cost measurement (bench.sh); not a product.
        .executableTarget(name: "TrackgateBench", dependencies: ["Trackgate"]),
        .testTarget(name: "TrackgateTests", dependencies: ["Trackgate"]),
    ]
)
