// The app lock: Face ID / Touch ID, falling back to the device passcode.
import Foundation
import LocalAuthentication
import UIKit
import TakedownViewModels

final class DeviceOwnerAuthenticator: LockAuthenticator, @unchecked Sendable {
    func authenticate() async -> Bool {
        let context = LAContext()
        var error: NSError?
        // No passcode set: nothing to check against; the lock cannot protect anything.
        guard context.canEvaluatePolicy(.deviceOwnerAuthentication, error: &error) else { return true }
        return (try? await context.evaluatePolicy(.deviceOwnerAuthentication,
                                                  localizedReason: L10nKey.lockTitle.text)) ?? false
    }
}

/// The app's settings in UserDefaults (the app's container is excluded from backups
/// where it matters: the history; the lock flag holds nothing personal).
final class UserDefaultsPreferences: Preferences {
    private let defaults = UserDefaults.standard

    var lockEnabled: Bool {
        get { defaults.bool(forKey: "lockEnabled") }
        set { defaults.set(newValue, forKey: "lockEnabled") }
    }

    /// iOS changes only the icon (the name under it is fixed at build time, already
    /// neutral); the system shows its own notice once.
    var neutralIcon: Bool {
        get { defaults.bool(forKey: "neutralIcon") }
        set {
            defaults.set(newValue, forKey: "neutralIcon")
            Task { @MainActor in
                guard UIApplication.shared.supportsAlternateIcons else { return }
                try? await UIApplication.shared.setAlternateIconName(newValue ? "AppIconNeutral" : nil)
            }
        }
    }
}
