// Case detail: per item seen by N platforms, found, removed; add more, withdraw one or
// all, resubmit a refused case, do not send a queued one.
import Foundation
import Observation
import TakedownCore

/// One case.
@Observable
@MainActor
public final class CaseDetailModel {
    /// One item of the case.
    public struct ItemRow: Identifiable, Equatable, Sendable {
        /// Local item id.
        public let id: Int64
        /// "Picture 2": its position in the case, from 1.
        public let number: Int
        /// Picture or video.
        public let kind: MediaKind
        /// Waiting, received, not accepted, withdrawn, unknown.
        public let state: L10nKey
        /// Platforms that have checked it (synced past it).
        public let seenBy: Int
        /// Matches platforms reported.
        public let found: Int
        /// Removals platforms reported.
        public let removed: Int
        /// Only exact copies can be found.
        public let lowQuality: Bool
        /// Whether "withdraw this picture" applies.
        public let canWithdraw: Bool

        /// "Picture 2".
        public var label: Message { Message(.detailItemLabel, .int(number)) }
        /// "Checked by 3 platforms".
        public var seenByMessage: Message { Message(.detailSeenBy, .int(seenBy)) }
        /// "Found on 1 platform".
        public var foundMessage: Message { Message(.detailFoundOn, .int(found)) }
        /// "Removed on 1 platform".
        public var removedMessage: Message { Message(.detailRemovedOn, .int(removed)) }
    }

    /// Local case id.
    public let caseId: Int64
    /// The case number, once the service answered.
    public private(set) var caseNumber: String?
    /// The recovery key, to look up again.
    public private(set) var recoveryKey: String?
    /// The case's state.
    public private(set) var state: L10nKey = .stateQueued
    /// The items, oldest first.
    public private(set) var items: [ItemRow] = []
    /// Whether "withdraw the whole report" applies.
    public private(set) var canWithdrawAll = false
    /// Whether "send again" applies (the service refused the case or items).
    public private(set) var canResubmit = false
    /// Whether "do not send" applies (still queued).
    public private(set) var canCancelQueued = false
    /// Whether "add pictures" applies.
    public private(set) var canAddMore = false
    /// The service's refusal, when it refused.
    public private(set) var rejection: Message?
    /// An error of the last action.
    public private(set) var error: Message?
    /// A calm note (the action is queued and will be sent).
    public private(set) var notice: Message?
    /// `true` while an action runs.
    public private(set) var busy = false
    /// `true` once "do not send" removed the case.
    public private(set) var removed = false

    private let core: Takedown
    private var lastRead: Task<Void, Never>?  // reads run one after another, newest last

    /// The case `caseId` of `core`.
    public init(core: Takedown, caseId: Int64) {
        self.core = core
        self.caseId = caseId
    }

    /// "Case TD-…" (or "waiting to be sent" before it has a number).
    public var title: Message {
        caseNumber.map { Message(.detailTitle, .text($0)) } ?? Message(.stateQueued)
    }

    /// Re-reads the case (no network) and marks its status as seen. Reads run one after
    /// another (see `HistoryModel.load`).
    public func load() async {
        let previous = lastRead
        let read = Task { await previous?.value; await self.read() }
        lastRead = read
        await read.value
    }

    private func read() async {
        let core = self.core
        let caseId = self.caseId
        do {
            let detail = try await offMain { () -> CaseDetail in
                let d = try core.caseDetail(caseId: caseId)
                if d.status != nil { try core.markSeen(caseId: caseId) }
                return d
            }
            apply(detail)
        } catch TakedownError.InvalidInput {
            removed = true  // the case is gone (cancelled, deleted)
        } catch {
            self.error = userMessage(for: error)
        }
    }

    /// Fetches the case's status from the service, then re-reads.
    public func refresh() async {
        if canWithdrawAll || state == .stateWithdrawn {
            do { _ = try await core.refreshStatus(caseId: caseId) } catch { self.error = userMessage(for: error) }
        }
        await load()
    }

    private func apply(_ d: CaseDetail) {
        caseNumber = d.case.caseNumber
        recoveryKey = d.case.recoveryKey
        let unknown = d.status?.state == .unknown
        state = unknown && d.case.state == .open ? .stateUnknown : stateKey(d.case.state)
        let perItem = Dictionary((d.status?.items ?? []).compactMap { s in s.itemId.map { ($0, s) } },
                                 uniquingKeysWith: { a, _ in a })
        items = d.items.enumerated().map { i, item in
            let s = perItem[item.id]
            let st: L10nKey = s?.state == .unknown && item.state == .active ? .stateUnknown : stateKey(item.state)
            return ItemRow(id: item.id, number: i + 1, kind: item.kind, state: st,
                           seenBy: Int(s?.platformsSynced ?? 0), found: Int(s?.matches ?? 0),
                           removed: Int(s?.removals ?? 0), lowQuality: item.lowQuality,
                           canWithdraw: item.state == .active || item.state == .pending)
        }
        let open = d.case.state == .open || d.case.state == .pending
        canWithdrawAll = d.case.state == .open
        canAddMore = open
        canCancelQueued = d.case.state == .pending
        canResubmit = d.case.state == .rejected || d.items.contains { $0.state == .rejected }
        rejection = d.case.rejection.map { Message(.submitRejected, .text($0)) }
    }

    /// Withdraws one item (queued, then sent; offline it is sent later).
    public func withdraw(itemId: Int64) async {
        await run { try await $0.withdrawItem(itemId: itemId) }
    }

    /// Withdraws the whole case.
    public func withdrawAll() async {
        let caseId = self.caseId
        await run { try await $0.withdrawCase(caseId: caseId) }
    }

    /// Sends a refused case (or its refused items) again.
    public func resubmit() async {
        let caseId = self.caseId
        await run { core in
            _ = try await offMain { try core.resubmitCase(caseId: caseId) }
            return try await core.flushCancellable()
        }
    }

    /// "Do not send": a queued case is removed (`removed` becomes `true`) or, if it may
    /// have reached the service, withdrawn.
    public func cancelQueued() async {
        guard !busy else { return }
        busy = true
        defer { busy = false }
        error = nil
        do {
            if try await core.cancelQueuedCase(caseId: caseId) { removed = true; return }
        } catch {
            self.error = userMessage(for: error)
        }
        await load()
    }

    private func run(_ action: @escaping (Takedown) async throws -> FlushReport) async {
        guard !busy else { return }
        busy = true
        defer { busy = false }
        error = nil
        notice = nil
        do {
            let report = try await action(core)
            if report.pending > 0 { notice = Message(report.offline ? .errorOffline : .submitQueued) }
        } catch {
            self.error = userMessage(for: error)
        }
        await load()
    }
}
