import Foundation
import XCTest
@testable import TakedownCore

/// A video whose frames the test decodes and pushes (what an iOS app does with
/// AVAssetReader) through to submit, labels, and withdrawing a whole case — through the
/// generated Swift API against the real service on loopback (scripts/swift-tests.sh).
/// Records are compared whole: every field that changed, and nothing else.
final class TakedownMediaTests: XCTestCase {
    let env = ProcessInfo.processInfo.environment
    var service: String { env["TAKEDOWN_TEST_SERVICE_URL"] ?? "" }
    var fixtures: URL { URL(fileURLWithPath: env["TAKEDOWN_FIXTURES"] ?? "tests/fixtures") }
    let eligible = EligibilityAnswers(ageWhenMade: .under18, submitter: .personShown)

    override func setUpWithError() throws {
        try XCTSkipIf(service.isEmpty && env["CI"] == nil, "TAKEDOWN_TEST_SERVICE_URL not set: run scripts/swift-tests.sh")
        XCTAssertFalse(service.isEmpty, "TAKEDOWN_TEST_SERVICE_URL must be set in CI")
    }

    func tempDir() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("takedown-swift-media-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// A 64 × 48 RGBA frame: a checkerboard with `cell`-pixel squares over a gradient.
    func frame(cell: Int) -> Data {
        let w = 64, h = 48
        var f = Data(count: w * h * 4)
        for y in 0..<h {
            for x in 0..<w {
                let i = (y * w + x) * 4
                let on = ((x / cell) + (y / cell)) % 2 == 0
                f[i] = on ? 220 : UInt8(x * 3)
                f[i + 1] = on ? 200 : UInt8(y * 4)
                f[i + 2] = on ? 180 : 30
                f[i + 3] = 255
            }
        }
        return f
    }

    func testAVideoPushedFrameByFrameGoesThroughToSubmitLabelsAndCaseWithdrawal() async throws {
        let app = try Takedown.open(dataDir: try tempDir(), serviceUrl: service, keyProvider: MemoryKeys())
        let shots = [frame(cell: 4), frame(cell: 8), frame(cell: 16)]
        // "Decoded" at 10 fps for 3 s; the hasher wants one frame per second.
        let hasher = try VideoHasher(options: VideoHasherOptions(
            secondsPerHash: 1.0, expectedDurationMs: 3000, maxDurationMs: 7_200_000, maxFrames: 7200))
        var hashed = 0
        for i in 0..<30 {
            let t = UInt64(i) * 100_000
            guard hasher.wants(timestampUs: t) else { continue }
            if try hasher.pushRgbaFrame(pixels: shots[i / 10], width: 64, height: 48, stride: 256, timestampUs: t) { hashed += 1 }
        }
        XCTAssertEqual(hashed, 3)
        // The "file", streamed in chunks.
        let file = shots.reduce(Data()) { $0 + $1.prefix(4096) }
        var at = 0
        while at < file.count {
            try hasher.pushFileBytes(chunk: file.subdata(in: at..<min(at + 1000, file.count)))
            at += 1000
        }
        let pushed = try hasher.finish()
        XCTAssertEqual(pushed.frames.map(\.t), [0.0, 1.0, 2.0])
        XCTAssertEqual(Set(pushed.frames.map(\.pdq)).count, 3)
        XCTAssertEqual(pushed.md5?.count, 32)
        XCTAssertEqual(pushed.sha256?.count, 64)

        let videoItem = try await app.hashItem(item: .video(fingerprints: pushed), cancel: nil)
        let video = try XCTUnwrap(videoItem.fingerprint)
        XCTAssertEqual(video.kind, .video)
        XCTAssertEqual(video.md5, pushed.md5)
        XCTAssertEqual(video.sha256, pushed.sha256)
        XCTAssertEqual(video.frames.map { "\($0.t) \($0.pdq) \($0.quality)" },
                       pushed.frames.map { "\($0.t) \($0.pdq) \($0.quality)" })
        XCTAssertEqual(video.lowQuality, pushed.usableFrames == 0)
        let pictureItem = try await app.hashItem(
            item: .imageBytes(bytes: try Data(contentsOf: fixtures.appendingPathComponent("images/scene.jpg"))), cancel: nil)
        let picture = try XCTUnwrap(pictureItem.fingerprint)

        let out = try await app.submitCase(requestId: "req-video", answers: eligible,
                                           items: [SubmitItem(fingerprint: video, label: "clip"), SubmitItem(fingerprint: picture, label: nil)])
        XCTAssertTrue(out.sent)
        XCTAssertNotNil(out.caseNumber)
        let items = try app.listItems(caseId: out.caseId)
        XCTAssertEqual(items.count, 2)
        XCTAssertNotNil(items[0].serviceItemId)
        XCTAssertEqual(items[0], HistoryItem(
            id: out.itemIds[0], caseId: out.caseId, kind: .video, md5: try XCTUnwrap(pushed.md5),
            sha256: try XCTUnwrap(pushed.sha256), pdq: nil, quality: nil, frameCount: 3,
            lowQuality: video.lowQuality, label: "clip", state: .active,
            serviceItemId: items[0].serviceItemId, addedAt: items[0].addedAt))
        XCTAssertEqual(items[1], HistoryItem(
            id: out.itemIds[1], caseId: out.caseId, kind: .image, md5: picture.md5, sha256: picture.sha256,
            pdq: picture.pdq, quality: picture.quality, frameCount: 0, lowQuality: picture.lowQuality,
            label: nil, state: .active, serviceItemId: items[1].serviceItemId, addedAt: items[1].addedAt))

        // Labels: set, change, clear — only the label changes.
        try app.setLabel(itemId: items[1].id, label: "beach")
        var expected = items
        expected[1].label = "beach"
        XCTAssertEqual(try app.listItems(caseId: out.caseId), expected)
        try app.setLabel(itemId: items[0].id, label: nil)
        try app.setLabel(itemId: items[1].id, label: "")
        expected[0].label = nil
        expected[1].label = nil
        XCTAssertEqual(try app.listItems(caseId: out.caseId), expected)
        try app.setLabel(itemId: items[0].id, label: "clip again")
        expected[0].label = "clip again"
        XCTAssertEqual(try app.listItems(caseId: out.caseId), expected)

        // withdrawCase, with the status before and after.
        _ = try await app.refreshStatus(caseId: out.caseId)
        let open = try XCTUnwrap(try app.caseStatus(caseId: out.caseId))
        XCTAssertEqual(open.state, .active)
        XCTAssertTrue(open.active)
        XCTAssertEqual(open.totals.activeItems, 2)
        XCTAssertEqual(open.totals.withdrawnItems, 0)
        let caseBefore = try XCTUnwrap(try app.listCases().first { $0.id == out.caseId })
        XCTAssertEqual(caseBefore.state, .open)

        let report = try await app.withdrawCase(caseId: out.caseId)
        XCTAssertEqual(report, FlushReport(sent: 1, pending: 0, rejected: 0, offline: false,
                                           retryAfterMs: nil, nextAttemptAtMs: nil, deadlineReached: false))
        var caseAfter = caseBefore
        caseAfter.state = .withdrawn
        XCTAssertEqual(try app.listCases().first { $0.id == out.caseId }, caseAfter)
        XCTAssertEqual(try app.listItems(caseId: out.caseId), expected.map { var i = $0; i.state = .withdrawn; return i })
        _ = try await app.refreshStatus(caseId: out.caseId)
        let gone = try XCTUnwrap(try app.caseStatus(caseId: out.caseId))
        var want = open
        want.active = false
        want.state = .withdrawn
        want.fetchedAt = gone.fetchedAt
        want.totals.activeItems = 0
        want.totals.withdrawnItems = 2
        want.items = open.items.map { var i = $0; i.active = false; i.state = .withdrawn; return i }
        XCTAssertEqual(gone, want)
    }
}
