// History: every case with its state and what is new since the last visit.
import Foundation
import Observation
import TakedownCore

/// The "My reports" screen.
@Observable
@MainActor
public final class HistoryModel {
    /// One case in the list.
    public struct Row: Identifiable, Equatable, Sendable {
        /// Local case id.
        public let id: Int64
        /// The case number, once the service answered.
        public let caseNumber: String?
        /// Waiting, received, not accepted, withdrawn, or unknown.
        public let state: L10nKey
        /// Something changed since the user last opened this case.
        public let isNew: Bool
        /// New matches since the last visit.
        public let newMatches: Int
        /// New removals since the last visit.
        public let newRemovals: Int
        /// Items in the case.
        public let itemCount: Int
    }

    /// The cases, newest first.
    public private(set) var rows: [Row] = []
    /// `true` while a refresh from the service runs.
    public private(set) var refreshing = false
    /// An error of the last refresh.
    public private(set) var error: Message?
    /// Whether a load happened (to tell "empty" from "not loaded").
    public private(set) var loaded = false

    private let core: Takedown
    private var lastRead: Task<Void, Never>?  // reads run one after another, newest last

    /// The history of `core`.
    public init(core: Takedown) { self.core = core }

    /// "No reports on this phone." when there are none.
    public var emptyMessage: Message? { loaded && rows.isEmpty ? Message(.historyEmpty) : nil }

    /// Cases with something new since the last visit.
    public var newCount: Int { rows.filter(\.isNew).count }

    /// Re-reads the local history (no network): called on open and on every change.
    /// Reads (from the change stream, a refresh, the screen) run one after another, so
    /// an older read never overwrites a newer one; this returns once its own read shows.
    public func load() async {
        let previous = lastRead
        let read = Task { await previous?.value; await self.read() }
        lastRead = read
        await read.value
    }

    private func read() async {
        let core = self.core
        do {
            let (cases, changes, states) = try await offMain { () -> ([CaseRecord], [CaseChanges], [Int64: ServiceState]) in
                let cases = try core.listCases()
                var states: [Int64: ServiceState] = [:]
                for c in cases { states[c.id] = try core.caseStatus(caseId: c.id)?.state }
                return (cases, try core.changesSinceSeen(), states)
            }
            let byCase = Dictionary(changes.map { ($0.caseId, $0) }, uniquingKeysWith: { a, _ in a })
            rows = cases.map { c in
                let ch = byCase[c.id]
                let state: L10nKey = states[c.id] == .unknown && c.state == .open ? .stateUnknown : stateKey(c.state)
                return Row(id: c.id, caseNumber: c.caseNumber, state: state, isNew: ch?.hasChanges ?? false,
                           newMatches: Int(ch?.newMatches ?? 0), newRemovals: Int(ch?.newRemovals ?? 0),
                           itemCount: Int(c.itemCount))
            }
            loaded = true
        } catch {
            self.error = userMessage(for: error)
        }
    }

    /// Pull to refresh: fetches every case's status from the service, then re-reads.
    /// Offline, the stored state stays and a calm note says so.
    public func refresh() async {
        guard !refreshing else { return }
        refreshing = true
        defer { refreshing = false }
        error = nil
        do {
            _ = try await core.refreshAllCancellable()
        } catch {
            if !isCancellation(error) { self.error = userMessage(for: error) }
        }
        await load()
    }
}
