import Foundation
import XCTest

@testable import Trackgate

/// The shared sampling vectors (`tests/vectors/sampling.json`, also checked in Rust and Python)
/// through the library as Swift calls it, so a binding that mangled strings or integers on the
/// way would show here.
final class SamplingVectorTests: XCTestCase {
    private struct Vectors: Decodable {
        struct Case: Decodable {
            let salt: String
            let unit_id: String
            let rate_ppm: UInt32
            let rv: String
            let keep: Bool
        }

        let spec: String
        let cases: [Case]
    }

    func testTheSharedSamplingVectors() throws {
        let repository = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let file = repository.appendingPathComponent("tests/vectors/sampling.json")
        let vectors = try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: file))
        XCTAssertEqual(vectors.spec, "trackgate-sampling-v1")
        XCTAssertGreaterThan(vectors.cases.count, 1000)
        for vector in vectors.cases {
            let value = samplingRandomValue(salt: vector.salt, unitId: vector.unit_id)
            XCTAssertEqual(value, UInt64(vector.rv, radix: 16), "\(vector)")
            XCTAssertEqual(samplingIsKept(randomValue: value, ratePpm: vector.rate_ppm), vector.keep, "\(vector)")
        }
    }
}
