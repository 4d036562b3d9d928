// The core's key provider over the iOS Keychain. The item is readable after the first
// unlock since boot and never leaves this device (no iCloud Keychain, not in backups),
// so a BGTask flush can open the history while the phone is locked.
import Foundation
import Security
import TakedownCore

final class KeychainKeyProvider: KeyProvider, @unchecked Sendable {
    private let service = "org.takedown.history-key"
    private let account = "history"

    private var query: [String: Any] {
        [kSecClass as String: kSecClassGenericPassword,
         kSecAttrService as String: service,
         kSecAttrAccount as String: account]
    }

    func loadKey() throws -> Data? {
        var q = query
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var out: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &out)
        switch status {
        case errSecSuccess: return out as? Data
        case errSecItemNotFound: return nil
        case errSecInteractionNotAllowed: throw TakedownError.KeyStoreUnavailable  // before first unlock
        default: throw TakedownError.Other(reason: "keychain read \(status)")
        }
    }

    func storeKey(key: Data) throws {
        var q = query
        q[kSecValueData as String] = key
        q[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        q[kSecAttrSynchronizable as String] = false
        var status = SecItemAdd(q as CFDictionary, nil)
        if status == errSecDuplicateItem {
            status = SecItemUpdate(query as CFDictionary,
                                   [kSecValueData as String: key,
                                    kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly] as CFDictionary)
        }
        if status == errSecInteractionNotAllowed { throw TakedownError.KeyStoreUnavailable }
        guard status == errSecSuccess else { throw TakedownError.Other(reason: "keychain write \(status)") }
    }

    func deleteKey() throws {
        let status = SecItemDelete(query as CFDictionary)
        if status == errSecInteractionNotAllowed { throw TakedownError.KeyStoreUnavailable }
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw TakedownError.Other(reason: "keychain delete \(status)")
        }
    }
}
