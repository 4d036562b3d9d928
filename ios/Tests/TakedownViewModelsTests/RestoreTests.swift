// Restore a case on another phone from its number and recovery key: a mistyped group
// keeps the screen and names the group; the right key brings the case back, and
// withdrawing works there.
import Foundation
import XCTest
import TakedownCore
@testable import TakedownViewModels

final class RestoreTests: ScreenTestCase {
    /// One symbol of a written key changed (a mistyped group).
    func mistype(_ key: String, at: Int) -> String {
        var c = Array(key)
        c[at] = c[at] == "7" ? "8" : "7"
        return String(c)
    }

    @MainActor
    func testRestoreNamesAMistypedGroupThenBringsTheCaseBackAndWithdrawWorks() async throws {
        let a = try harness()
        let first = try await reportToSubmit(a, ["scene-grey.png"])
        await first.send()
        XCTAssertEqual(a.app.screen, .caseNumber)
        let number = try XCTUnwrap(first.caseNumber)
        let key = try XCTUnwrap(first.recoveryKey, "shown with the case number")
        XCTAssertEqual(key.split(separator: "-").map(\.count), Array(repeating: 5, count: 7))
        await a.app.caseNumberSaved()
        let second = try await reportToSubmit(a, ["scene.tiff"])
        await second.send()
        let otherKey = try XCTUnwrap(second.recoveryKey)

        // A new phone.
        let b = try harness()
        await b.app.launch()
        b.app.openRestore()
        XCTAssertEqual(b.app.screen, .restore)
        let restore = try XCTUnwrap(b.app.restore)
        XCTAssertFalse(restore.canRestore)
        restore.caseNumber = number.lowercased()
        restore.recoveryKey = mistype(key, at: 14)  // group 3
        XCTAssertTrue(restore.canRestore)
        await restore.restore()
        XCTAssertEqual(b.app.screen, .restore, "stays on the screen")
        XCTAssertEqual(restore.error, Message(.restoreBadKey, .int(3)))
        XCTAssertEqual(restore.mistypedGroup, 3)

        restore.recoveryKey = String(key.dropLast(4))
        await restore.restore()
        XCTAssertEqual(b.app.screen, .restore)
        XCTAssertEqual(restore.error, Message(.restoreKeyLength))
        XCTAssertNil(restore.mistypedGroup)

        restore.recoveryKey = otherKey  // well-formed, but another case's key
        await restore.restore()
        XCTAssertEqual(b.app.screen, .restore)
        XCTAssertEqual(restore.error, Message(.restoreNotFound))
        XCTAssertEqual(try b.app.core?.listCases(), [])

        restore.recoveryKey = key.lowercased().replacingOccurrences(of: "-", with: " ")
        await restore.restore()
        XCTAssertEqual(b.app.screen, .detail, "the restored case opens")
        XCTAssertNil(b.app.restore)
        let detail = try XCTUnwrap(b.app.detail)
        XCTAssertEqual(detail.caseNumber, number)
        XCTAssertEqual(detail.recoveryKey, key)
        XCTAssertEqual(detail.state, .stateSent)
        XCTAssertEqual(detail.items.map(\.state), [.stateSent])
        XCTAssertTrue(detail.canWithdrawAll)

        await detail.withdraw(itemId: try XCTUnwrap(detail.items.first?.id))
        XCTAssertNil(detail.error)
        XCTAssertEqual(detail.items.map(\.state), [.stateWithdrawn])
        await detail.withdrawAll()
        XCTAssertNil(detail.error)
        XCTAssertEqual(detail.state, .stateWithdrawn)
        XCTAssertEqual(try b.app.core?.pendingOperations(), 0)
        await b.app.back()
        XCTAssertEqual(b.app.screen, .history)
        XCTAssertEqual(b.app.history?.rows.map(\.caseNumber), [number])
    }

    /// The key of the history is gone (a restored phone backup without its
    /// Keychain item): the start screen says so and offers to delete it; after
    /// that the case comes back with its number and recovery key.
    @MainActor
    func testAnUnreadableHistoryIsWipedThenItsCaseRestored() async throws {
        let h = try harness()
        var number = "", key = ""
        do {  // the flow holds the core: let it go before quick exit
            let flow = try await reportToSubmit(h, ["scene-grey.png"])
            await flow.send()
            number = try XCTUnwrap(flow.caseNumber)
            key = try XCTUnwrap(flow.recoveryKey)
        }
        weak var closedCore = h.app.core
        h.app.quickExit()
        try await eventually("the core released") { closedCore == nil }
        try h.keys.deleteKey()

        await h.app.launch()
        XCTAssertNil(h.app.core)
        XCTAssertEqual(h.app.startError, Message(.errorHistoryUnreadable))
        XCTAssertTrue(h.app.historyUnreadable)
        await h.app.wipeUnreadableHistory()
        XCTAssertNil(h.app.startError)
        XCTAssertFalse(h.app.historyUnreadable)
        XCTAssertEqual(try h.app.core?.listCases(), [], "an empty history")

        h.app.openRestore()
        let restore = try XCTUnwrap(h.app.restore)
        restore.caseNumber = number
        restore.recoveryKey = key
        await restore.restore()
        XCTAssertNil(restore.error)
        XCTAssertEqual(h.app.screen, .detail)
        XCTAssertEqual(try h.app.core?.listCases().first?.caseNumber, number)
    }
}
