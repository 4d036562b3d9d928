// Eligibility → pick → review → hashing → submit → case number: the report flow, and
// the "add more" flow of an existing case (pick → review → hashing → submit).
import Foundation
import Observation
import TakedownCore

/// One report (or one "add more" to a case) from the first question to the case number.
@Observable
@MainActor
public final class ReportFlowModel {
    /// Where the flow stands; each step is a screen.
    public enum Step: Equatable, Sendable {
        /// The attestation questions.
        case eligibility
        /// The answers do not allow a case (`ineligibleReasons` says why).
        case notEligible
        /// The system picker is shown.
        case pick
        /// The selection, with thumbnails and warnings; remove items or choose more.
        case review
        /// Fingerprints are made, one item at a time.
        case hashing
        /// Ready to send.
        case submit
        /// The case number (or "waiting to be sent") and the recovery key.
        case caseNumber
        /// An "add more" flow is done: back to the case.
        case finished
    }

    /// A new case, or more items for an existing one.
    public enum Mode: Equatable, Sendable {
        /// A new case (starts with the questions).
        case newCase
        /// More items for the case with this local id (starts with the picker).
        case addTo(caseId: Int64)
    }

    /// One picked item and what hashing made of it.
    public struct Entry: Identifiable, Equatable, Sendable {
        /// The picked item (thumbnail in memory).
        public let item: PickedItem
        /// The core's result, once hashed.
        public fileprivate(set) var hashed: HashedItem?
        /// Low quality, unreadable, too large: shown on the item.
        public fileprivate(set) var warning: L10nKey?
        /// The item's id.
        public var id: String { item.id }
        /// Whether it will be sent (hashed with a fingerprint).
        public var sendable: Bool { hashed?.fingerprint != nil }
    }

    /// Items hashed so far of the selection.
    public struct Progress: Equatable, Sendable {
        /// Items done.
        public var done: Int
        /// Items in the selection.
        public var total: Int
        /// "3 of 10 done".
        public var message: Message { Message(.hashingProgress, .int(done), .int(total)) }
    }

    /// The current step.
    public private(set) var step: Step
    /// New case or add more.
    public let mode: Mode

    // Eligibility
    /// The answers to "was the person shown under 18 when the pictures were made?".
    public enum AgeAnswer: Sendable, Equatable {
        /// Yes.
        case under18
        /// No.
        case adult
        /// "I am not sure": the core says why it cannot take the case.
        case notSure
    }

    /// "Were you under 18 in the pictures?" (`nil` until answered).
    public var age: AgeAnswer?

    /// Yes / no view of `age` (`nil` while unanswered or "not sure").
    public var under18: Bool? {
        get {
            switch age {
            case .under18: return true
            case .adult: return false
            case .notSure, nil: return nil
            }
        }
        set { age = newValue.map { $0 ? .under18 : .adult } }
    }
    /// Who is reporting (`nil` until answered).
    public var role: SubmitterRole?
    /// "Do you have the pictures on this phone?" (`nil` until answered).
    public var hasPictures: Bool?
    /// The explanations of why not, on the not-eligible screen.
    public private(set) var ineligibleReasons: [L10nKey] = []

    // Selection and hashing
    /// The selection, in the order picked.
    public private(set) var entries: [Entry] = []
    /// Hashing progress.
    public private(set) var progress = Progress(done: 0, total: 0)
    /// A calm note (hashing stopped, report saved for later).
    public private(set) var notice: Message?
    /// An error to show on the current screen.
    public private(set) var error: Message?
    /// `true` while sending.
    public private(set) var sending = false

    // Case number
    /// The local id of the case, once queued.
    public private(set) var caseId: Int64?
    /// The service's case number, once it answered.
    public private(set) var caseNumber: String?
    /// The recovery key (made when the case is queued): shown with the case number.
    public private(set) var recoveryKey: String?
    /// `true` while the case waits in the queue.
    public private(set) var queued = false

    /// Runs when an "add more" flow has sent its items (the app goes back to the case).
    var onFinished: (@MainActor () async -> Void)?

    private let core: Takedown
    private let source: MediaSource
    private var answers: EligibilityAnswers?
    private var requestId: String?
    private var hashing: Task<Void, Never>?
    private var token: CancelToken?

    /// A flow over `core`, decoding picked items with `source`.
    public init(core: Takedown, source: MediaSource, mode: Mode = .newCase) {
        self.core = core
        self.source = source
        self.mode = mode
        step = mode == .newCase ? .eligibility : .pick
    }

    /// "5 items selected".
    public var countMessage: Message { Message(.reviewCount, .int(entries.count)) }

    /// Whether every question is answered.
    public var canCheckEligibility: Bool { age != nil && role != nil && hasPictures != nil }

    /// The answers as the core takes them.
    public var eligibilityAnswers: EligibilityAnswers? {
        guard let age, let role else { return nil }
        let made: AgeWhenMade
        switch age {
        case .under18: made = .under18
        case .adult: made = .adult
        case .notSure: made = .notSure
        }
        return EligibilityAnswers(ageWhenMade: made, submitter: role)
    }

    /// Asks the core whether these answers allow a case: on to the picker, or to the
    /// not-eligible screen with every reason.
    public func checkEligibility() {
        guard step == .eligibility, canCheckEligibility, let answers = eligibilityAnswers else { return }
        let verdict = TakedownCore.checkEligibility(answers: answers)
        var reasons = verdict.reasons.map(reasonKey)
        if hasPictures == false { reasons.append(.notEligibleNoPictures) }
        if reasons.isEmpty {
            self.answers = answers
            step = .pick
        } else {
            ineligibleReasons = reasons.reduce(into: []) { out, r in if !out.contains(r) { out.append(r) } }
            step = .notEligible
        }
    }

    /// The picker returned these items (possibly none).
    public func picked(_ items: [PickedItem]) {
        guard step == .pick else { return }
        let known = Set(entries.map(\.id))
        entries += items.filter { !known.contains($0.id) }.map { Entry(item: $0) }
        changedSelection()
        if !entries.isEmpty { step = .review }
    }

    /// Removes an item from the selection (review or submit screen).
    public func remove(_ id: String) {
        guard step == .review || step == .submit, let i = entries.firstIndex(where: { $0.id == id }) else { return }
        source.discard(entries.remove(at: i).item)
        changedSelection()
        if entries.isEmpty { step = .pick } else if step == .submit && !entries.contains(where: \.sendable) { step = .review }
    }

    /// Back to the picker to choose more.
    public func chooseMore() {
        guard step == .review || step == .submit else { return }
        step = .pick
    }

    /// Hashes the selection, one item at a time (each decoded, hashed and dropped before
    /// the next), then goes on to submit. Returns when hashing ends (done, failed or
    /// cancelled with `cancelHashing`).
    public func startHashing() async {
        guard step == .review, !entries.isEmpty else { return }
        step = .hashing
        notice = nil
        error = nil
        let token = CancelToken()
        self.token = token
        let task = Task { await self.hashAll(token) }
        hashing = task
        await task.value
        hashing = nil
        self.token = nil
    }

    /// Stops hashing: back to review, nothing sent.
    public func cancelHashing() {
        guard step == .hashing else { return }
        token?.cancel()
        hashing?.cancel()
    }

    private func hashAll(_ token: CancelToken) async {
        progress = Progress(done: entries.filter { $0.hashed != nil }.count, total: entries.count)
        do {
            while let i = entries.firstIndex(where: { $0.hashed == nil }) {
                try Task.checkCancellation()
                let item = entries[i].item
                let hashed: HashedItem
                var failure: L10nKey?
                do {
                    // One decoded item alive at a time: `input` goes out of scope before the next.
                    let input = try await source.input(for: item)
                    hashed = try await core.hashItemCancellable(item: input, cancel: token)
                } catch where !isCancellation(error) {
                    // The platform could not decode it (or a video is over the limits).
                    if case TakedownError.LimitExceeded = error { failure = .reviewTooLarge }
                    hashed = HashedItem(index: UInt32(i), fingerprint: nil,
                                        error: ItemError(kind: .unreadable, reason: ""), duplicateGroup: nil)
                }
                // The item may have been removed meanwhile (not on this screen, but be safe).
                guard let j = entries.firstIndex(where: { $0.id == item.id }) else { continue }
                entries[j].hashed = hashed
                entries[j].warning = failure ?? warning(for: hashed)
                progress = Progress(done: entries.filter { $0.hashed != nil }.count, total: entries.count)
            }
            try Task.checkCancellation()
        } catch {
            notice = Message(.hashingCancelled)
            step = .review
            return
        }
        if entries.contains(where: \.sendable) {
            step = .submit
        } else {
            error = Message(.reviewUnreadable)
            step = .review
        }
    }

    /// Sends the fingerprints. A new case is queued with a request id kept for this
    /// selection (so a second tap or a retry never opens a second case), then the queue
    /// is flushed: online the case number comes back; offline the case stays queued and
    /// is sent later. "Add more" adds the items to the case.
    public func send() async {
        guard step == .submit, !sending else { return }
        let items = entries.compactMap { $0.hashed?.fingerprint }.map { SubmitItem(fingerprint: $0, label: nil) }
        guard !items.isEmpty else { return }
        sending = true
        defer { sending = false }
        error = nil
        notice = nil
        let core = self.core
        switch mode {
        case .newCase:
            guard let answers else { step = .eligibility; return }
            let rid = requestId ?? UUID().uuidString
            requestId = rid
            let record: CaseRecord
            do {
                record = try await offMain { try core.queueCase(requestId: rid, answers: answers, items: items) }
            } catch TakedownError.NotEligible(let reasons) {
                ineligibleReasons = reasons.map(reasonKey)
                step = .notEligible
                return
            } catch {
                self.error = userMessage(for: error)
                return
            }
            caseId = record.id
            clearSelection()
            apply(record)
            step = .caseNumber
            var offline = false
            do {
                offline = try await core.flushCancellable().offline
            } catch {
                offline = true
            }
            await refreshCase()
            if queued { notice = Message(offline ? .submitOffline : .submitQueued) }
        case .addTo(let caseId):
            do {
                let out = try await core.addItems(caseId: caseId, items: items)
                clearSelection()
                if !out.sent { notice = Message(out.flush.offline ? .submitOffline : .submitQueued) }
                step = .finished
                await onFinished?()
            } catch {
                self.error = userMessage(for: error)
            }
        }
    }

    /// Re-reads the queued case (the change listener calls this when the queue moved).
    public func refreshCase() async {
        guard let caseId else { return }
        let core = self.core
        if let record = try? await offMain({ try core.caseDetail(caseId: caseId).case }) {
            apply(record)
            if !queued, notice?.key == .submitOffline || notice?.key == .submitQueued { notice = nil }
        }
    }

    private func apply(_ record: CaseRecord) {
        caseNumber = record.caseNumber
        recoveryKey = record.recoveryKey
        queued = record.state == .pending
        if record.state == .rejected {
            error = Message(.submitRejected, .text(record.rejection ?? ""))
        }
    }

    /// Goes one screen back; `false` when the flow itself should close.
    public func back() -> Bool {
        switch step {
        case .eligibility: return false
        case .notEligible: step = .eligibility
        case .pick:
            if !entries.isEmpty { step = .review } else if mode == .newCase { step = .eligibility } else { return false }
        case .review: step = .pick
        case .hashing: cancelHashing()
        case .submit: step = .review
        case .caseNumber, .finished: return false
        }
        return true
    }

    /// Drops the selection (thumbnails, fingerprints) and stops any work.
    public func clear() {
        cancelHashing()
        clearSelection()
    }

    private func clearSelection() {
        for e in entries { source.discard(e.item) }
        entries = []
        progress = Progress(done: 0, total: 0)
    }

    private func changedSelection() {
        requestId = nil  // a different selection is a different "send"
        progress = Progress(done: entries.filter { $0.hashed != nil }.count, total: entries.count)
    }
}
