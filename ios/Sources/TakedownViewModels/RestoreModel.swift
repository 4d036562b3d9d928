// "I already have a case number": brings a case back from its number and recovery key
// (after "delete everything", a reinstall, on a new phone).
import Foundation
import Observation
import TakedownCore

/// The restore screen.
@Observable
@MainActor
public final class RestoreModel {
    /// The case number as typed.
    public var caseNumber = ""
    /// The recovery key as typed (any case, spaces or dashes).
    public var recoveryKey = ""
    /// What is wrong; the screen stays.
    public private(set) var error: Message?
    /// The group (1–7) of the key to look at again, to highlight it.
    public private(set) var mistypedGroup: Int?
    /// `true` while asking the service.
    public private(set) var restoring = false
    /// The local id of the restored case.
    public private(set) var restoredCaseId: Int64?

    /// Runs once a case came back (the app opens it).
    var onRestored: (@MainActor (Int64) async -> Void)?

    private let core: Takedown

    /// The restore screen over `core`.
    public init(core: Takedown) { self.core = core }

    /// Whether both fields hold something.
    public var canRestore: Bool {
        !restoring && !caseNumber.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            && !recoveryKey.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }

    /// Checks the key on the phone first (a mistyped group is named, nothing is sent),
    /// then asks the service; on success the case is in this history.
    public func restore() async {
        guard canRestore else { return }
        error = nil
        mistypedGroup = nil
        let number = caseNumber.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        restoring = true
        defer { restoring = false }
        do {
            let key = try normalizeRecoveryKey(input: recoveryKey)
            let record = try await core.restoreCaseCancellable(caseNumber: number, recoveryKey: key)
            restoredCaseId = record.id
            await onRestored?(record.id)
        } catch TakedownError.RecoveryKeyInvalid(let group) {
            mistypedGroup = group > 0 ? Int(group) : nil
            error = userMessage(for: TakedownError.RecoveryKeyInvalid(group: group))
        } catch TakedownError.Offline {
            error = Message(.restoreOffline)
        } catch TakedownError.ServiceRejected, TakedownError.InvalidInput {
            // Unknown case, wrong key, not a case number (or too many tries).
            error = Message(.restoreNotFound)
        } catch {
            self.error = userMessage(for: error)
        }
    }
}
