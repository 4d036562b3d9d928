// Every error a screen can meet, mapped to a catalog key. The core's messages are for
// logs and bug reports; the user only ever sees catalog texts.
import TakedownCore

/// What the user is told about `error` (a `TakedownError`, a Swift
/// `CancellationError`, or anything else).
public func userMessage(for error: Error) -> Message {
    if error is CancellationError { return Message(.hashingCancelled) }
    guard let e = error as? TakedownError else { return Message(.errorUnexpected) }
    switch e {
    case .Offline: return Message(.errorOffline)
    case .DeadlineExceeded: return Message(.errorService)
    case .ServiceRejected(let code, _): return Message(.submitRejected, .text(code))
    case .NotEligible: return Message(.notEligibleTitle)
    case .InvalidMedia: return Message(.reviewUnreadable)
    case .LimitExceeded: return Message(.reviewTooLarge)
    case .Cancelled: return Message(.hashingCancelled)
    case .WithdrawalsPending: return Message(.settingsDeletePending)
    case .DiskFull: return Message(.errorStorageFull)
    case .KeyStoreUnavailable: return Message(.errorKeyUnavailable)
    case .TooNew: return Message(.errorTooNew)
    // The group to look at again; a key of the wrong length has no group to name.
    case .RecoveryKeyInvalid(let group):
        return group > 0 ? Message(.restoreBadKey, .int(Int(group))) : Message(.restoreKeyLength)
    // The saved history cannot be opened: it can be deleted and the cases restored.
    case .WrongKey, .Storage: return Message(.errorHistoryUnreadable)
    // A second open object, bad input or a bug: nothing the user can fix in place.
    case .AlreadyOpen, .InvalidInput, .Other: return Message(.errorUnexpected)
    }
}

/// Whether `error` means the work was cancelled (a `Task` or a `CancelToken`).
func isCancellation(_ error: Error) -> Bool {
    error is CancellationError || (error as? TakedownError) == .Cancelled
}

/// The warning of one hashed item, if any: unreadable, too large, or a weak
/// perceptual hash (only exact copies can be found).
public func warning(for hashed: HashedItem) -> L10nKey? {
    if let error = hashed.error {
        switch error.kind {
        case .invalidMedia, .unreadable, .incompleteFingerprint: return .reviewUnreadable
        }
    }
    guard let f = hashed.fingerprint else { return .reviewUnreadable }
    if f.lowQuality { return f.kind == .video ? .reviewVideoFewFrames : .reviewLowQuality }
    return nil
}

/// How a case's state reads in History and Case detail.
public func stateKey(_ state: CaseState) -> L10nKey {
    switch state {
    case .pending: return .stateQueued
    case .open: return .stateSent
    case .withdrawing, .withdrawn: return .stateWithdrawn
    case .rejected: return .stateRejected
    }
}

/// How an item's state reads in Case detail.
public func stateKey(_ state: HistoryItemState) -> L10nKey {
    switch state {
    case .pending: return .stateQueued
    case .active: return .stateSent
    case .withdrawing, .withdrawn: return .stateWithdrawn
    case .rejected: return .stateRejected
    }
}

/// The explanation of one reason a case cannot be opened.
public func reasonKey(_ reason: IneligibleReason) -> L10nKey {
    switch reason {
    case .adultWhenMade: return .notEligibleAdult
    case .ageUnknown: return .notEligibleAgeUnknown
    case .submitterNotEntitled: return .notEligibleRole
    }
}
