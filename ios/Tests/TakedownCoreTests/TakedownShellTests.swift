import Foundation
import XCTest
@testable import TakedownCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
        // The whole record: what changed from the queued case, and nothing else.
        var openCase = a
        openCase.state = .open
        openCase.caseNumber = try XCTUnwrap(detail.case.caseNumber)
        openCase.pendingOperations = 0
        openCase.nextAttemptAtMs = nil
        XCTAssertEqual(detail.case, openCase)
        XCTAssertEqual(detail.items.count, 1)
        XCTAssertNotNil(detail.items[0].serviceItemId)
        XCTAssertEqual(detail.items[0], HistoryItem(
            id: detail.items[0].id, caseId: a.id, kind: .image, md5: f.md5, sha256: f.sha256, pdq: f.pdq,
            quality: f.quality, frameCount: 0, lowQuality: f.lowQuality, label: "mine", state: .active,
            serviceItemId: detail.items[0].serviceItemId, addedAt: detail.items[0].addedAt))
        let status = try XCTUnwrap(detail.status)
        XCTAssertEqual(status.caseNumber, openCase.caseNumber)
        XCTAssertEqual(status.state, .active)
        XCTAssertTrue(status.active)
        XCTAssertEqual(status.totals.activeItems, 1)
        XCTAssertEqual(status.totals.withdrawnItems, 0)
        XCTAssertEqual(status.items.map(\.serviceItemId), [try XCTUnwrap(detail.items[0].serviceItemId)])
        XCTAssertEqual(status.items.map(\.itemId), [detail.items[0].id])

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

/// A real forwarding proxy on loopback (POSIX sockets, one thread per
/// connection) in front of the service, recording every request.
final class RecordingProxy: @unchecked Sendable {
    let url: String
    private let fd: Int32
    private let upstream: String
    private let lock = NSLock()
    private var recorded: [(method: String, path: String, body: String)] = []
    var requests: [(method: String, path: String, body: String)] { lock.lock(); defer { lock.unlock() }; return recorded }

    init(upstream: String) {
        self.upstream = upstream
        let (url, fd) = hangingServer()
        self.url = url
        self.fd = fd
        Thread.detachNewThread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                Thread.detachNewThread { [self] in self.handle(c) }
            }
        }
    }

    private func readAll(_ c: Int32) -> (head: String, body: Data)? {
        var data = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(c, &buf, buf.count, 0)
            if n <= 0 { return nil }
            data.append(contentsOf: buf[0..<n])
            if let r = data.range(of: Data("\r\n\r\n".utf8)) {
                let head = String(decoding: data[..<r.lowerBound], as: UTF8.self)
                let len = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                while data.count - r.upperBound < len {
                    let n = recv(c, &buf, buf.count, 0)
                    if n <= 0 { return nil }
                    data.append(contentsOf: buf[0..<n])
                }
                return (head, Data(data[r.upperBound..<(r.upperBound + len)]))
            }
        }
    }

    private func handle(_ c: Int32) {
        defer { close(c) }
        guard let (head, body) = readAll(c) else { return }
        let lines = head.split(separator: "\r\n").map(String.init)
        let parts = lines[0].split(separator: " ").map(String.init)
        lock.lock(); recorded.append((parts[0], parts[1], String(decoding: body, as: UTF8.self))); lock.unlock()
        var req = URLRequest(url: URL(string: upstream + parts[1])!)
        req.httpMethod = parts[0]
        if !body.isEmpty { req.httpBody = body }
        for l in lines.dropFirst() {
            let kv = l.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, ["authorization", "content-type"].contains(kv[0].lowercased()) {
                req.setValue(kv[1], forHTTPHeaderField: kv[0])
            }
        }
        final class Answer: @unchecked Sendable { var status = 502; var body = Data() }
        let done = DispatchSemaphore(value: 0)
        let got = Answer()
        URLSession.shared.dataTask(with: req) { d, r, _ in
            got.status = (r as? HTTPURLResponse)?.statusCode ?? 502
            got.body = d ?? Data()
            done.signal()
        }.resume()
        done.wait()
        let status = got.status
        let answer = got.body
        let out = Data("HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(answer.count)\r\nConnection: close\r\n\r\n".utf8) + answer
        _ = out.withUnsafeBytes { send(c, $0.baseAddress, out.count, 0) }
    }
}

/// What a request body may hold: the protocol's fields, hex of exact sizes, small numbers.
func allowListViolations(_ path: String, _ body: String) -> [String] {
    if body.isEmpty { return [] }
    guard let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) else { return ["\(path): not JSON"] }
    let allowed: Set<String> = ["idempotency_key", "attestations", "person_shown_was_under_18", "submitter",
                                "items", "image", "video", "md5", "sha256", "pdq", "quality", "frames", "t",
                                "recovery_verifier", "recovery_key", "edge_cuts", "top_20", "bottom_20"]
    var bad: [String] = []
    func isHex(_ s: String, _ n: Int) -> Bool { s.count == n && s.allSatisfy { $0.isHexDigit && !$0.isUppercase } }
    func walk(_ v: Any, _ key: String) {
        if key == "edge_cuts" {
            // {"top_20": {pdq, quality}, "bottom_20": {pdq, quality}}, one or both.
            guard let o = v as? [String: Any], (1...2).contains(o.count) else {
                bad.append("\(path): edge_cuts not an object of one or two cuts")
                return
            }
            for (k, c) in o {
                let keys = Set((c as? [String: Any])?.keys.map { $0 } ?? [])
                if keys != ["pdq", "quality"] { bad.append("\(path): edge cut \(k) keys \(keys)") }
            }
        }
        if let o = v as? [String: Any] {
            for (k, x) in o {
                if !allowed.contains(k) { bad.append("\(path): field \(k)") }
                walk(x, k)
            }
        } else if let a = v as? [Any] {
            a.forEach { walk($0, key) }
        } else if key == "quality", !(v is String) {
            let n = (v as? NSNumber)?.intValue ?? -1
            if !((0...100).contains(n) && "\(v)" == "\(n)") { bad.append("\(path): value of \(key)") }
        } else if let s = v as? String {
            let ok: Bool
            switch key {
            case "md5": ok = isHex(s, 32)
            case "sha256", "pdq", "recovery_verifier": ok = isHex(s, 64)
            case "recovery_key":
                let groups = s.split(separator: "-", omittingEmptySubsequences: false)
                ok = path.hasSuffix("/restore") && groups.count == 7
                    && groups.allSatisfy { $0.count == 5 && $0.allSatisfy { "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains($0) } }
            case "submitter": ok = s == "person_shown" || s == "parent_or_guardian"
            case "idempotency_key": ok = (16...128).contains(s.count) && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
            default: ok = false
            }
            if !ok { bad.append("\(path): value of \(key)") }
        }
    }
    walk(json, "")
    if path.hasSuffix("/withdraw") && body != "{}" { bad.append("\(path): withdraw body") }
    return bad
}

extension TakedownShellTests {
    func testEveryRequestBodyPassesTheAllowList() async throws {
        let proxy = RecordingProxy(upstream: service)
        let app = try Takedown.open(dataDir: try tempDir(), serviceUrl: proxy.url, keyProvider: MemoryKeys())
        let h1 = try await app.hashItem(item: .imageBytes(bytes: try photo("scene.jpg")))
        let h2 = try await app.hashItem(item: .imageBytes(bytes: try photo("scene.gif")))
        let f = try XCTUnwrap(h1.fingerprint)
        let out = try await app.submitCase(requestId: "req-traffic", answers: eligible,
                                           items: [SubmitItem(fingerprint: f, label: "IMG_0001.JPG at home")])
        XCTAssertTrue(out.sent)
        let added = try await app.addItems(caseId: out.caseId, items: [SubmitItem(fingerprint: try XCTUnwrap(h2.fingerprint), label: nil)])
        _ = try await app.withdrawItem(itemId: added.itemIds[0])
        _ = try await app.refreshAll()
        _ = try await app.withdrawCase(caseId: out.caseId)
        let requests = proxy.requests
        XCTAssertGreaterThanOrEqual(requests.count, 5)
        for r in requests {
            XCTAssertEqual(allowListViolations(r.path, r.body), [], "\(r.method) \(r.path)")
        }
        let create = try XCTUnwrap(requests.first { $0.path == "/v1/cases" }).body
        XCTAssertFalse(allowListViolations("/v1/cases", create.replacingOccurrences(of: "\"quality\"", with: "\"label\":\"beach\",\"quality\"")).isEmpty)
        XCTAssertFalse(allowListViolations("/v1/cases", create.replacingOccurrences(of: f.md5, with: "IMG_0001.JPG")).isEmpty)
        // The picture's two edge cuts are sent (so checked above), and the check fails on
        // anything else in a cut.
        XCTAssertEqual(f.edgeCuts.map { $0.edge }, [.top, .bottom])
        for c in f.edgeCuts {
            XCTAssertTrue(create.contains("\"pdq\":\"\(c.pdq)\",\"quality\":\(c.quality)}"))
        }
        let q0 = f.edgeCuts[0].quality
        XCTAssertTrue(create.contains("\"top_20\":{") && create.contains("\"bottom_20\":{"))
        for edited in [
            create.replacingOccurrences(of: "\"top_20\":{", with: "\"top_20\":{\"name\":\"IMG_0001.JPG\","),
            create.replacingOccurrences(of: "\"top_20\":{", with: "\"top_20\":{\"w\":4032,"),
            create.replacingOccurrences(of: "\"bottom_20\"", with: "\"left_20\""),
            create.replacingOccurrences(of: "\"top_20\"", with: "\"top_15\""),
            create.replacingOccurrences(of: "\"quality\":\(q0)}", with: "\"quality\":101}"),
            create.replacingOccurrences(of: "\"edge_cuts\":{", with: "\"edge_cuts\":{\"top_10\":{\"pdq\":\"\(f.pdq ?? "")\",\"quality\":90},"),
            create.replacingOccurrences(of: "\"edge_cuts\":{", with: "\"edge_cuts\":\"top\",\"x\":{"),
        ] {
            XCTAssertNotEqual(edited, create)
            XCTAssertFalse(allowListViolations("/v1/cases", edited).isEmpty, edited)
        }
    }
}

extension TakedownShellTests {
    /// Swaps one symbol of a written recovery key (a mistyped group).
    func mistype(_ key: String, at: Int) -> String {
        var c = Array(key)
        c[at] = c[at] == "7" ? "8" : "7"
        return String(c)
    }

    func testACaseComesBackOnAWipedPhoneWithItsRecoveryKey() async throws {
        let proxy = RecordingProxy(upstream: service)
        var app: Takedown! = try Takedown.open(dataDir: try tempDir(), serviceUrl: proxy.url, keyProvider: MemoryKeys())
        let h = try await app.hashItem(item: .imageBytes(bytes: try photo("scene.jpg")))
        let out = try await app.submitCase(requestId: "req-restore", answers: eligible,
                                           items: [SubmitItem(fingerprint: try XCTUnwrap(h.fingerprint), label: nil)])
        XCTAssertTrue(out.sent)
        let made = try XCTUnwrap(try app.listCases().first)
        let number = try XCTUnwrap(made.caseNumber)
        let key = try XCTUnwrap(made.recoveryKey)
        XCTAssertEqual(try normalizeRecoveryKey(input: key.lowercased()), key)
        XCTAssertThrowsError(try normalizeRecoveryKey(input: mistype(key, at: 38))) { error in
            XCTAssertEqual(error as? TakedownError, .RecoveryKeyInvalid(group: 7))
        }
        try app.deleteEverything()
        app = nil

        app = try Takedown.open(dataDir: try tempDir(), serviceUrl: proxy.url, keyProvider: MemoryKeys())
        let sentBefore = proxy.requests.count
        do {
            _ = try await app.restoreCase(caseNumber: number, recoveryKey: mistype(key, at: 14))
            XCTFail("expected RecoveryKeyInvalid")
        } catch let e as TakedownError {
            XCTAssertEqual(e, .RecoveryKeyInvalid(group: 3))
        }
        XCTAssertEqual(proxy.requests.count, sentBefore, "a mistyped key sends nothing")
        let restored = try await app.restoreCase(caseNumber: number, recoveryKey: key)
        XCTAssertEqual(restored.caseNumber, number)
        XCTAssertEqual(restored.state, .open)
        XCTAssertEqual(restored.itemCount, 1)
        XCTAssertEqual(restored.recoveryKey, key)
        let detail = try app.caseDetail(caseId: restored.id)
        XCTAssertNil(detail.items[0].md5, "fingerprints stay on the phone that made them")
        _ = try await app.withdrawCase(caseId: restored.id)
        _ = try await app.refreshStatus(caseId: restored.id)
        XCTAssertEqual(try app.listCases().first?.state, .withdrawn)
        for r in proxy.requests {
            XCTAssertEqual(allowListViolations(r.path, r.body), [], "\(r.method) \(r.path)")
            if !r.path.hasSuffix("/restore") { XCTAssertFalse(r.body.contains(key)) }
        }
    }
}
