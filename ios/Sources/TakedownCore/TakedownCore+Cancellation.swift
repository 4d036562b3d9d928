// Hand-written, committed: Swift `Task` cancellation for the core's long calls.
//
// The UniFFI-generated async functions wait on a continuation without a
// cancellation handler, so cancelling the calling `Task` does not reach Rust.
// These wrappers give each call its own `CancelToken` (a child of the one passed,
// so cancelling the caller's token still works and a finished call never cancels
// it) and cancel it from `withTaskCancellationHandler`: the Rust work stops and the
// call throws `TakedownError.Cancelled`. Use them from a `BGTask` too: set the
// task's `expirationHandler` to cancel the `Task`, or pass
// `CancelToken.withTimeoutMs(...)`.
import Foundation

/// Runs `body` with a fresh per-call token that a cancelled `Task` cancels.
public func withCoreCancellation<T>(
    _ parent: CancelToken?, _ body: (CancelToken) async throws -> T
) async throws -> T {
    let token = parent?.child() ?? CancelToken()
    return try await withTaskCancellationHandler {
        try Task.checkCancellation()
        return try await body(token)
    } onCancel: {
        token.cancel()
    }
}

extension Takedown {
    /// `flush` that stops when the calling `Task` is cancelled.
    public func flushCancellable(cancel: CancelToken? = nil) async throws -> FlushReport {
        try await withCoreCancellation(cancel) { try await self.flush(cancel: $0) }
    }

    /// `submitCase` that stops when the calling `Task` is cancelled (the case stays
    /// queued; retry with the same `requestId`).
    public func submitCaseCancellable(
        requestId: String, answers: EligibilityAnswers, items: [SubmitItem], cancel: CancelToken? = nil
    ) async throws -> SubmitOutcome {
        try await withCoreCancellation(cancel) {
            try await self.submitCase(requestId: requestId, answers: answers, items: items, cancel: $0)
        }
    }

    /// `refreshAll` that stops when the calling `Task` is cancelled.
    public func refreshAllCancellable(cancel: CancelToken? = nil) async throws -> [CaseChanges] {
        try await withCoreCancellation(cancel) { try await self.refreshAll(cancel: $0) }
    }

    /// `hashSelection` that stops when the calling `Task` is cancelled.
    public func hashSelectionCancellable(
        items: [MediaInput], progress: HashProgress?, cancel: CancelToken? = nil
    ) async throws -> [HashedItem] {
        try await withCoreCancellation(cancel) {
            try await self.hashSelection(items: items, progress: progress, cancel: $0)
        }
    }

    /// `restoreCase` that stops when the calling `Task` is cancelled.
    public func restoreCaseCancellable(
        caseNumber: String, recoveryKey: String, cancel: CancelToken? = nil
    ) async throws -> CaseRecord {
        try await withCoreCancellation(cancel) {
            try await self.restoreCase(caseNumber: caseNumber, recoveryKey: recoveryKey, cancel: $0)
        }
    }

    /// `hashItem` that stops when the calling `Task` is cancelled.
    public func hashItemCancellable(item: MediaInput, cancel: CancelToken? = nil) async throws -> HashedItem {
        try await withCoreCancellation(cancel) { try await self.hashItem(item: item, cancel: $0) }
    }
}
