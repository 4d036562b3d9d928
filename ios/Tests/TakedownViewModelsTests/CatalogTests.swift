// Every key the view models can emit exists in the String Catalog, in English and
// German, with plural forms where the text counts; and each error maps to its key.
import Foundation
import XCTest
import TakedownCore
@testable import TakedownViewModels

/// The catalog's problems for `keys`: missing keys, missing languages, missing plural
/// forms of counting texts.
func catalogProblems(_ catalog: [String: Any], keys: [L10nKey]) -> [String] {
    let strings = catalog["strings"] as? [String: Any] ?? [:]
    var out: [String] = []
    let plurals: Set<L10nKey> = [.reviewCount, .detailSeenBy, .detailFoundOn, .detailRemovedOn]
    for key in keys {
        guard let entry = strings[key.rawValue] as? [String: Any] else { out.append("missing \(key.rawValue)"); continue }
        let locs = entry["localizations"] as? [String: Any] ?? [:]
        for lang in ["en", "de"] {
            guard let loc = locs[lang] as? [String: Any] else { out.append("\(key.rawValue): no \(lang)"); continue }
            let forms = ((loc["variations"] as? [String: Any])?["plural"] as? [String: Any])
            if plurals.contains(key) {
                if forms?["one"] == nil || forms?["other"] == nil { out.append("\(key.rawValue): \(lang) plural forms") }
            } else if (loc["stringUnit"] as? [String: Any])?["value"] as? String == nil {
                out.append("\(key.rawValue): \(lang) has no text")
            }
        }
    }
    return out
}

final class CatalogTests: XCTestCase {
    var catalogURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../App/Resources/Localizable.xcstrings").standardized
    }

    func testEveryKeyTheViewModelsEmitIsInTheStringCatalog() throws {
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: catalogURL)) as? [String: Any])
        XCTAssertEqual(catalogProblems(json, keys: L10nKey.allCases), [])
        // The check itself fails on a catalog that lacks a key or a language.
        var broken = json
        var strings = try XCTUnwrap(broken["strings"] as? [String: Any])
        strings.removeValue(forKey: L10nKey.settingsDeletePending.rawValue)
        var entry = try XCTUnwrap(strings[L10nKey.errorOffline.rawValue] as? [String: Any])
        var locs = try XCTUnwrap(entry["localizations"] as? [String: Any])
        locs.removeValue(forKey: "de")
        entry["localizations"] = locs
        strings[L10nKey.errorOffline.rawValue] = entry
        broken["strings"] = strings
        XCTAssertEqual(catalogProblems(broken, keys: L10nKey.allCases),
                       ["missing settings_delete_pending", "error_offline: no de"])
    }

    func testEveryErrorMapsToItsCatalogKey() {
        let cases: [(TakedownError, Message)] = [
            (.Offline(reason: "timeout"), Message(.errorOffline)),
            (.ServiceRejected(code: "invalid_field", reason: "x"), Message(.submitRejected, .text("invalid_field"))),
            (.NotEligible(reasons: [.adultWhenMade]), Message(.notEligibleTitle)),
            (.InvalidMedia(reason: "x"), Message(.reviewUnreadable)),
            (.LimitExceeded(reason: "x"), Message(.reviewTooLarge)),
            (.InvalidInput(reason: "x"), Message(.errorUnexpected)),
            (.WrongKey, Message(.errorHistoryUnreadable)),
            (.Storage(reason: "x"), Message(.errorHistoryUnreadable)),
            (.Cancelled, Message(.hashingCancelled)),
            (.DeadlineExceeded, Message(.errorService)),
            (.WithdrawalsPending(count: 2), Message(.settingsDeletePending)),
            (.DiskFull, Message(.errorStorageFull)),
            (.KeyStoreUnavailable, Message(.errorKeyUnavailable)),
            (.TooNew(found: 9, known: 3), Message(.errorTooNew)),
            (.AlreadyOpen, Message(.errorUnexpected)),
            (.Other(reason: "x"), Message(.errorUnexpected)),
            (.RecoveryKeyInvalid(group: 3), Message(.restoreBadKey, .int(3))),
            (.RecoveryKeyInvalid(group: 0), Message(.restoreKeyLength)),
        ]
        for (error, want) in cases { XCTAssertEqual(userMessage(for: error), want, "\(error)") }
        XCTAssertEqual(userMessage(for: CancellationError()), Message(.hashingCancelled))
        XCTAssertEqual(userMessage(for: CocoaError(.fileNoSuchFile)), Message(.errorUnexpected))
        // A message never carries the core's text (it may name a limit or a code only).
        XCTAssertEqual(userMessage(for: TakedownError.Offline(reason: "secret")).args, [])
    }
}
