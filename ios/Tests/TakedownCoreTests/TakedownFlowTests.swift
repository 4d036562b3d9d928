import Foundation
import XCTest
@testable import TakedownCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The host's key store, implemented in Swift (an app would use the Keychain).
final class MemoryKeys: KeyProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var key: Data?
    init(_ key: Data? = nil) { self.key = key }
    var current: Data? { lock.lock(); defer { lock.unlock() }; return key }
    func loadKey() throws -> Data? { current }
    func storeKey(key: Data) throws { lock.lock(); self.key = key; lock.unlock() }
    func deleteKey() throws { lock.lock(); key = nil; lock.unlock() }
}

final class RecordingProgress: HashProgress, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var calls: [(UInt32, UInt32)] = []
    func onProgress(done: UInt32, total: UInt32) { lock.lock(); calls.append((done, total)); lock.unlock() }
}

/// The phone flow through the generated Swift API against the real service on loopback
/// (started by scripts/swift-tests.sh).
final class TakedownFlowTests: XCTestCase {
    let env = ProcessInfo.processInfo.environment
    var service: String { env["TAKEDOWN_TEST_SERVICE_URL"] ?? "" }
    var fixtures: URL { URL(fileURLWithPath: env["TAKEDOWN_FIXTURES"] ?? "tests/fixtures") }
    let eligible = EligibilityAnswers(ageWhenMade: .under18, submitter: .personShown)

    func tempDir() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("takedown-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    func photo(_ name: String) throws -> Data {
        try Data(contentsOf: fixtures.appendingPathComponent("images/\(name)"))
    }

    override func setUpWithError() throws {
        try XCTSkipIf(service.isEmpty && env["CI"] == nil, "TAKEDOWN_TEST_SERVICE_URL not set: run scripts/swift-tests.sh")
        XCTAssertFalse(service.isEmpty, "TAKEDOWN_TEST_SERVICE_URL must be set in CI")
    }

    func testFullFlowSurvivesARestart() async throws {
        let dir = try tempDir()
        let keys = MemoryKeys()
        var app: Takedown! = try Takedown.open(dataDir: dir, serviceUrl: service, keyProvider: keys)
        let progress = RecordingProgress()
        let hashed = try await app.hashSelection(
            items: [.imageBytes(bytes: try photo("scene.jpg")), .imageBytes(bytes: Data("junk".utf8))],
            progress: progress, cancel: nil)
        XCTAssertEqual(hashed.count, 2)
        let f = try XCTUnwrap(hashed[0].fingerprint)
        XCTAssertNil(hashed[1].fingerprint)
        XCTAssertNotNil(hashed[1].error)
        XCTAssertFalse(progress.calls.isEmpty)

        let outcome = try await app.submitCase(requestId: "req-flow", answers: eligible, items: [SubmitItem(fingerprint: f, label: "mine")])
        XCTAssertTrue(outcome.sent)
        let number = try XCTUnwrap(outcome.caseNumber)

        app = nil  // one object per history: the old one closes first
        app = try Takedown.open(dataDir: dir, serviceUrl: service, keyProvider: keys)
        XCTAssertEqual(try app.listCases().map(\.caseNumber), [number])
        XCTAssertEqual(try app.listItems(caseId: outcome.caseId).map(\.label), ["mine"])
        let changes = try await app.refreshStatus(caseId: outcome.caseId)
        XCTAssertEqual(changes.caseNumber, number)

        let more = try await app.hashSelection(items: [.imageBytes(bytes: try photo("scene-127x97.png"))], progress: nil, cancel: nil)
        let added = try await app.addItems(caseId: outcome.caseId, items: [SubmitItem(fingerprint: try XCTUnwrap(more[0].fingerprint), label: nil)])
        XCTAssertTrue(added.sent)
        _ = try await app.withdrawItem(itemId: added.itemIds[0])
        let state = try app.listItems(caseId: outcome.caseId).first { $0.id == added.itemIds[0] }?.state
        XCTAssertEqual(state, .withdrawn)
        XCTAssertEqual(try app.pendingOperations(), 0)
    }

    func testNotEligibleAndCancelAndWrongKey() async throws {
        let dir = try tempDir()
        let keys = MemoryKeys()
        var app: Takedown! = try Takedown.open(dataDir: dir, serviceUrl: service, keyProvider: keys)
        let first = try await app.hashSelection(items: [.imageBytes(bytes: try photo("scene.jpg"))], progress: nil, cancel: nil)
        let f = try XCTUnwrap(first[0].fingerprint)
        do {
            _ = try await app.submitCase(requestId: "req-ne", answers: EligibilityAnswers(ageWhenMade: .adult, submitter: .personShown),
                                         items: [SubmitItem(fingerprint: f, label: nil)])
            XCTFail("expected NotEligible")
        } catch TakedownError.NotEligible(let reasons) {
            XCTAssertEqual(reasons, [.adultWhenMade])
        }
        XCTAssertTrue(try app.listCases().isEmpty)

        let cancel = CancelToken()
        cancel.cancel()
        do {
            _ = try await app.hashSelection(items: Array(repeating: .imageBytes(bytes: try photo("scene.jpg")), count: 10), progress: nil, cancel: cancel)
            XCTFail("expected Cancelled")
        } catch TakedownError.Cancelled {}

        app = nil
        var other = Data(count: try XCTUnwrap(keys.current).count)
        for i in other.indices { other[i] = UInt8.random(in: 0...255) }
        XCTAssertThrowsError(try Takedown.open(dataDir: dir, serviceUrl: service, keyProvider: MemoryKeys(other))) { error in
            XCTAssertEqual(error as? TakedownError, .WrongKey)
        }
    }
}
