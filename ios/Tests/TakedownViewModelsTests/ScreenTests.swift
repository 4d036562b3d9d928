// Every screen's transitions through the view models, against the real core and the
// real service on loopback (scripts/swift-tests.sh starts it). Nothing of the core or
// the service is replaced: the platform parts are real implementations over fixtures.
import Foundation
import XCTest
import TakedownCore
@testable import TakedownViewModels

/// The app's parts for one test.
@MainActor
struct Harness {
    let app: AppModel
    let source: FixtureSource
    let keys: TestKeys
    let auth: TestAuthenticator
    let prefs: MemoryPreferences
    let dir: String
}

class ScreenTestCase: XCTestCase {
    let env = ProcessInfo.processInfo.environment
    var service: String { env["TAKEDOWN_TEST_SERVICE_URL"] ?? "" }
    var platformKey: String { env["TAKEDOWN_TEST_PLATFORM_KEY"] ?? "" }
    var fixtures: URL { URL(fileURLWithPath: env["TAKEDOWN_FIXTURES"] ?? "tests/fixtures") }
    static let quick = NetworkOptions(requestTimeoutMs: 10000, maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10)

    override func setUpWithError() throws {
        try XCTSkipIf(service.isEmpty && env["CI"] == nil, "TAKEDOWN_TEST_SERVICE_URL not set: run scripts/swift-tests.sh")
        XCTAssertFalse(service.isEmpty, "TAKEDOWN_TEST_SERVICE_URL must be set in CI")
    }

    func tempDir() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("takedown-vm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    @MainActor
    func harness(url: String? = nil, lock: Bool = false) throws -> Harness {
        let dir = try tempDir()
        let keys = TestKeys()
        let serviceUrl = url ?? service
        let source = FixtureSource(fixtures: fixtures)
        let auth = TestAuthenticator()
        let prefs = MemoryPreferences(lockEnabled: lock)
        let app = AppModel(
            opener: { try await openTakedown(dataDir: dir, serviceUrl: serviceUrl, keyProvider: keys, options: Self.quick) },
            wiper: {
                try FileManager.default.removeItem(atPath: dir)
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try keys.deleteKey()
            },
            source: source, authenticator: auth, preferences: prefs)
        return Harness(app: app, source: source, keys: keys, auth: auth, prefs: prefs, dir: dir)
    }

    /// Start → eligibility (eligible) → pick → review → hashing → submit.
    @MainActor
    func reportToSubmit(_ h: Harness, _ names: [String]) async throws -> ReportFlowModel {
        if h.app.core == nil { await h.app.launch() }
        XCTAssertNil(h.app.startError)
        h.app.startReport()
        let flow = try XCTUnwrap(h.app.flow)
        XCTAssertEqual(h.app.screen, .eligibility)
        flow.under18 = true
        flow.role = .personShown
        flow.hasPictures = true
        flow.checkEligibility()
        XCTAssertEqual(h.app.screen, .pick)
        flow.picked(h.source.pick(names))
        XCTAssertEqual(h.app.screen, .review)
        await flow.startHashing()
        XCTAssertEqual(h.app.screen, .submit)
        return flow
    }

    /// A report sent online; returns its case id.
    @MainActor
    func sentCase(_ h: Harness, _ names: [String]) async throws -> Int64 {
        let flow = try await reportToSubmit(h, names)
        await flow.send()
        XCTAssertEqual(h.app.screen, .caseNumber)
        XCTAssertNotNil(flow.caseNumber)
        return try XCTUnwrap(flow.caseId)
    }
}

final class EligibilityAndSelectionTests: ScreenTestCase {
    @MainActor
    func testEligibilityPassesAndFailsWithEveryReason() async throws {
        let h = try harness()
        await h.app.launch()
        XCTAssertEqual(h.app.screen, .start)
        h.app.startReport()
        let flow = try XCTUnwrap(h.app.flow)
        XCTAssertEqual(h.app.screen, .eligibility)
        XCTAssertFalse(flow.canCheckEligibility)
        flow.checkEligibility()
        XCTAssertEqual(h.app.screen, .eligibility, "unanswered questions do not move on")

        flow.under18 = false
        flow.role = .someoneElse
        flow.hasPictures = false
        flow.checkEligibility()
        XCTAssertEqual(h.app.screen, .notEligible)
        XCTAssertEqual(flow.ineligibleReasons, [.notEligibleAdult, .notEligibleRole, .notEligibleNoPictures])
        h.app.openHelp()
        XCTAssertEqual(h.app.screen, .help)
        await h.app.back()
        XCTAssertEqual(h.app.screen, .notEligible)
        await h.app.back()
        XCTAssertEqual(h.app.screen, .eligibility)

        flow.age = .notSure
        flow.role = .personShown
        flow.hasPictures = true
        XCTAssertTrue(flow.canCheckEligibility, "not sure is an answer")
        flow.checkEligibility()
        XCTAssertEqual(h.app.screen, .notEligible)
        XCTAssertEqual(flow.ineligibleReasons, [.notEligibleAgeUnknown])
        await h.app.back()

        flow.under18 = true
        flow.role = .someoneElse
        flow.hasPictures = true
        flow.checkEligibility()
        XCTAssertEqual(flow.ineligibleReasons, [.notEligibleRole])
        await h.app.back()

        flow.role = .parentOrGuardian
        flow.checkEligibility()
        XCTAssertEqual(h.app.screen, .pick)
        XCTAssertEqual(flow.eligibilityAnswers, EligibilityAnswers(ageWhenMade: .under18, submitter: .parentOrGuardian))
        await h.app.back()
        XCTAssertEqual(h.app.screen, .eligibility)
        await h.app.back()
        XCTAssertEqual(h.app.screen, .start)
        XCTAssertNil(h.app.flow)
    }

    @MainActor
    func testReviewRemovesItemsAndHashingTakesOneItemAtATimeWithWarnings() async throws {
        let h = try harness()
        await h.app.launch()
        h.app.startReport()
        let flow = try XCTUnwrap(h.app.flow)
        flow.under18 = true
        flow.role = .personShown
        flow.hasPictures = true
        flow.checkEligibility()
        h.source.probe = { [weak flow] in flow?.progress.done ?? -1 }

        flow.picked([])
        XCTAssertEqual(h.app.screen, .pick, "an empty pick stays on the picker")
        let picked = h.source.pick(["scene.bmp", "flat-80x60.png", "junk", "video", "long-video", "scene-grey.png"])
        flow.picked(picked)
        XCTAssertEqual(h.app.screen, .review)
        XCTAssertEqual(flow.countMessage, Message(.reviewCount, .int(6)))
        XCTAssertEqual(flow.entries.map(\.item.thumbnail), picked.map(\.thumbnail))
        flow.remove(picked[5].id)
        XCTAssertEqual(flow.entries.map(\.id), picked.prefix(5).map(\.id))
        XCTAssertEqual(h.source.discarded, [picked[5].id])
        XCTAssertEqual(flow.countMessage, Message(.reviewCount, .int(5)))
        flow.chooseMore()
        XCTAssertEqual(h.app.screen, .pick)
        flow.picked([picked[0]])  // picked again: not twice in the selection
        XCTAssertEqual(flow.entries.count, 5)

        await flow.startHashing()
        XCTAssertEqual(h.app.screen, .submit)
        // Each item was decoded only after the one before was hashed.
        XCTAssertEqual(h.source.loads.map(\.id), picked.prefix(5).map(\.id))
        XCTAssertEqual(h.source.loads.map(\.doneBefore), [0, 1, 2, 3, 4])
        XCTAssertEqual(flow.progress, .init(done: 5, total: 5))
        XCTAssertEqual(flow.progress.message, Message(.hashingProgress, .int(5), .int(5)))
        XCTAssertEqual(flow.entries.count, 5)
        let video = try XCTUnwrap(flow.entries.dropFirst(3).first?.hashed?.fingerprint)
        XCTAssertEqual(video.kind, .video)
        XCTAssertEqual(video.frames.count, 3)
        XCTAssertEqual(flow.entries.map(\.warning),
                       [nil, .reviewLowQuality, .reviewUnreadable, video.lowQuality ? .reviewVideoFewFrames : nil, .reviewTooLarge])
        XCTAssertEqual(flow.entries.map(\.sendable), [true, true, false, true, false])
        let pixels = try XCTUnwrap(flow.entries.first?.hashed?.fingerprint)
        XCTAssertEqual(pixels.pdq, "f66666769989933e67819c6647c3799887637e6199c66709c49c9863669c738c",
                       "the decoded pixels give the reference PDQ of scene.bmp")

        // Removing an unreadable one on the submit screen; then back to review.
        flow.remove(picked[2].id)
        XCTAssertEqual(h.app.screen, .submit)
        await h.app.back()
        XCTAssertEqual(h.app.screen, .review)
    }

    @MainActor
    func testCancellingHashingMidRunGoesBackToReviewAndSendsNothing() async throws {
        let h = try harness()
        await h.app.launch()
        h.app.startReport()
        let flow = try XCTUnwrap(h.app.flow)
        flow.under18 = true
        flow.role = .personShown
        flow.hasPictures = true
        flow.checkEligibility()
        let picked = h.source.pick(["scene.bmp", "scene-grey.png", "scene-palette.png", "scene.tiff"])
        h.source.holdIds = [picked[2].id]
        flow.picked(picked)
        let run = Task { await flow.startHashing() }
        try await eventually("two items hashed") { flow.progress.done == 2 }
        XCTAssertEqual(h.app.screen, .hashing)
        XCTAssertEqual(flow.progress.total, 4)
        flow.cancelHashing()
        await run.value
        XCTAssertEqual(h.app.screen, .review)
        XCTAssertEqual(flow.notice, Message(.hashingCancelled))
        XCTAssertEqual(flow.entries.count, 4)
        XCTAssertEqual(flow.entries.map { $0.hashed != nil }, [true, true, false, false])
        let core = try XCTUnwrap(h.app.core)
        XCTAssertEqual(try core.listCases(), [])
        XCTAssertEqual(try core.pendingOperations(), 0)

        // Continue again: only what is left is hashed.
        h.source.release(picked[2].id)
        await flow.startHashing()
        XCTAssertEqual(h.app.screen, .submit)
        XCTAssertNil(flow.notice)
        XCTAssertEqual(h.source.loads.map(\.id), [picked[0], picked[1], picked[2], picked[2], picked[3]].map(\.id))
        XCTAssertTrue(flow.entries.allSatisfy(\.sendable))
    }
}

final class SubmitAndCaseTests: ScreenTestCase {
    @MainActor
    func testSubmitOnlineShowsTheCaseNumberThenHistory() async throws {
        let h = try harness()
        let flow = try await reportToSubmit(h, ["scene.bmp", "junk"])
        async let first: Void = flow.send()
        async let second: Void = flow.send()  // a double tap
        _ = await (first, second)
        XCTAssertEqual(h.app.screen, .caseNumber)
        let number = try XCTUnwrap(flow.caseNumber)
        XCTAssertTrue(number.hasPrefix("TD-"), number)
        XCTAssertFalse(flow.queued)
        XCTAssertNil(flow.notice)
        XCTAssertNil(flow.error)
        XCTAssertTrue(flow.entries.isEmpty, "the selection is dropped once sent")
        let core = try XCTUnwrap(h.app.core)
        let cases = try core.listCases()
        XCTAssertEqual(cases.map(\.caseNumber), [number])
        XCTAssertEqual(cases[0].itemCount, 1, "the unreadable item is not sent")

        await h.app.caseNumberSaved()
        XCTAssertEqual(h.app.screen, .history)
        let history = try XCTUnwrap(h.app.history)
        XCTAssertEqual(history.rows.map(\.caseNumber), [number])
        XCTAssertEqual(history.rows.first?.state, .stateSent)
        XCTAssertNil(history.emptyMessage)
    }

    @MainActor
    func testSubmitOfflineQueuesAndTheQueueSendsOnceTheServiceIsReachable() async throws {
        let proxy = LoopbackProxy(upstream: service)  // a closed port for now
        let h = try harness(url: proxy.url)
        let flow = try await reportToSubmit(h, ["scene.bmp"])
        await flow.send()
        XCTAssertEqual(h.app.screen, .caseNumber)
        XCTAssertTrue(flow.queued)
        XCTAssertNil(flow.caseNumber)
        XCTAssertEqual(flow.notice, Message(.submitOffline))
        let caseId = try XCTUnwrap(flow.caseId)

        // A background flush while still offline: run again at the core's next attempt.
        let before = Date()
        let next = await h.app.flushQueue(timeoutMs: 5000)
        let at = try XCTUnwrap(next, "something is pending: a next run is due")
        XCTAssertGreaterThanOrEqual(at.timeIntervalSince(before), -1)
        XCTAssertLessThan(at.timeIntervalSince(before), 3600)
        XCTAssertTrue(flow.queued)

        // The service becomes reachable: the flush sends it, the change stream updates the screen.
        try proxy.start()
        defer { proxy.stop() }
        let after = await h.app.flushQueue(timeoutMs: 10000)
        XCTAssertNil(after, "nothing left to send")
        try await eventually("the case number from the change stream") { flow.caseNumber != nil }
        XCTAssertFalse(flow.queued)
        XCTAssertNil(flow.notice)
        let core = try XCTUnwrap(h.app.core)
        XCTAssertEqual(try core.listCases().count, 1, "one case, never a duplicate")
        XCTAssertEqual(try core.listCases()[0].id, caseId)
        XCTAssertEqual(try core.pendingOperations(), 0)
    }

    @MainActor
    func testCancellingTheBackgroundFlushTaskStopsItAndKeepsTheNextRun() async throws {
        let service = LoopbackProxy(upstream: self.service)
        try service.hang()
        defer { service.stop() }
        let h = try harness(url: service.url)
        await h.app.launch()
        let core = try XCTUnwrap(h.app.core)
        let photo = try Data(contentsOf: fixtures.appendingPathComponent("images/scene.jpg"))
        let hashed = try await core.hashItem(item: .imageBytes(bytes: photo), cancel: nil)
        let f = try XCTUnwrap(hashed.fingerprint)
        _ = try core.queueCase(requestId: "bg-\(UUID().uuidString)",
                               answers: EligibilityAnswers(ageWhenMade: .under18, submitter: .personShown),
                               items: [SubmitItem(fingerprint: f, label: nil)])
        // What BGTask's expiration handler does: cancel the Task running the flush.
        let app = h.app
        let task = Task { await app.flushQueue(timeoutMs: 60_000) }
        try await Task.sleep(nanoseconds: 300_000_000)
        let start = Date()
        task.cancel()
        let next = await task.value
        XCTAssertLessThan(Date().timeIntervalSince(start), 3, "the Rust flush stopped")
        XCTAssertNotNil(next, "still pending: a next run is asked for")
        XCTAssertEqual(try core.pendingOperations(), 1)
    }

    @MainActor
    func testDoNotSendOnAQueuedCaseWithdrawsItOnceTheServiceIsReachable() async throws {
        let proxy = LoopbackProxy(upstream: service)  // closed for now: offline
        let h = try harness(url: proxy.url)
        let flow = try await reportToSubmit(h, ["scene-grey.png"])
        await flow.send()
        let caseId = try XCTUnwrap(flow.caseId)
        await h.app.caseNumberSaved()
        let history = try XCTUnwrap(h.app.history)
        XCTAssertEqual(history.rows.map(\.state), [.stateQueued])
        await h.app.openCase(caseId)
        let detail = try XCTUnwrap(h.app.detail)
        XCTAssertEqual(detail.title, Message(.stateQueued))
        XCTAssertTrue(detail.canCancelQueued)
        XCTAssertFalse(detail.canWithdrawAll)
        // Its sending was tried, so it may have reached the service: the core queues a
        // withdrawal instead of forgetting it.
        await detail.cancelQueued()
        XCTAssertFalse(detail.removed)
        XCTAssertNil(detail.error)
        XCTAssertEqual(detail.state, .stateWithdrawn)
        XCTAssertFalse(detail.canCancelQueued)
        XCTAssertFalse(detail.canAddMore)
        XCTAssertEqual(try h.app.core?.pendingOperations(), 2)

        try proxy.start()
        defer { proxy.stop() }
        let next = await h.app.flushQueue(timeoutMs: 10000)
        XCTAssertNil(next)
        try await eventually("the case number on the detail screen") { detail.caseNumber != nil }
        XCTAssertEqual(detail.state, .stateWithdrawn)
        XCTAssertEqual(detail.items.map(\.state), [.stateWithdrawn])
        XCTAssertEqual(try h.app.core?.pendingOperations(), 0)
        await h.app.back()
        XCTAssertEqual(history.rows.map(\.state), [.stateWithdrawn])
    }

    @MainActor
    func testHistoryShowsWhatIsNewAfterPlatformFeedbackAndDetailShowsIt() async throws {
        try XCTSkipIf(platformKey.isEmpty && env["CI"] == nil, "TAKEDOWN_TEST_PLATFORM_KEY not set: run scripts/swift-tests.sh")
        let h = try harness()
        let caseId = try await sentCase(h, ["scene-palette.png"])
        let sha = try XCTUnwrap(h.app.core?.listItems(caseId: caseId).first?.sha256)
        await h.app.caseNumberSaved()
        let history = try XCTUnwrap(h.app.history)
        XCTAssertEqual(history.rows.map(\.isNew), [true], "a first status is new")
        await h.app.openCase(caseId)
        XCTAssertEqual(h.app.screen, .detail)
        await h.app.back()
        XCTAssertEqual(h.app.screen, .history)
        XCTAssertEqual(history.rows.map(\.isNew), [false], "seen once opened")
        XCTAssertEqual(history.newCount, 0)

        try await platformReportsMatchAndRemoval(service: service, platformKey: platformKey, sha256: sha)
        await history.refresh()
        XCTAssertEqual(history.rows.map(\.isNew), [true])
        let row = try XCTUnwrap(history.rows.first)
        XCTAssertEqual(row.newMatches, 1)
        XCTAssertEqual(row.newRemovals, 1)
        XCTAssertEqual(history.newCount, 1)

        await h.app.openCase(caseId)
        let detail = try XCTUnwrap(h.app.detail)
        XCTAssertEqual(detail.title, Message(.detailTitle, .text(try XCTUnwrap(row.caseNumber))))
        XCTAssertEqual(detail.items.count, 1)
        let item = try XCTUnwrap(detail.items.first)
        XCTAssertEqual(item.found, 1)
        XCTAssertEqual(item.removed, 1)
        XCTAssertEqual(item.foundMessage, Message(.detailFoundOn, .int(1)))
        XCTAssertEqual(item.removedMessage, Message(.detailRemovedOn, .int(1)))
        XCTAssertEqual(item.label, Message(.detailItemLabel, .int(1)))
        await h.app.back()
        XCTAssertEqual(history.rows.map(\.isNew), [false])
    }

    @MainActor
    func testDetailAddsMoreAndWithdrawsOneItemThenAll() async throws {
        let h = try harness()
        let caseId = try await sentCase(h, ["scene.bmp"])
        await h.app.caseNumberSaved()
        await h.app.openCase(caseId)
        let detail = try XCTUnwrap(h.app.detail)
        XCTAssertEqual(detail.state, .stateSent)
        XCTAssertTrue(detail.canAddMore)

        h.app.addMore()
        XCTAssertEqual(h.app.screen, .pick)
        let flow = try XCTUnwrap(h.app.flow)
        flow.picked(h.source.pick(["scene-grey.png"]))
        await flow.startHashing()
        XCTAssertEqual(h.app.screen, .submit)
        await flow.send()
        XCTAssertEqual(flow.step, .finished)
        XCTAssertNil(flow.notice, "sent at once")
        XCTAssertEqual(h.app.screen, .detail, "back to the case")
        XCTAssertNil(h.app.flow)
        let more = try XCTUnwrap(h.app.detail)
        XCTAssertFalse(more === detail, "the case is read again")
        XCTAssertEqual(more.items.map(\.state), [.stateSent, .stateSent])
        XCTAssertEqual(more.items.map(\.number), [1, 2])

        await more.withdraw(itemId: try XCTUnwrap(more.items.last?.id))
        XCTAssertNil(more.error)
        XCTAssertEqual(more.items.map(\.state), [.stateSent, .stateWithdrawn])
        XCTAssertEqual(more.items.map(\.canWithdraw), [true, false])
        XCTAssertTrue(more.canWithdrawAll)
        await more.withdrawAll()
        XCTAssertNil(more.error)
        XCTAssertEqual(more.state, .stateWithdrawn)
        XCTAssertEqual(more.items.map(\.state), [.stateWithdrawn, .stateWithdrawn])
        XCTAssertFalse(more.canWithdrawAll)
        XCTAssertFalse(more.canAddMore)
        XCTAssertEqual(try h.app.core?.pendingOperations(), 0)
    }
}

final class SettingsLockAndExitTests: ScreenTestCase {
    @MainActor
    func testDeleteEverythingWarnsWhileWithdrawalsAreQueuedThenForces() async throws {
        let proxy = LoopbackProxy(upstream: service)
        try proxy.start()
        let h = try harness(url: proxy.url)
        let caseId = try await sentCase(h, ["scene.bmp"])
        proxy.stop()  // offline from here: the withdrawal stays queued
        await h.app.caseNumberSaved()
        await h.app.openCase(caseId)
        let detail = try XCTUnwrap(h.app.detail)
        await detail.withdraw(itemId: try XCTUnwrap(detail.items.first?.id))
        XCTAssertEqual(detail.notice, Message(.errorOffline))
        XCTAssertEqual(try h.app.core?.pendingOperations(), 1)
        await h.app.back()
        await h.app.back()
        XCTAssertEqual(h.app.screen, .start)

        h.app.openSettings()
        XCTAssertEqual(h.app.screen, .settings)
        let settings = try XCTUnwrap(h.app.settings)
        settings.requestDelete()
        XCTAssertEqual(settings.deleteMessage, Message(.settingsDeleteConfirm))
        settings.cancelDelete()
        XCTAssertEqual(settings.deleteStep, .idle)
        settings.requestDelete()
        await settings.confirmDelete()
        XCTAssertEqual(settings.deleteStep, .pendingWarning(count: 1))
        XCTAssertEqual(settings.deleteMessage, Message(.settingsDeletePending))
        XCTAssertEqual(try h.app.core?.listCases().count, 1, "nothing deleted yet")
        let oldKey = try XCTUnwrap(h.keys.current)
        await settings.deleteAnyway()
        XCTAssertEqual(settings.deleteStep, .deleted)
        XCTAssertEqual(h.app.screen, .start)
        XCTAssertNil(h.app.settings)
        XCTAssertNil(h.app.history)
        let fresh = try XCTUnwrap(h.app.core, "a fresh, empty history is open")
        XCTAssertEqual(try fresh.listCases(), [])
        XCTAssertEqual(try fresh.pendingOperations(), 0)
        XCTAssertEqual(h.keys.stores, 2)
        XCTAssertNotEqual(h.keys.current, oldKey, "a new key")
    }

    @MainActor
    func testQuickExitClearsAllState() async throws {
        let h = try harness()
        await h.app.launch()
        _ = try await sentCase(h, ["scene.bmp"])
        await h.app.openHistory()
        XCTAssertNotNil(h.app.history)
        weak var closedCore = h.app.core
        do {
            h.app.startReport()
            let flow = try XCTUnwrap(h.app.flow)
            flow.under18 = true
            flow.role = .personShown
            flow.hasPictures = true
            flow.checkEligibility()
            let picked = h.source.pick(["scene.bmp", "scene-grey.png"])
            flow.picked(picked)
            XCTAssertEqual(h.app.screen, .review)

            h.app.quickExit()
            XCTAssertEqual(h.app.screen, .closed)
            XCTAssertNil(h.app.flow)
            XCTAssertNil(h.app.history)
            XCTAssertNil(h.app.detail)
            XCTAssertNil(h.app.settings)
            XCTAssertNil(h.app.core)
            XCTAssertTrue(h.app.coverVisible)
            XCTAssertTrue(flow.entries.isEmpty, "thumbnails are dropped")
            XCTAssertTrue(Set(h.source.discarded).isSuperset(of: picked.map(\.id)))
            h.app.startReport()
            XCTAssertEqual(h.app.screen, .closed, "nothing runs after quick exit")
        }
        try await eventually("the core (and its key) released") { closedCore == nil }

        // The history was closed: a new launch opens the same history again.
        await h.app.launch()
        XCTAssertNil(h.app.startError)
        XCTAssertEqual(h.app.screen, .start)
        XCTAssertFalse(h.app.coverVisible)
        XCTAssertEqual(try h.app.core?.listCases().count, 1)
    }

    @MainActor
    func testAppLockAndPrivacyCover() async throws {
        let h = try harness(lock: true)
        await h.app.launch()
        XCTAssertEqual(h.app.screen, .lock)
        h.app.startReport()
        XCTAssertNil(h.app.flow, "nothing behind the lock")
        h.auth.answer(false)
        await h.app.unlock()
        XCTAssertEqual(h.app.screen, .lock)
        XCTAssertTrue(h.app.unlockFailed)
        h.auth.answer(true)
        await h.app.unlock()
        XCTAssertEqual(h.app.screen, .start)
        XCTAssertFalse(h.app.unlockFailed)

        h.app.scenePhaseChanged(.inactive)
        XCTAssertTrue(h.app.coverVisible)
        XCTAssertEqual(h.app.screen, .start, "inactive alone does not lock")
        h.app.scenePhaseChanged(.active)
        XCTAssertFalse(h.app.coverVisible)
        h.app.scenePhaseChanged(.background)
        XCTAssertTrue(h.app.coverVisible)
        XCTAssertEqual(h.app.screen, .lock)
        h.app.scenePhaseChanged(.active)
        await h.app.unlock()
        XCTAssertEqual(h.app.screen, .start)
        XCTAssertEqual(h.auth.asked, 3)

        h.app.openSettings()
        let settings = try XCTUnwrap(h.app.settings)
        XCTAssertTrue(settings.lockEnabled)
        settings.lockEnabled = false
        XCTAssertFalse(h.prefs.lockEnabled)
        XCTAssertFalse(settings.neutralIcon)
        settings.neutralIcon = true
        XCTAssertTrue(h.prefs.neutralIcon, "the neutral icon choice is kept")
        h.app.scenePhaseChanged(.background)
        XCTAssertTrue(h.app.coverVisible)
        XCTAssertEqual(h.app.screen, .settings, "lock off: no lock on return")
    }
}
