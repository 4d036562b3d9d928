package org.takedown.app.viewmodel

import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.takedown.core.CaseState
import org.takedown.core.HistoryItemState
import org.takedown.core.SubmitterRole

/** The case number and recovery key: shown after sending, and restoring a case on another phone. */
class RestoreTest {
    private val keyShape = Regex("[0-9A-Z]{5}(-[0-9A-Z]{5}){6}")

    /** Sends a report with `names` and returns (case number, recovery key) as the screen shows them. */
    private fun report(t: TestApp, vararg names: String): Pair<String, String> = runBlocking {
        if (t.vm.screen.value == Screen.Opening) t.start()
        t.vm.openEligibility()
        t.vm.eligibility.setAge(AgeAnswer.YES)
        t.vm.eligibility.setRole(SubmitterRole.PERSON_SHOWN)
        t.vm.eligibility.setHasPictures(true)
        t.vm.eligibility.submit()
        t.vm.report.onPicked(names.map { FixtureSource.image(it) })
        t.vm.report.startHashing()
        await(t.vm.screen) { it == Screen.Submit }
        t.vm.report.send()!!.join()
        assertEquals(Screen.CaseNumber, t.vm.screen.value)
        val r = t.vm.report.state.value.result!!
        r.caseNumber!! to r.recoveryKey!!
    }

    /** The key with one symbol of group `group` (1-based) replaced by another. */
    private fun mistype(key: String, group: Int): String {
        val alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
        val i = (group - 1) * 6 + 2
        val c = key[i]
        val other = alphabet[(alphabet.indexOf(c) + 7) % alphabet.length]
        return key.substring(0, i) + other + key.substring(i + 1)
    }

    @Test
    fun theRecoveryKeyIsShownWithTheCaseNumberAlsoOffline() = withApp { t ->
        val (_, key) = report(t, "scene.jpg")
        assertTrue(key, keyShape.matches(key))
        t.vm.report.done()
        // Queued offline: the key is there before the case number.
        t.network.mode = Network.Mode.DOWN
        t.vm.openEligibility()
        t.vm.eligibility.setAge(AgeAnswer.YES)
        t.vm.eligibility.setRole(SubmitterRole.PERSON_SHOWN)
        t.vm.eligibility.setHasPictures(true)
        t.vm.eligibility.submit()
        t.vm.report.onPicked(listOf(FixtureSource.image("scene.gif")))
        t.vm.report.startHashing()
        runBlocking { await(t.vm.screen) { it == Screen.Submit }; t.vm.report.send()!!.join() }
        val queued = t.vm.report.state.value.result!!
        assertNull(queued.caseNumber)
        assertTrue(keyShape.matches(queued.recoveryKey!!))
        assertTrue(queued.recoveryKey != key)
    }

    @Test
    fun aMistypedGroupStaysOnTheScreenAndNamesTheGroup() = withApp { t ->
        val (number, key) = report(t, "scene.jpg")
        t.vm.report.done()
        t.vm.openRestore()
        assertEquals(Screen.Restore, t.vm.screen.value)
        val r = t.vm.restore
        r.setCaseNumber(number)
        r.setRecoveryKey(mistype(key, 3))
        assertEquals(null, r.restore())
        assertEquals(Screen.Restore, t.vm.screen.value)
        assertEquals(UiText(Keys.RESTORE_BAD_KEY, 3), r.state.value.message)
        r.setRecoveryKey(mistype(key, 7))
        r.restore()
        assertEquals(UiText(Keys.RESTORE_BAD_KEY, 7), r.state.value.message)
        r.setRecoveryKey(key.dropLast(6))
        r.restore()
        assertEquals(UiText(Keys.RESTORE_KEY_LENGTH), r.state.value.message)
        // Typing again clears the message.
        r.setRecoveryKey(key)
        assertNull(r.state.value.message)
        assertEquals(Screen.Restore, t.vm.screen.value)
    }

    @Test
    fun aGoodKeyRestoresTheCaseOnAnotherPhoneWhereWithdrawWorks() {
        val (number, key, other) = TestApp().use { a ->
            val (n, k) = report(a, "scene.jpg", "scene.gif")
            a.vm.report.done()
            val (_, k2) = report(a, "scene-320x240.png")
            Triple(n, k, k2)
        }
        withApp { b ->
            b.start()
            b.vm.openRestore()
            val r = b.vm.restore
            // A well-formed key of another case: not found, nothing restored.
            r.setCaseNumber(number)
            r.setRecoveryKey(other)
            runBlocking { r.restore()!!.join() }
            assertEquals(Screen.Restore, b.vm.screen.value)
            assertEquals(UiText(Keys.RESTORE_NOT_FOUND), r.state.value.message)
            assertTrue(b.core.listCases().isEmpty())
            // The right key, typed the way people type: lower case, spaces, O for 0.
            r.setRecoveryKey(key.lowercase().replace("-", " ").replace('0', 'o'))
            runBlocking { r.restore()!!.join() }
            val caseId = b.core.listCases().single().id
            assertEquals(Screen.CaseDetail(caseId), b.vm.screen.value)
            assertEquals(RestoreState(), r.state.value)
            var d = runBlocking { await(b.vm.detail.state) { it.items.size == 2 && !it.busy } }
            assertEquals(number, d.caseNumber)
            assertEquals(key, d.recoveryKey)
            assertEquals(CaseState.OPEN, d.state)
            // Withdraw one picture, then the whole report, from the restored case.
            runBlocking { b.vm.detail.withdrawItem(d.items[0].itemId)!!.join() }
            d = b.vm.detail.state.value
            assertNull(d.message)
            assertEquals(HistoryItemState.WITHDRAWN, d.items[0].state)
            b.vm.detail.askWithdrawAll()
            runBlocking { b.vm.detail.confirmWithdrawAll()!!.join() }
            assertEquals(CaseState.WITHDRAWN, b.vm.detail.state.value.state)
            assertEquals(0u, b.core.pendingOperations())
        }
    }

    @Test
    fun restoreAfterDeleteEverythingAndOffline() = withApp { t ->
        val (number, key) = report(t, "scene.jpg")
        t.vm.openSettings()
        t.vm.settings.askDelete()
        runBlocking { t.vm.settings.confirmDelete()!!.join(); await(t.vm.screen) { it == Screen.Start } }
        assertTrue(t.core.listCases().isEmpty())
        t.vm.openRestore()
        t.vm.restore.setCaseNumber(" $number ")
        t.vm.restore.setRecoveryKey(key)
        t.network.mode = Network.Mode.DOWN
        runBlocking { t.vm.restore.restore()!!.join() }
        assertEquals(UiText(Keys.RESTORE_OFFLINE), t.vm.restore.state.value.message)
        assertEquals(Screen.Restore, t.vm.screen.value)
        t.network.mode = Network.Mode.FORWARD
        runBlocking { t.vm.restore.restore()!!.join() }
        val d = runBlocking { await(t.vm.detail.state) { it.caseNumber != null && !it.busy } }
        assertEquals(number, d.caseNumber)
        assertEquals(1, d.items.size)
    }
}
