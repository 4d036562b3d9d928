import Foundation
import XCTest
@testable import TakedownCore

/// The generated Swift bindings against the real Rust library: every fingerprint
/// export once, including the error paths.
final class FingerprintTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: ProcessInfo.processInfo.environment["TAKEDOWN_FIXTURES"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../tests/fixtures").standardized.path)

    func referenceHash(_ file: String) throws -> String {
        let tsv = try String(contentsOf: fixtures.appendingPathComponent("reference-pdq.tsv"), encoding: .utf8)
        let row = tsv.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
            .first { $0.first.map(String.init) == file }
        return String(try XCTUnwrap(row)[5])
    }

    func testPhotoBytesMatchTheReference() throws {
        let bytes = try Data(contentsOf: fixtures.appendingPathComponent("images/scene-320x240.png"))
        let f = try fingerprintImageBytes(bytes: bytes)
        XCTAssertEqual(f.pdq.hash, try referenceHash("scene-320x240.png"))
        XCTAssertEqual(f.width, 320)
        XCTAssertEqual(f.height, 240)
        XCTAssertEqual(f.sha256.count, 64)
        XCTAssertEqual(f.pdq.dihedrals.count, 8)
    }

    func testExifOrientationIsApplied() throws {
        let upright = try fingerprintImageFile(path: fixtures.appendingPathComponent("images/scene.jpg").path)
        let sideways = try fingerprintImageFile(path: fixtures.appendingPathComponent("images/scene-exif6.jpg").path)
        XCTAssertEqual(sideways.width, 320)
        XCTAssertLessThanOrEqual(try pdqDistance(a: upright.pdq.hash, b: sideways.pdq.hash), 31)
    }

    func testBrokenMediaIsAClearError() {
        XCTAssertThrowsError(try fingerprintImageBytes(bytes: Data("not a picture".utf8))) { error in
            guard case TakedownError.InvalidMedia(let reason) = error else {
                return XCTFail("expected InvalidMedia, got \(error)")
            }
            XCTAssertTrue(reason.contains("not a supported image format"))
        }
        XCTAssertThrowsError(try pdqDistance(a: "zz", b: "00"))
    }

    func testRawPixelsAndVideoFrames() throws {
        let w = 64, h = 48
        var px = Data(count: w * h * 4)
        for i in 0..<(w * h) { px[i * 4] = UInt8(i % 256); px[i * 4 + 1] = UInt8((i / w) * 5 % 256); px[i * 4 + 3] = 255 }
        let p = try pdqFromRgba(pixels: px, width: UInt32(w), height: UInt32(h), stride: UInt32(w * 4))
        XCTAssertEqual(p.hash.count, 64)

        let hasher = try VideoHasher(options: VideoHasherOptions(
            secondsPerHash: 1.0, expectedDurationMs: 2000, maxDurationMs: 7_200_000, maxFrames: 7200))
        for frame in 0..<60 {
            var f = Data(count: w * h * 4)
            for i in 0..<(w * h) { f[i * 4] = UInt8((i + frame * 7) % 251); f[i * 4 + 3] = 255 }
            _ = try hasher.pushRgbaFrame(pixels: f, width: UInt32(w), height: UInt32(h), stride: UInt32(w * 4), timestampUs: UInt64(frame) * 33_333)
        }
        let v = try hasher.finish()
        XCTAssertTrue((1...3).contains(v.frames.count))
    }
}
