package org.takedown.app.viewmodel

import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.takedown.core.MediaKind
import org.takedown.core.SubmitterRole

/** Pick, Review (remove, choose more), Hashing (progress, one at a time, warnings, cancel). */
class SelectionHashingTest {
    private fun eligible(t: TestApp) {
        t.start()
        t.vm.openEligibility()
        t.vm.eligibility.setAge(AgeAnswer.YES)
        t.vm.eligibility.setRole(SubmitterRole.PERSON_SHOWN)
        t.vm.eligibility.setHasPictures(true)
        t.vm.eligibility.submit()
        assertEquals(Screen.Pick, t.vm.screen.value)
    }

    @Test
    fun reviewRemovesAndAddsItems() = withApp { t ->
        eligible(t)
        val r = t.vm.report
        r.onPicked(emptyList()) // the picker was closed without a choice
        assertEquals(Screen.Pick, t.vm.screen.value)
        r.onPicked(listOf(FixtureSource.image("scene.jpg"), FixtureSource.image("scene.gif"), FixtureSource.image("scene-320x240.png")))
        assertEquals(Screen.Review, t.vm.screen.value)
        assertEquals(UiText.plural(Keys.REVIEW_COUNT, 3), r.state.value.countText)
        r.remove("image:scene.gif")
        assertEquals(listOf("image:scene.jpg", "image:scene-320x240.png"), r.state.value.items.map { it.ref.id })
        r.chooseMore()
        assertEquals(Screen.Pick, t.vm.screen.value)
        // The same item picked again is not added twice.
        r.onPicked(listOf(FixtureSource.image("scene.jpg"), FixtureSource.image("scene-grey.png")))
        assertEquals(listOf("image:scene.jpg", "image:scene-320x240.png", "image:scene-grey.png"), r.state.value.items.map { it.ref.id })
        // Nothing was decoded yet: review holds handles only.
        assertTrue(t.media.decoded.isEmpty())
        r.remove("image:scene.jpg"); r.remove("image:scene-320x240.png"); r.remove("image:scene-grey.png")
        assertEquals(Screen.Pick, t.vm.screen.value)
    }

    @Test
    fun hashingGoesOneItemAtATimeWithProgressAndWarnings() = withApp { t ->
        eligible(t)
        val r = t.vm.report
        val picked = listOf(
            FixtureSource.image("scene.jpg"),
            FixtureSource.image("flat-80x60.png"),
            FixtureSource.broken(1),
            FixtureSource.video("scene-320x240.png", 3),
            FixtureSource.image("scene-exif6.jpg"),
        )
        r.onPicked(picked)
        val seen = CopyOnWriteArrayList<HashingProgress>()
        val watcher = CoroutineScope(Dispatchers.Default)
        watcher.launch { r.state.collect { s -> s.progress?.let { seen += it } } }
        r.startHashing()
        assertEquals(Screen.Hashing, t.vm.screen.value)
        runBlocking { await(t.vm.screen) { it == Screen.Submit } }
        watcher.cancel()
        assertEquals(HashingProgress(0, 5), seen.first())
        assertTrue(seen.toString(), seen.contains(HashingProgress(4, 5)))
        assertEquals(UiText(Keys.HASHING_PROGRESS, 4, 5), HashingProgress(4, 5).text)
        assertNull(r.state.value.progress)
        // Every picture was decoded on its own, in order: never two in memory at once.
        assertEquals(1, t.media.maxInFlight.get())
        assertEquals(picked.map { it.id }, t.media.decoded.toList())
        val items = r.state.value.items
        assertEquals(5, items.size)
        assertNotNull(items[0].fingerprint); assertNull(items[0].warning)
        assertTrue(items[1].fingerprint!!.lowQuality)
        assertEquals(UiText(Keys.REVIEW_LOW_QUALITY), items[1].warning)
        assertNull(items[2].fingerprint)
        assertEquals(UiText(Keys.REVIEW_UNREADABLE), items[2].warning)
        val video = items[3].fingerprint!!
        assertEquals(MediaKind.VIDEO, video.kind)
        assertTrue(video.frames.size >= 1)
        assertNotNull(items[4].fingerprint)
        assertTrue(r.state.value.canSend)
        // A weak item can still be removed on the submit screen.
        r.remove("image:flat-80x60.png")
        assertEquals(4, r.state.value.items.size)
        assertEquals(Screen.Submit, t.vm.screen.value)
    }

    @Test
    fun cancelMidRunReturnsToReviewAndSendsNothing() = withApp { t ->
        eligible(t)
        val r = t.vm.report
        val picked = List(6) { FixtureSource.image(listOf("scene.jpg", "scene.gif", "scene-320x240.png", "scene.bmp", "scene-grey.png", "scene.tiff")[it]) }
        t.media.hold("image:scene.bmp")
        r.onPicked(picked)
        r.startHashing()
        runBlocking {
            await(r.state) { it.progress == HashingProgress(3, 6) }
            t.media.reached["image:scene.bmp"]!!.await()
        }
        assertEquals(Screen.Hashing, t.vm.screen.value)
        t.vm.back() // back on the hashing screen is cancel
        assertEquals(Screen.Review, t.vm.screen.value)
        t.media.gates["image:scene.bmp"]!!.complete(Unit)
        Thread.sleep(300)
        val s = r.state.value
        assertEquals(Screen.Review, t.vm.screen.value)
        assertEquals(UiText(Keys.HASHING_CANCELLED), s.message)
        assertNull(s.progress)
        assertEquals(picked, s.items.map { it.ref })
        assertFalse(s.items.any { it.usable })
        // Nothing after the cancelled item was decoded, nothing was stored or sent.
        assertFalse(t.media.decoded.contains("image:scene-grey.png"))
        assertTrue(t.core.listCases().isEmpty())
        assertEquals(0u, t.core.pendingOperations())
        // Hashing again works.
        r.startHashing()
        runBlocking { await(t.vm.screen) { it == Screen.Submit } }
        assertEquals(6, r.state.value.items.count { it.usable })
    }
}
