// Settings: the app lock, and "delete everything" with a warning when withdrawals are
// still queued.
import Foundation
import Observation
import TakedownCore

/// The settings screen.
@Observable
@MainActor
public final class SettingsModel {
    /// Where "delete everything" stands.
    public enum DeleteStep: Equatable, Sendable {
        /// Nothing asked.
        case idle
        /// "This removes your reports from this phone…": confirm or cancel.
        case confirm
        /// Withdrawals are still queued and would be lost: "delete anyway" or cancel.
        case pendingWarning(count: Int)
        /// Deleted; the app starts over.
        case deleted
    }

    /// Where "delete everything" stands.
    public private(set) var deleteStep: DeleteStep = .idle
    /// An error of the last action.
    public private(set) var error: Message?

    private let core: Takedown
    private let preferences: Preferences
    private let onDeleted: @MainActor () async -> Void

    /// Settings over `core` and `preferences`; `onDeleted` runs after the history was
    /// deleted (the app drops every screen and opens a fresh, empty core).
    public init(core: Takedown, preferences: Preferences, onDeleted: @escaping @MainActor () async -> Void) {
        self.core = core
        self.preferences = preferences
        self.onDeleted = onDeleted
    }

    /// The app lock (device credential or biometrics when the app opens or returns).
    public var lockEnabled: Bool {
        get { access(keyPath: \.lockEnabled); return preferences.lockEnabled }
        set { withMutation(keyPath: \.lockEnabled) { preferences.lockEnabled = newValue } }
    }

    /// The neutral icon ("Notes") instead of the app's own, for a shared phone.
    public var neutralIcon: Bool {
        get { access(keyPath: \.neutralIcon); return preferences.neutralIcon }
        set { withMutation(keyPath: \.neutralIcon) { preferences.neutralIcon = newValue } }
    }

    /// The texts of the current delete step.
    public var deleteMessage: Message? {
        switch deleteStep {
        case .idle, .deleted: return nil
        case .confirm: return Message(.settingsDeleteConfirm)
        case .pendingWarning: return Message(.settingsDeletePending)
        }
    }

    /// "Delete everything on this phone": asks first.
    public func requestDelete() {
        error = nil
        deleteStep = .confirm
    }

    /// Cancels the delete dialog.
    public func cancelDelete() {
        if deleteStep != .deleted { deleteStep = .idle }
    }

    /// Confirmed: deletes, unless withdrawals are still queued (then warns).
    public func confirmDelete() async {
        guard deleteStep == .confirm else { return }
        await delete(force: false)
    }

    /// "Delete anyway" after the warning.
    public func deleteAnyway() async {
        guard case .pendingWarning = deleteStep else { return }
        await delete(force: true)
    }

    private func delete(force: Bool) async {
        let core = self.core
        do {
            try await offMain { try core.deleteEverything(force: force) }
            deleteStep = .deleted
            await onDeleted()
        } catch TakedownError.WithdrawalsPending(let count) {
            deleteStep = .pendingWarning(count: Int(count))
        } catch {
            self.error = userMessage(for: error)
            deleteStep = .idle
        }
    }
}
