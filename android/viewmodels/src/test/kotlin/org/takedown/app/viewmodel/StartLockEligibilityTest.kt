package org.takedown.app.viewmodel

import java.io.File
import java.security.SecureRandom
import javax.xml.parsers.DocumentBuilderFactory
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.takedown.core.TakedownException
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.takedown.core.AgeWhenMade
import org.takedown.core.SubmitterRole

/** Start, lock, eligibility, quick exit, an unreadable history, and the string keys. */
class StartLockEligibilityTest {
    @Test
    fun eligibleAnswersOpenThePicker() = withApp { t ->
        assertEquals(Screen.Start, t.start())
        t.vm.openEligibility()
        assertEquals(Screen.Eligibility, t.vm.screen.value)
        val e = t.vm.eligibility
        assertFalse(e.state.value.canContinue)
        e.submit() // not every question answered: stays
        assertEquals(Screen.Eligibility, t.vm.screen.value)
        e.setAge(AgeAnswer.YES)
        e.setRole(SubmitterRole.PARENT_OR_GUARDIAN)
        e.setHasPictures(true)
        assertTrue(e.state.value.canContinue)
        e.submit()
        assertEquals(Screen.Pick, t.vm.screen.value)
        val answers = t.vm.report.state.value.answers!!
        assertEquals(AgeWhenMade.UNDER18, answers.ageWhenMade)
        assertEquals(SubmitterRole.PARENT_OR_GUARDIAN, answers.submitter)
        // Back from the picker returns to the questions.
        t.vm.back()
        assertEquals(Screen.Eligibility, t.vm.screen.value)
    }

    @Test
    fun notEligibleShowsEveryReasonAndSendsNothing() = withApp { t ->
        t.start()
        t.vm.openEligibility()
        val e = t.vm.eligibility
        e.setAge(AgeAnswer.NO)
        e.setRole(SubmitterRole.SOMEONE_ELSE)
        e.setHasPictures(false)
        e.submit()
        assertEquals(Screen.NotEligible, t.vm.screen.value)
        assertEquals(
            listOf(Keys.NOT_ELIGIBLE_ADULT, Keys.NOT_ELIGIBLE_ROLE, Keys.NOT_ELIGIBLE_NO_PICTURES),
            e.state.value.reasons.map { it.key },
        )
        assertNull(t.vm.report.state.value.answers)
        t.vm.back()
        e.setAge(AgeAnswer.NOT_SURE)
        e.setRole(SubmitterRole.PERSON_SHOWN)
        e.setHasPictures(true)
        e.submit()
        assertEquals(Screen.NotEligible, t.vm.screen.value)
        assertEquals(listOf(Keys.NOT_ELIGIBLE_AGE_UNKNOWN), e.state.value.reasons.map { it.key })
        assertTrue(t.core.listCases().isEmpty())
        assertEquals(0u, t.core.pendingOperations())
    }

    @Test
    fun lockAsksOnOpenAndWhenComingBack() = withApp(lockEnabled = true) { t ->
        assertEquals(Screen.Lock, t.start())
        t.lock.answer = false
        runBlocking { t.vm.unlock().join() }
        assertEquals(Screen.Lock, t.vm.screen.value)
        t.lock.answer = true
        runBlocking { t.vm.unlock().join() }
        assertEquals(Screen.Start, t.vm.screen.value)
        t.vm.onBackgrounded()
        assertEquals(Screen.Lock, t.vm.screen.value)
        runBlocking { t.vm.unlock().join() }
        // The system picker covering the app is not leaving it.
        t.vm.onPickerOpened()
        t.vm.onBackgrounded()
        assertEquals(Screen.Start, t.vm.screen.value)
        t.vm.onPickerClosed()
        // Turning it off in settings: no lock on the way back any more.
        t.vm.openSettings()
        assertTrue(t.vm.settings.state.value.lockEnabled)
        runBlocking { t.vm.settings.setLock(false).join() }
        assertFalse(t.prefs.lockEnabled)
        t.vm.onBackgrounded()
        assertEquals(Screen.Settings, t.vm.screen.value)
    }

    @Test
    fun turningTheLockOnNeedsOneUnlock() = withApp { t ->
        assertEquals(Screen.Start, t.start())
        t.vm.openSettings()
        t.lock.answer = false
        runBlocking { t.vm.settings.setLock(true).join() }
        assertFalse(t.vm.settings.state.value.lockEnabled)
        assertFalse(t.prefs.lockEnabled)
        t.lock.answer = true
        runBlocking { t.vm.settings.setLock(true).join() }
        assertTrue(t.vm.settings.state.value.lockEnabled)
        assertTrue(t.prefs.lockEnabled)
        assertEquals(2, t.lock.asked.get())
        t.vm.settings.setNeutralIcon(true)
        assertTrue(t.prefs.neutralIcon)
        // The screen lock was removed from the device: no lock screen (it could never open).
        t.lock.available = false
        t.vm.onBackgrounded()
        assertEquals(Screen.Settings, t.vm.screen.value)
        runBlocking { t.vm.settings.setLock(false).join(); t.vm.settings.setLock(true).join() }
        assertFalse(t.prefs.lockEnabled)
        assertEquals(2, t.lock.asked.get())
    }

    @Test
    fun quickExitClearsEveryScreen() = withApp { t ->
        t.start()
        t.vm.openEligibility()
        t.vm.eligibility.setAge(AgeAnswer.YES)
        t.vm.eligibility.setRole(SubmitterRole.PERSON_SHOWN)
        t.vm.eligibility.setHasPictures(true)
        t.vm.eligibility.submit()
        t.vm.report.onPicked(listOf(FixtureSource.image("scene.jpg"), FixtureSource.image("scene.gif")))
        t.vm.report.startHashing()
        runBlocking { await(t.vm.screen) { it == Screen.Submit } }
        t.vm.settings.askDelete()
        t.vm.restore.setCaseNumber("TD-TYPED")
        assertEquals(2, t.vm.report.state.value.items.count { it.usable })
        t.vm.quickExit()
        assertEquals(Screen.Closed, t.vm.screen.value)
        assertEquals(ReportState(), t.vm.report.state.value)
        assertEquals(EligibilityState(), t.vm.eligibility.state.value)
        assertEquals(HistoryState(), t.vm.history.state.value)
        assertEquals(DetailState(), t.vm.detail.state.value)
        assertEquals(RestoreState(), t.vm.restore.state.value)
        assertEquals(DeleteStep.NONE, t.vm.settings.state.value.deleteStep)
        assertTrue(t.core.listCases().isEmpty())
    }

    @Test
    fun quickExitStopsHashing() = withApp { t ->
        t.start()
        t.vm.report.beginAddTo(-1)
        t.media.hold("image:scene.gif")
        t.vm.report.onPicked(listOf(FixtureSource.image("scene.jpg"), FixtureSource.image("scene.gif")))
        t.vm.report.startHashing()
        runBlocking { t.media.reached["image:scene.gif"]!!.await() }
        t.vm.quickExit()
        t.media.gates["image:scene.gif"]!!.complete(Unit)
        Thread.sleep(200)
        assertEquals(Screen.Closed, t.vm.screen.value)
        assertEquals(ReportState(), t.vm.report.state.value)
    }

    @Test
    fun anUnreadableHistoryCanBeWiped() {
        val keys = MemoryKeys()
        val dir = TestApp().use { t ->
            t.start()
            t.dir
        }
        // Another key: the history cannot be opened; nothing is changed until the user wipes it.
        keys.key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        TestApp(dir = dir, keys = keys).use { t ->
            val s = t.start()
            assertEquals(Screen.Unavailable(UiText(Keys.ERROR_HISTORY_UNREADABLE), canWipe = true), s)
            runBlocking { t.vm.wipeUnreadableHistory().join() }
            assertEquals(Screen.Start, t.vm.screen.value)
            assertTrue(t.core.listCases().isEmpty())
        }
    }

    @Test
    fun aNewerVersionsHistoryIsNeverWiped() {
        val s = Screen.Unavailable.of(TakedownException.TooNew(9u, 5u))
        assertFalse("update the app instead", s.canWipe)
        assertEquals(UiText(Keys.ERROR_TOO_NEW), s.message)
        assertFalse(Screen.Unavailable.of(TakedownException.KeyStoreUnavailable()).canWipe)
        assertTrue(Screen.Unavailable.of(TakedownException.WrongKey()).canWipe)
    }

    @Test
    fun everyKeyTheViewModelsUseExistsInBothLanguages() {
        fun keys(dir: String): Set<String> {
            val doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(File(Env.res, "$dir/strings.xml"))
            val root = doc.documentElement
            return (0 until root.childNodes.length).map { root.childNodes.item(it) }
                .filterIsInstance<org.w3c.dom.Element>().map { it.getAttribute("name") }.toSet()
        }
        val used = Keys::class.java.declaredFields.filter { it.type == String::class.java }.map { it.get(null) as String }
        assertTrue(used.size > 30)
        for (lang in listOf("values", "values-de")) {
            val have = keys(lang)
            val missing = used.filter { it !in have }
            assertTrue("$lang misses $missing", missing.isEmpty())
        }
    }
}
