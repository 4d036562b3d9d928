// Test support: real implementations of the app's platform protocols (pixels decoded
// from tests/fixtures, a key store in memory, an authenticator that answers as told),
// a forwarding proxy on a loopback port the test opens and closes (the service
// "reachable" or not), and the platform calls (sync, feedback) a real platform makes.
import Foundation
import XCTest
import TakedownCore
@testable import TakedownViewModels

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The key store, in memory (the app uses the Keychain).
final class TestKeys: KeyProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var key: Data?
    private(set) var stores = 0
    var current: Data? { lock.lock(); defer { lock.unlock() }; return key }
    func loadKey() throws -> Data? { current }
    func storeKey(key: Data) throws { lock.lock(); self.key = key; stores += 1; lock.unlock() }
    func deleteKey() throws { lock.lock(); key = nil; lock.unlock() }
}

/// The owner check, answering as the test says.
final class TestAuthenticator: LockAuthenticator, @unchecked Sendable {
    private let lock = NSLock()
    private var answer = false
    private(set) var asked = 0
    func answer(_ yes: Bool) { lock.lock(); answer = yes; lock.unlock() }
    func authenticate() async -> Bool { lock.withLock { asked += 1; return answer } }
}

/// A 24-bit bottom-up BMP decoded to RGBA (the fixtures' scene.bmp): the pixels a
/// phone's decoder hands over, with the file's bytes and header size.
func decodeBmp(_ data: Data) throws -> MediaInput {
    let b = [UInt8](data)
    func u32(_ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24 }
    func u16(_ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
    guard b.count > 54, b[0] == 0x42, b[1] == 0x4D, u16(28) == 24 else { throw CocoaError(.fileReadCorruptFile) }
    let offset = u32(10), w = u32(18), h = u32(22)
    let row = (w * 3 + 3) & ~3
    var rgba = [UInt8](repeating: 255, count: w * h * 4)
    for y in 0..<h {
        let src = offset + (h - 1 - y) * row
        for x in 0..<w {
            let s = src + x * 3, d = (y * w + x) * 4
            rgba[d] = b[s + 2]; rgba[d + 1] = b[s + 1]; rgba[d + 2] = b[s]
        }
    }
    return .imagePixels(rgba: Data(rgba), width: UInt32(w), height: UInt32(h), stride: UInt32(w * 4),
                        fileBytes: data, originalWidth: UInt32(w), originalHeight: UInt32(h))
}

/// Picked items backed by fixture files: BMP decoded to pixels here, other formats
/// handed over as bytes (the core decodes them), "junk" as bytes no decoder reads.
/// Records every load with how many items were done at that moment, and can hold one
/// item until the hashing task is cancelled.
final class FixtureSource: MediaSource, @unchecked Sendable {
    private let lock = NSLock()
    private let dir: URL
    private var files: [String: String] = [:]
    private var n = 0
    private(set) var loads: [(id: String, doneBefore: Int)] = []
    private(set) var discarded: [String] = []
    /// Items whose load waits until the task is cancelled.
    var holdIds: Set<String> = []
    /// Reads the flow's progress at each load (set by the test).
    var probe: (@MainActor () -> Int)?

    init(fixtures: URL) { dir = fixtures.appendingPathComponent("images") }

    /// Picked items for these fixture names ("junk" for an unreadable one).
    func pick(_ names: [String]) -> [PickedItem] {
        lock.lock(); defer { lock.unlock() }
        return names.map { name in
            n += 1
            let id = "item-\(n)"
            files[id] = name
            return PickedItem(id: id, kind: name.contains("video") ? .video : .image, thumbnail: Data([0x89, UInt8(n)]))
        }
    }

    func input(for item: PickedItem) async throws -> MediaInput {
        let done = await probe?() ?? -1
        let (name, hold) = lock.withLock { () -> (String?, Bool) in
            loads.append((item.id, done))
            return (files[item.id], holdIds.contains(item.id))
        }
        if hold { try await Task.sleep(nanoseconds: 120_000_000_000) }
        guard let name else { throw CocoaError(.fileNoSuchFile) }
        if name == "junk" { return .imageBytes(bytes: Data("not a picture".utf8)) }
        if name == "video" { return try pushedVideo(seconds: 3, maxDurationMs: 7_200_000) }
        if name == "long-video" { return try pushedVideo(seconds: 3, maxDurationMs: 1000) }
        let data = try Data(contentsOf: dir.appendingPathComponent(name))
        return name.hasSuffix(".bmp") ? try decodeBmp(data) : .imageBytes(bytes: data)
    }

    func discard(_ item: PickedItem) { lock.lock(); discarded.append(item.id); lock.unlock() }

    func release(_ id: String) { lock.lock(); holdIds.remove(id); lock.unlock() }
}

/// A 64 × 48 checkerboard over a gradient, `cell` pixels per square.
func checkerboard(cell: Int) -> Data {
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

/// What the app's AVAssetImageGenerator glue does: one frame per second pushed to the
/// core's VideoHasher, then the file's bytes. Over `maxDurationMs` the core refuses it.
func pushedVideo(seconds: Int, maxDurationMs: UInt64) throws -> MediaInput {
    let hasher = try VideoHasher(options: VideoHasherOptions(
        secondsPerHash: 1.0, expectedDurationMs: UInt64(seconds) * 1000, maxDurationMs: maxDurationMs, maxFrames: 7200))
    var file = Data()
    for s in 0..<seconds {
        let frame = checkerboard(cell: 4 << s)
        file += frame.prefix(2048)
        let t = UInt64(s) * 1_000_000
        if hasher.wants(timestampUs: t) {
            _ = try hasher.pushRgbaFrame(pixels: frame, width: 64, height: 48, stride: 256, timestampUs: t)
        }
    }
    try hasher.pushFileBytes(chunk: file)
    return .video(fingerprints: try hasher.finish())
}

/// A forwarding proxy to the service on a fixed loopback port: `start` makes the
/// service reachable there, `stop` closes the port again (connection refused).
final class LoopbackProxy: @unchecked Sendable {
    let port: UInt16
    let upstream: String
    private var fd: Int32 = -1
    var url: String { "http://127.0.0.1:\(port)" }

    /// A proxy on a port that is free now (and closed until `start`).
    init(upstream: String) {
        self.upstream = upstream
        let s = LoopbackProxy.socket4()
        var addr = LoopbackProxy.loopback(0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
        close(s)
    }

    static func socket4() -> Int32 {
        #if os(Linux)
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let s = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        return s
    }

    static func loopback(_ port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }

    /// Listens on the port but never answers (the kernel completes the connections):
    /// a service that hangs.
    func hang() throws {
        let s = LoopbackProxy.socket4()
        var addr = LoopbackProxy.loopback(port)
        let len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        guard ok == 0, listen(s, 64) == 0 else { close(s); throw CocoaError(.featureUnsupported) }
        fd = s
    }

    func start() throws {
        let s = LoopbackProxy.socket4()
        var addr = LoopbackProxy.loopback(port)
        let len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        guard ok == 0, listen(s, 64) == 0 else { close(s); throw CocoaError(.featureUnsupported) }
        fd = s
        Thread.detachNewThread { [self] in
            while true {
                let c = accept(s, nil, nil)
                if c < 0 { return }
                Thread.detachNewThread { [self] in self.handle(c) }
            }
        }
    }

    func stop() {
        guard fd >= 0 else { return }
        #if os(Linux)
        shutdown(fd, Int32(SHUT_RDWR))
        #else
        shutdown(fd, SHUT_RDWR)
        #endif
        close(fd)
        fd = -1
    }

    private func handle(_ c: Int32) {
        defer { close(c) }
        var data = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        var head = "", body = Data()
        while true {
            let n = recv(c, &buf, buf.count, 0)
            if n <= 0 { return }
            data.append(contentsOf: buf[0..<n])
            guard let r = data.range(of: Data("\r\n\r\n".utf8)) else { continue }
            head = String(decoding: data[..<r.lowerBound], as: UTF8.self)
            let len = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            while data.count - r.upperBound < len {
                let n = recv(c, &buf, buf.count, 0)
                if n <= 0 { return }
                data.append(contentsOf: buf[0..<n])
            }
            body = Data(data[r.upperBound..<(r.upperBound + len)])
            break
        }
        let lines = head.split(separator: "\r\n").map(String.init)
        let parts = lines[0].split(separator: " ").map(String.init)
        guard parts.count >= 2, let target = URL(string: upstream + parts[1]) else { return }
        var req = URLRequest(url: target)
        req.httpMethod = parts[0]
        if !body.isEmpty { req.httpBody = body }
        for l in lines.dropFirst() {
            let kv = l.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, ["authorization", "content-type"].contains(kv[0].lowercased()) {
                req.setValue(kv[1], forHTTPHeaderField: kv[0])
            }
        }
        let (status, answer) = blockingRequest(req)
        let out = Data("HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(answer.count)\r\nConnection: close\r\n\r\n".utf8) + answer
        _ = out.withUnsafeBytes { send(c, $0.baseAddress, out.count, 0) }
    }
}

/// One HTTP request, waited for (the proxy's threads and the platform calls).
func blockingRequest(_ req: URLRequest) -> (Int, Data) {
    final class Answer: @unchecked Sendable { var status = 502; var body = Data() }
    let done = DispatchSemaphore(value: 0)
    let got = Answer()
    URLSession.shared.dataTask(with: req) { d, r, _ in
        got.status = (r as? HTTPURLResponse)?.statusCode ?? 502
        got.body = d ?? Data()
        done.signal()
    }.resume()
    done.wait()
    return (got.status, got.body)
}

/// What a platform does: sync the list, then report a match and a removal of the item
/// with this SHA-256.
func platformReportsMatchAndRemoval(service: String, platformKey: String, sha256: String) async throws {
    try await Task.detached {
        var sync = URLRequest(url: URL(string: service + "/v1/sync?cursor=0&limit=1000")!)
        sync.setValue("Bearer \(platformKey)", forHTTPHeaderField: "Authorization")
        let (status, page) = blockingRequest(sync)
        XCTAssertEqual(status, 200)
        let text = String(decoding: page, as: UTF8.self)
        let pattern = try NSRegularExpression(pattern: "\"item_id\":(\\d+)[^}]*\"sha256\":\"\(sha256)\"")
        let match = try XCTUnwrap(pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)))
        let itemId = String(text[Range(match.range(at: 1), in: text)!])
        let nonce = UUID().uuidString.lowercased()
        var feedback = URLRequest(url: URL(string: service + "/v1/feedback")!)
        feedback.httpMethod = "POST"
        feedback.setValue("Bearer \(platformKey)", forHTTPHeaderField: "Authorization")
        feedback.setValue("application/json", forHTTPHeaderField: "Content-Type")
        feedback.httpBody = Data("""
            {"events":[{"event_id":"sw-\(nonce)-m","item_id":\(itemId),"outcome":"matched"},\
            {"event_id":"sw-\(nonce)-r","item_id":\(itemId),"outcome":"removed"}]}
            """.utf8)
        let (fb, answer) = blockingRequest(feedback)
        XCTAssertEqual(fb, 200, String(decoding: answer, as: UTF8.self))
    }.value
}

/// Waits (polling the main actor) until `condition` holds, or fails after `seconds`.
@MainActor
func eventually(_ what: String, seconds: Double = 15, _ condition: @MainActor () -> Bool,
                file: StaticString = #filePath, line: UInt = #line) async throws {
    let end = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > end { XCTFail("timed out waiting for \(what)", file: file, line: line); return }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
}
