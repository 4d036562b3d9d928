package org.takedown.app.viewmodel

import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.takedown.core.CaseState
import org.takedown.core.HistoryItemState
import org.takedown.core.SubmitterRole

/**
 * Submit (online, offline → queued → sent when the network is back, refused → resubmit),
 * the case-number screen, history with what is new since the last visit after a platform's
 * feedback, case detail (add more, withdraw one, withdraw all, cancel a queued case),
 * delete everything with queued withdrawals, and the background flush.
 */
class SubmitHistoryTest {
    /** Start → eligibility → pick → hash → the submit screen. */
    private fun toSubmit(t: TestApp, vararg names: String) = runBlocking {
        if (t.vm.screen.value == Screen.Opening) t.start()
        t.vm.openEligibility()
        t.vm.eligibility.setAge(AgeAnswer.YES)
        t.vm.eligibility.setRole(SubmitterRole.PERSON_SHOWN)
        t.vm.eligibility.setHasPictures(true)
        t.vm.eligibility.submit()
        t.vm.report.onPicked(names.map { if (it.startsWith("unique:")) FixtureSource.unique(it.removePrefix("unique:")) else FixtureSource.image(it) })
        t.vm.report.startHashing()
        await(t.vm.screen) { it == Screen.Submit }
    }

    private fun send(t: TestApp) = runBlocking { t.vm.report.send()!!.join() }

    @Test
    fun onlineSubmitShowsTheCaseNumberOnce() = withApp { t ->
        toSubmit(t, "scene.jpg", "scene.gif")
        send(t)
        assertEquals(Screen.CaseNumber, t.vm.screen.value)
        val r = t.vm.report.state.value.result!!
        assertTrue(r.sent)
        assertTrue(r.caseNumber!!.isNotEmpty())
        assertNull(t.vm.report.state.value.message)
        assertEquals(r.caseNumber, t.core.listCases().single().caseNumber)
        // A second tap (or a retry) sends the same request: still one case.
        send(t)
        assertEquals(1, t.core.listCases().size)
        assertTrue(t.scheduler.times.isEmpty())
        // "I saved them" → history, the report is forgotten.
        t.vm.report.done()
        assertEquals(Screen.History, t.vm.screen.value)
        assertEquals(ReportState(), t.vm.report.state.value)
        val h = runBlocking { await(t.vm.history.state) { it.loaded && !it.refreshing && it.rows.isNotEmpty() } }
        assertEquals(UiText(Keys.STATE_SENT), h.rows.single().state)
        assertEquals(2, h.rows.single().itemCount)
    }

    @Test
    fun offlineSubmitIsQueuedAndSentWhenTheNetworkIsBack() = withApp { t ->
        toSubmit(t, "scene.jpg")
        t.network.mode = Network.Mode.DOWN
        send(t)
        assertEquals(Screen.CaseNumber, t.vm.screen.value)
        val queued = t.vm.report.state.value
        assertFalse(queued.result!!.sent)
        assertNull(queued.result!!.caseNumber)
        assertEquals(UiText(Keys.SUBMIT_OFFLINE), queued.message)
        assertEquals(1u, t.core.pendingOperations())
        // WorkManager is asked to try again at the core's next-attempt time.
        assertTrue(t.scheduler.times.isNotEmpty())
        // Tapping again while offline queues nothing new.
        send(t)
        assertEquals(1, t.core.listCases().size)
        assertEquals(1u, t.core.pendingOperations())
        // The network is back: the queue sends it and the screen shows the number.
        t.network.mode = Network.Mode.FORWARD
        t.vm.onConnectivityRestored()
        val sent = runBlocking { await(t.vm.report.state) { it.result?.caseNumber != null } }
        assertTrue(sent.result!!.sent)
        assertNull(sent.message)
        assertEquals(0u, t.core.pendingOperations())
    }

    @Test
    fun whatWasQueuedIsSentWhenTheAppOpensAgain() {
        val keys = MemoryKeys()
        val dir = TestApp(keys = keys).use { t ->
            toSubmit(t, "scene.gif")
            t.network.mode = Network.Mode.DOWN
            send(t)
            assertEquals(1u, t.core.pendingOperations())
            t.dir
        } // the process ends with the case queued
        TestApp(dir = dir, keys = keys).use { t ->
            assertEquals(Screen.Start, t.start())
            t.vm.openHistory()
            val h = runBlocking { await(t.vm.history.state) { it.rows.singleOrNull()?.caseNumber != null } }
            assertEquals(UiText(Keys.STATE_SENT), h.rows.single().state)
            assertEquals(0u, t.core.pendingOperations())
        }
    }

    @Test
    fun backgroundFlushHonoursTheRetryTimeAndSendsLater() = withApp { t ->
        toSubmit(t, "scene.gif")
        t.network.mode = Network.Mode.DOWN
        send(t)
        val scheduler = RecordingScheduler()
        val before = System.currentTimeMillis()
        val down = runBlocking { backgroundFlush(t.core, 5_000, scheduler, System.currentTimeMillis()) }
        assertEquals(1u, down.pending)
        assertTrue(down.offline)
        assertEquals(listOf(down.nextAttemptAtMs!!), scheduler.times.toList())
        assertTrue(scheduler.times[0] >= before - 1000)
        t.network.mode = Network.Mode.FORWARD
        val up = runBlocking { backgroundFlush(t.core, 5_000, scheduler, System.currentTimeMillis()) }
        assertEquals(1u, up.sent)
        assertEquals(0u, up.pending)
        assertEquals(1, scheduler.times.size) // nothing left: nothing scheduled
        // The screen learns it through the change listener.
        runBlocking { await(t.vm.report.state) { it.result?.caseNumber != null } }
    }

    @Test
    fun historyShowsWhatIsNewSinceTheLastVisit() = withApp { t ->
        toSubmit(t, "unique:scene.jpg")
        send(t)
        val number = t.vm.report.state.value.result!!.caseNumber!!
        t.vm.report.done()
        var h = runBlocking { await(t.vm.history.state) { it.loaded && !it.refreshing && it.rows.isNotEmpty() } }
        val caseId = h.rows.single().caseId
        // Open the case once: what it shows is seen.
        runBlocking { t.vm.openCase(caseId).join() }
        assertEquals(Screen.CaseDetail(caseId), t.vm.screen.value)
        assertEquals(number, t.vm.detail.state.value.caseNumber)
        assertEquals(UiText(Keys.DETAIL_TITLE, number), t.vm.detail.state.value.title)
        t.vm.back()
        assertEquals(Screen.History, t.vm.screen.value)
        h = runBlocking { await(t.vm.history.state) { it.loaded && !it.refreshing } }
        assertFalse(h.rows.single().isNew)
        assertFalse(h.hasNew)
        // A platform finds the picture and removes it.
        val sha = t.core.listItems(caseId).single().sha256!!
        Env.platformFeedback(sha, "matched", "removed")
        runBlocking { t.vm.history.refresh().join() }
        h = t.vm.history.state.value
        assertTrue(h.rows.single().isNew)
        assertTrue(h.hasNew)
        assertNull(h.message)
        assertNotNull(h.updatedAtMs)
        // The detail shows it per item, and opening marks it seen.
        runBlocking { t.vm.openCase(caseId).join() }
        val d = t.vm.detail.state.value
        val item = d.items.single()
        assertEquals(1, item.foundOn)
        assertEquals(1, item.removedOn)
        assertEquals(UiText.plural(Keys.DETAIL_FOUND_ON, 1), item.foundOnText)
        assertTrue(item.seenBy >= 0)
        assertEquals(1u, d.changes!!.newMatches)
        assertEquals(1u, d.changes!!.newRemovals)
        t.vm.back()
        h = runBlocking { await(t.vm.history.state) { it.loaded && !it.refreshing && it.rows.none { r -> r.isNew } } }
        assertFalse(h.hasNew)
    }

    @Test
    fun detailAddsMoreThenWithdrawsOneAndAll() = withApp { t ->
        toSubmit(t, "scene.jpg")
        send(t)
        val caseId = t.vm.report.state.value.result!!.caseId
        runBlocking { t.vm.openCase(caseId).join() }
        assertTrue(t.vm.detail.state.value.canAddMore)
        t.vm.detail.addMore()
        assertEquals(Screen.Pick, t.vm.screen.value)
        assertEquals(caseId, t.vm.report.state.value.addToCase)
        t.vm.report.onPicked(listOf(FixtureSource.image("scene-320x240.png")))
        t.vm.report.startHashing()
        runBlocking { await(t.vm.screen) { it == Screen.Submit } }
        send(t)
        assertEquals(Screen.CaseDetail(caseId), t.vm.screen.value)
        var d = runBlocking { await(t.vm.detail.state) { it.items.size == 2 && !it.busy } }
        assertTrue(d.items.all { it.state == HistoryItemState.ACTIVE && it.canWithdraw })
        assertEquals(listOf(UiText(Keys.DETAIL_ITEM_LABEL, 1), UiText(Keys.DETAIL_ITEM_LABEL, 2)), d.items.map { it.title })
        // Withdraw one picture.
        runBlocking { t.vm.detail.withdrawItem(d.items[1].itemId)!!.join() }
        d = t.vm.detail.state.value
        assertEquals(HistoryItemState.WITHDRAWN, d.items[1].state)
        assertEquals(UiText(Keys.STATE_WITHDRAWN), d.items[1].stateText)
        assertEquals(HistoryItemState.ACTIVE, d.items[0].state)
        assertNull(d.message)
        // Withdraw everything: asks first.
        t.vm.detail.askWithdrawAll()
        assertTrue(t.vm.detail.state.value.confirmWithdrawAll)
        t.vm.detail.dismissWithdrawAll()
        assertEquals(CaseState.OPEN, t.core.listCases().single().state)
        t.vm.detail.askWithdrawAll()
        runBlocking { t.vm.detail.confirmWithdrawAll()!!.join() }
        d = t.vm.detail.state.value
        assertEquals(CaseState.WITHDRAWN, d.state)
        assertEquals(UiText(Keys.STATE_WITHDRAWN), d.stateText)
        assertFalse(d.canWithdrawAll)
        assertFalse(d.confirmWithdrawAll)
        assertEquals(0u, t.core.pendingOperations())
    }

    @Test
    fun refusedReportCanBeResubmitted() = withApp { t ->
        toSubmit(t, "scene.jpg")
        t.network.mode = Network.Mode.REFUSE
        send(t)
        // Refused: the submit screen says so.
        assertEquals(Screen.Submit, t.vm.screen.value)
        assertEquals(UiText(Keys.SUBMIT_REJECTED, "invalid_field"), t.vm.report.state.value.message)
        val caseId = t.core.listCases().single().id
        t.network.mode = Network.Mode.FORWARD
        t.vm.report.done()
        val h = runBlocking { await(t.vm.history.state) { it.loaded && !it.refreshing && it.rows.isNotEmpty() } }
        assertEquals(UiText(Keys.STATE_REJECTED), h.rows.single().state)
        runBlocking { t.vm.openCase(caseId).join() }
        assertTrue(t.vm.detail.state.value.canResubmit)
        runBlocking { t.vm.detail.resubmit()!!.join() }
        val d = t.vm.detail.state.value
        assertEquals(CaseState.OPEN, d.state)
        assertNotNull(d.caseNumber)
        assertFalse(d.canResubmit)
        assertEquals(UiText(Keys.STATE_SENT), d.stateText)
    }

    @Test
    fun aQueuedCaseThatWasNeverTriedIsRemoved() = withApp { t ->
        // The app was killed after queueing, before any attempt to send.
        t.start()
        val f = runBlocking { t.core.hashItem(org.takedown.core.MediaInput.ImageFile(java.io.File(Env.fixtures, "images/scene.jpg").path)) }
        val case = t.core.queueCase("req-killed", org.takedown.core.EligibilityAnswers(org.takedown.core.AgeWhenMade.UNDER18, SubmitterRole.PERSON_SHOWN),
            listOf(org.takedown.core.SubmitItem(f.fingerprint!!, null)))
        runBlocking { t.vm.openCase(case.id).join() }
        val d = t.vm.detail.state.value
        assertEquals(UiText(Keys.STATE_QUEUED), d.stateText)
        assertTrue(d.canCancelQueued)
        runBlocking { t.vm.detail.cancelQueued()!!.join() }
        assertEquals(Screen.History, t.vm.screen.value)
        assertTrue(t.core.listCases().isEmpty())
        assertEquals(0u, t.core.pendingOperations())
        val h = runBlocking { await(t.vm.history.state) { it.loaded && !it.refreshing } }
        assertTrue(h.isEmpty)
    }

    @Test
    fun aQueuedCaseThatMayHaveArrivedIsWithdrawn() = withApp { t ->
        toSubmit(t, "scene.jpg")
        t.network.mode = Network.Mode.DOWN
        send(t)
        val caseId = t.vm.report.state.value.result!!.caseId
        runBlocking { t.vm.openCase(caseId).join() }
        // Loads triggered by the change listener may still be running: wait for the queued state.
        runBlocking { await(t.vm.detail.state) { it.caseId == caseId && it.canCancelQueued } }
        // A send was tried: the core cannot know whether it arrived, so it queues a withdrawal.
        runBlocking { t.vm.detail.cancelQueued()!!.join() }
        assertEquals(Screen.CaseDetail(caseId), t.vm.screen.value)
        val d = t.vm.detail.state.value
        assertEquals(CaseState.WITHDRAWING, d.state)
        assertEquals(UiText(Keys.STATE_WITHDRAWN), d.stateText)
        assertFalse(d.canCancelQueued)
        // Back online, the queue sends the case and its withdrawal.
        t.network.mode = Network.Mode.FORWARD
        t.vm.onConnectivityRestored()
        runBlocking { await(t.vm.detail.state) { it.state == CaseState.WITHDRAWN } }
        assertEquals(0u, t.core.pendingOperations())
    }

    @Test
    fun deleteEverythingWarnsAboutQueuedWithdrawals() = withApp { t ->
        toSubmit(t, "scene.jpg")
        send(t)
        val caseId = t.vm.report.state.value.result!!.caseId
        runBlocking { t.vm.openCase(caseId).join() }
        // Offline, a withdrawal is queued.
        t.network.mode = Network.Mode.DOWN
        val item = t.vm.detail.state.value.items.single().itemId
        runBlocking { t.vm.detail.withdrawItem(item)!!.join() }
        assertEquals(UiText(Keys.ERROR_OFFLINE), t.vm.detail.state.value.message)
        assertEquals(HistoryItemState.WITHDRAWING, t.vm.detail.state.value.items.single().state)
        val old = t.core
        t.vm.openSettings()
        val s = t.vm.settings
        s.askDelete()
        assertEquals(UiText(Keys.SETTINGS_DELETE_CONFIRM), s.state.value.deleteText)
        runBlocking { s.confirmDelete()!!.join() }
        assertEquals(DeleteStep.PENDING_WARNING, s.state.value.deleteStep)
        assertEquals(1, s.state.value.pendingWithdrawals)
        assertEquals(UiText(Keys.SETTINGS_DELETE_PENDING), s.state.value.deleteText)
        assertEquals(1, t.core.listCases().size) // nothing deleted yet
        runBlocking {
            s.deleteAnyway()!!.join()
            await(t.vm.screen) { it == Screen.Start }
        }
        assertEquals(DeleteStep.NONE, s.state.value.deleteStep)
        assertTrue(t.core !== old)
        assertTrue(t.core.listCases().isEmpty())
        assertEquals(DetailState(), t.vm.detail.state.value)
        // The new, empty history works.
        t.network.mode = Network.Mode.FORWARD
        toSubmit(t, "scene.gif")
        send(t)
        assertTrue(t.vm.report.state.value.result!!.sent)
    }

    @Test
    fun deleteEverythingWithoutQueuedWithdrawalsNeedsOneConfirm() = withApp { t ->
        toSubmit(t, "scene.jpg")
        send(t)
        t.vm.openSettings()
        t.vm.settings.askDelete()
        runBlocking {
            t.vm.settings.confirmDelete()!!.join()
            await(t.vm.screen) { it == Screen.Start }
        }
        assertTrue(t.core.listCases().isEmpty())
    }
}
