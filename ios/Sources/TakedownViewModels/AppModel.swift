// The root of the app: which screen is shown, the core's lifetime and change stream,
// the app lock, the privacy cover, quick exit, and the background flush.
import Foundation
import Observation
import TakedownCore

/// The whole app's state. The SwiftUI layer renders `screen` and the child model of that
/// screen, and forwards events here.
@Observable
@MainActor
public final class AppModel {
    /// Every screen of docs/app-screens.md.
    public enum Screen: Equatable, Sendable {
        case lock, start, eligibility, notEligible, help, pick, review, hashing, submit, caseNumber
        case history, detail, settings, restore, closed
    }

    /// The scene's state, as the app sees it.
    public enum ScenePhase: Sendable {
        /// In front, in use.
        case active
        /// Visible but not in use (app switcher, a call).
        case inactive
        /// In the background.
        case background
    }

    private enum Route: Equatable {
        case start, report, history, detail, settings, help, restore, closed
    }

    private var route: Route = .start
    private var helpReturn: Route = .start
    /// `true` while the app lock asks for the owner.
    public private(set) var locked = false
    /// `true` when the last unlock attempt failed.
    public private(set) var unlockFailed = false
    /// A plain cover over everything (app switcher snapshots show nothing).
    public private(set) var coverVisible = false
    /// An error opening the history (shown on the start screen).
    public private(set) var startError: Message?
    /// The report flow, while one runs.
    public private(set) var flow: ReportFlowModel?
    /// My reports.
    public private(set) var history: HistoryModel?
    /// The open case.
    public private(set) var detail: CaseDetailModel?
    /// Settings, while shown.
    public private(set) var settings: SettingsModel?
    /// The restore screen, while shown.
    public private(set) var restore: RestoreModel?

    /// The open core (`nil` before `launch`, after quick exit).
    public private(set) var core: Takedown?
    private let opener: CoreOpener
    private let wiper: HistoryWiper
    /// `true` when the saved history cannot be opened (damaged, or its key is
    /// gone): the start screen offers to delete it (`wipeUnreadableHistory`).
    public private(set) var historyUnreadable = false
    private let source: MediaSource
    private let authenticator: LockAuthenticator
    private let preferences: Preferences
    private var changes: CoreChanges?
    private var listening: Task<Void, Never>?

    /// The app over a core from `opener`, media from `source`, the lock by
    /// `authenticator`, settings in `preferences`.
    public init(opener: @escaping CoreOpener, wiper: @escaping HistoryWiper, source: MediaSource,
                authenticator: LockAuthenticator, preferences: Preferences) {
        self.opener = opener
        self.wiper = wiper
        self.source = source
        self.authenticator = authenticator
        self.preferences = preferences
    }

    /// The screen to show.
    public var screen: Screen {
        if locked { return .lock }
        switch route {
        case .start: return .start
        case .history: return .history
        case .detail: return .detail
        case .settings: return .settings
        case .help: return .help
        case .restore: return .restore
        case .closed: return .closed
        case .report:
            switch flow?.step ?? .eligibility {
            case .eligibility: return .eligibility
            case .notEligible: return .notEligible
            case .pick: return .pick
            case .review: return .review
            case .hashing: return .hashing
            case .submit: return .submit
            case .caseNumber: return .caseNumber
            case .finished: return .detail
            }
        }
    }

    /// Opens the core and shows the lock (when on) or the start screen.
    public func launch() async {
        route = .start
        locked = preferences.lockEnabled
        coverVisible = false
        // A background flush may have opened it already (one core per process).
        if core == nil { await openCore() }
    }

    private func openCore() async {
        startError = nil
        do {
            let core = try await opener()
            self.core = core
            let changes = CoreChanges()
            self.changes = changes
            core.setListener(listener: changes)
            listening = Task { [weak self] in
                for await change in changes.stream {
                    guard let self else { return }
                    await self.coreChanged(change)
                }
            }
        } catch {
            startError = userMessage(for: error)
            switch error as? TakedownError {
            case .WrongKey, .Storage: historyUnreadable = true
            default: historyUnreadable = false
            }
        }
    }

    /// Deletes a history that cannot be opened and starts with an empty one. A
    /// history from a newer version (`TooNew`) or a locked key store is never
    /// wiped: updating the app or unlocking the phone opens it.
    public func wipeUnreadableHistory() async {
        guard core == nil, historyUnreadable else { return }
        do {
            try await wiper()
        } catch {
            startError = userMessage(for: error)
            return
        }
        historyUnreadable = false
        await openCore()
    }

    private func closeCore() {
        listening?.cancel()
        listening = nil
        changes?.finish()
        changes = nil
        core?.setListener(listener: nil)
        core = nil
    }

    /// Something changed in the core (a flush, a refresh, another screen's action):
    /// every visible model re-reads.
    func coreChanged(_ change: Change) async {
        await flow?.refreshCase()
        if route == .history { await history?.load() }
        if route == .detail { await detail?.load() }
    }

    // MARK: lock and privacy

    /// Asks the owner (Face ID, Touch ID, passcode); unlocks on success.
    public func unlock() async {
        guard locked else { return }
        if await authenticator.authenticate() {
            locked = false
            unlockFailed = false
        } else {
            unlockFailed = true
        }
    }

    /// The scene changed: a cover whenever the app is not active; the lock (when on)
    /// comes back once it went to the background.
    public func scenePhaseChanged(_ phase: ScenePhase) {
        switch phase {
        case .active: coverVisible = false
        case .inactive: coverVisible = true
        case .background:
            coverVisible = true
            if preferences.lockEnabled && route != .closed { locked = true }
        }
    }

    /// "Leave now": stops all work and drops every screen, selection, thumbnail and the
    /// open core; the app then leaves (the SwiftUI layer suspends to the home screen).
    public func quickExit() {
        flow?.clear()
        flow = nil
        history = nil
        detail = nil
        settings = nil
        restore = nil
        closeCore()
        startError = nil
        coverVisible = true
        route = .closed
    }

    // MARK: navigation

    /// "Start a report".
    public func startReport() {
        guard let core, !locked else { return }
        flow = ReportFlowModel(core: core, source: source)
        route = .report
    }

    /// "My reports": shows the stored history at once, then refreshes from the service.
    public func openHistory() async {
        guard let core, !locked else { return }
        let history = self.history ?? HistoryModel(core: core)
        self.history = history
        flow?.clear()
        flow = nil
        detail = nil
        route = .history
        await history.load()
        await history.refresh()
    }

    /// Opens one case (from history); marks its status seen.
    public func openCase(_ caseId: Int64) async {
        guard let core, !locked else { return }
        let detail = CaseDetailModel(core: core, caseId: caseId)
        self.detail = detail
        route = .detail
        await detail.load()
    }

    /// "Add pictures" on a case: the picker, then review, hashing and submit.
    public func addMore() {
        guard let core, let detail, detail.canAddMore else { return }
        let flow = ReportFlowModel(core: core, source: source, mode: .addTo(caseId: detail.caseId))
        flow.onFinished = { [weak self] in await self?.finishAdding() }
        self.flow = flow
        route = .report
    }

    /// "I saved them" on the case number screen: on to history.
    public func caseNumberSaved() async {
        await openHistory()
    }

    /// The add-more flow finished: back to its case.
    private func finishAdding() async {
        guard let flow, case .addTo(let caseId) = flow.mode, flow.step == .finished else { return }
        self.flow = nil
        await openCase(caseId)
    }

    /// "Settings".
    public func openSettings() {
        guard let core, !locked else { return }
        settings = SettingsModel(core: core, preferences: preferences) { [weak self] in
            await self?.startOver()
        }
        route = .settings
    }

    /// "Get help" / "See where to get help".
    public func openHelp() {
        guard route != .help else { return }
        helpReturn = route
        route = .help
    }

    /// "I already have a case number".
    public func openRestore() {
        guard let core, !locked else { return }
        let restore = RestoreModel(core: core)
        restore.onRestored = { [weak self] caseId in
            self?.restore = nil
            await self?.openCase(caseId)
        }
        self.restore = restore
        route = .restore
    }

    /// One screen back.
    public func back() async {
        switch route {
        case .start, .closed: return
        case .help: route = helpReturn
        case .report:
            if flow?.back() == false {
                if let flow, case .addTo(let caseId) = flow.mode {
                    flow.clear()
                    self.flow = nil
                    await openCase(caseId)
                } else if flow?.step == .caseNumber {
                    await openHistory()
                } else {
                    flow?.clear()
                    flow = nil
                    route = .start
                }
            }
        case .detail:
            detail = nil
            await openHistory()
        case .history, .settings, .restore:
            settings = nil
            restore = nil
            route = .start
        }
    }

    /// After "delete everything": every screen is dropped and a fresh, empty core opened.
    private func startOver() async {
        flow?.clear()
        flow = nil
        history = nil
        detail = nil
        settings = nil
        restore = nil
        closeCore()
        route = .start
        await openCore()
    }

    // MARK: background

    /// Sends the queue (from a `BGTask`, or when connectivity returns) within
    /// `timeoutMs`; cancelling the calling `Task` (the task's expiration handler)
    /// stops it. Returns when to run again (the core's next attempt time), or `nil`
    /// when nothing is left.
    public func flushQueue(timeoutMs: UInt64) async -> Date? {
        if core == nil { await openCore() }
        guard let core else { return nil }
        do {
            let report = try await core.flushCancellable(cancel: CancelToken.withTimeoutMs(timeoutMs: timeoutMs))
            return report.nextAttemptAtMs.map { Date(timeIntervalSince1970: Double($0) / 1000) }
        } catch {
            let next = (try? await offMain { try core.listCases().compactMap(\.nextAttemptAtMs).min() }) ?? nil
            return next.map { Date(timeIntervalSince1970: Double($0) / 1000) }
                ?? ((try? core.pendingOperations()) ?? 0 > 0 ? Date(timeIntervalSinceNow: 15 * 60) : nil)
        }
    }
}
