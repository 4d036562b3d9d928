import Foundation
import XCTest
@testable import TakedownCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback port that accepts connections (the kernel completes them) and never
/// answers: a service that hangs.
func hangingServer() -> (url: String, fd: Int32) {
    #if os(Linux)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = listen(fd, 64)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return ("http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))", fd)
}

final class CountingListener: ChangeListener, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var changes: [Change] = []
    func onChange(change: Change) { lock.lock(); changes.append(change); lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return changes.count }
}

/// The calls the app shells need, through the generated Swift API and the hand-written
/// `Task` cancellation wrappers, against the real service on loopback.
final class TakedownShellTests: XCTestCase {
    let env = ProcessInfo.processInfo.environment
    var service: String { env["TAKEDOWN_TEST_SERVICE_URL"] ?? "" }
    var fixtures: URL { URL(fileURLWithPath: env["TAKEDOWN_FIXTURES"] ?? "tests/fixtures") }
    let eligible = EligibilityAnswers(ageWhenMade: .under18, submitter: .personShown)
    let quick = NetworkOptions(requestTimeoutMs: 30000, maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10)

    override func setUpWithError() throws {
        try XCTSkipIf(service.isEmpty && env["CI"] == nil, "TAKEDOWN_TEST_SERVICE_URL not set: run scripts/swift-tests.sh")
        XCTAssertFalse(service.isEmpty, "TAKEDOWN_TEST_SERVICE_URL must be set in CI")
    }

    func tempDir() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("takedown-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    func photo(_ name: String) throws -> Data {
        try Data(contentsOf: fixtures.appendingPathComponent("images/\(name)"))
    }

    func testCancellingTheTaskStopsTheRustFlush() async throws {
        let (hang, fd) = hangingServer()
        defer { close(fd) }
        let dir = try tempDir()
        let keys = MemoryKeys()
        var app: Takedown! = try await openTakedown(dataDir: dir, serviceUrl: hang, keyProvider: keys, options: quick)
        let hashed = try await app.hashItem(item: .imageBytes(bytes: try photo("scene.jpg")))
        let f = try XCTUnwrap(hashed.fingerprint)
        _ = try app.queueCase(requestId: "req-hang", answers: eligible, items: [SubmitItem(fingerprint: f, label: nil)])
        do {
            let core = app!
            let task = Task { try await core.flushCancellable() }
            try await Task.sleep(nanoseconds: 300_000_000)
            let start = Date()
            task.cancel()
            do {
                _ = try await task.value
                XCTFail("expected Cancelled")
            } catch TakedownError.Cancelled {}
            XCTAssertLessThan(Date().timeIntervalSince(start), 3)
        }
        XCTAssertEqual(try app.pendingOperations(), 1)

        // A deadline: a report, the rest stays queued.
        let report = try await app.flush(cancel: CancelToken.withTimeoutMs(timeoutMs: 300))
        XCTAssertTrue(report.deadlineReached)
        XCTAssertEqual(report.pending, 1)

        // A handle used by a finished call still works.
        let handle = CancelToken()
        _ = try await app.hashItemCancellable(item: .imageBytes(bytes: try photo("scene.jpg")), cancel: handle)
        XCTAssertFalse(handle.isCancelled())
        let again = try await app.hashItem(item: .imageBytes(bytes: try photo("scene.gif")), cancel: handle)
        XCTAssertNotNil(again.fingerprint)

        app = nil
        app = try Takedown.open(dataDir: dir, serviceUrl: service, keyProvider: keys)
        let sent = try await app.flushCancellable().sent
        XCTAssertEqual(sent, 1)
    }

    func testShellCallsEndToEnd() async throws {
        let dir = try tempDir()
        let keys = MemoryKeys()
        var app: Takedown! = try await openTakedown(dataDir: dir, serviceUrl: service, keyProvider: keys, options: quick)
        XCTAssertThrowsError(try Takedown.open(dataDir: dir, serviceUrl: service, keyProvider: keys)) { error in
            XCTAssertEqual(error as? TakedownError, .AlreadyOpen)
        }
        let listener = CountingListener()
        app.setListener(listener: listener)
        let first = try await app.hashItem(item: .imageBytes(bytes: try photo("scene.jpg")))
        let f = try XCTUnwrap(first.fingerprint)
        let a = try app.queueCase(requestId: "req-1", answers: eligible, items: [SubmitItem(fingerprint: f, label: "mine")])
        let b = try app.queueCase(requestId: "req-1", answers: eligible, items: [SubmitItem(fingerprint: f, label: "mine")])
        XCTAssertEqual(a.id, b.id)
        XCTAssertEqual(a.state, .pending)
        let before = listener.count
        do {
            let core = app!
            let report = try await Task.detached { try await core.flush() }.value
            XCTAssertEqual(report.sent, 1)
        }
        XCTAssertGreaterThan(listener.count, before)
        _ = try await app.refreshAllCancellable()
        let detail = try app.caseDetail(caseId: a.id)
        XCTAssertEqual(detail.case.state, .open)
        XCTAssertEqual(detail.items.map(\.label), ["mine"])
        XCTAssertEqual(detail.status?.totals.activeItems, 1)
        XCTAssertEqual(detail.status?.state, .active)

        let gif = try await app.hashItem(item: .imageBytes(bytes: try photo("scene.gif")))
        let q = try app.queueCase(requestId: "req-2", answers: eligible,
                                  items: [SubmitItem(fingerprint: try XCTUnwrap(gif.fingerprint), label: nil)])
        let removed = try await app.cancelQueuedCase(caseId: q.id)
        XCTAssertTrue(removed)
        XCTAssertEqual(try app.listCases().count, 1)

        // Offline with a withdrawal queued: "delete everything" refuses, then forced.
        app = nil
        app = try Takedown.open(dataDir: dir, serviceUrl: "http://127.0.0.1:9", keyProvider: keys)
        let item = try app.listItems(caseId: a.id)[0].id
        let w = try await app.withdrawItem(itemId: item)
        XCTAssertEqual(w.pending, 1)
        XCTAssertThrowsError(try app.deleteEverything()) { error in
            XCTAssertEqual(error as? TakedownError, .WithdrawalsPending(count: 1))
        }
        try app.deleteEverything(force: true)
        XCTAssertNil(keys.current)
    }
}
