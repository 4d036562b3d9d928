package org.takedown.core

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.security.SecureRandom
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * The whole phone flow through the generated Kotlin API, against the real hash-list
 * service on loopback (started by scripts/kotlin-tests.sh): hash with progress, submit,
 * restart the core object, a platform reports a match, refresh status, add an item,
 * withdraw it; plus eligibility, cancellation, offline queueing and a wrong key.
 */
class TakedownFlowTest {
    private val fixtures = File(System.getProperty("takedown.fixtures") ?: "tests/fixtures")
    private val service: String = System.getProperty("takedown.service")
        ?: error("takedown.service is not set: run through scripts/kotlin-tests.sh")
    private val platformKey: String = System.getProperty("takedown.platformKey")
        ?: error("takedown.platformKey is not set: run through scripts/kotlin-tests.sh")
    private val http = HttpClient.newHttpClient()

    /** The host's key store, implemented in Kotlin (Android would use the Keystore). */
    class MemoryKeys(var key: ByteArray? = null) : KeyProvider {
        override fun loadKey(): ByteArray? = key
        override fun storeKey(key: ByteArray) { this.key = key }
        override fun deleteKey() { key = null }
    }

    class RecordingProgress : HashProgress {
        val calls = CopyOnWriteArrayList<Pair<UInt, UInt>>()
        override fun onProgress(done: UInt, total: UInt) { calls.add(done to total) }
    }

    private fun tempDir(): String = Files.createTempDirectory("takedown-kt").toString()
    private fun bytes(name: String) = File(fixtures, "images/$name").readBytes()
    private val eligible = EligibilityAnswers(AgeWhenMade.UNDER18, SubmitterRole.PERSON_SHOWN)

    private fun get(path: String, key: String): String {
        val req = HttpRequest.newBuilder(URI.create(service + path)).header("Authorization", "Bearer $key").GET().build()
        val res = http.send(req, HttpResponse.BodyHandlers.ofString())
        assertEquals(res.body(), 200, res.statusCode())
        return res.body()
    }

    private fun post(path: String, key: String, body: String): Int {
        val req = HttpRequest.newBuilder(URI.create(service + path))
            .header("Authorization", "Bearer $key").header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build()
        return http.send(req, HttpResponse.BodyHandlers.ofString()).statusCode()
    }

    @Test
    fun fullFlowSurvivesARestart() = runBlocking {
        val dir = tempDir()
        val keys = MemoryKeys()
        var app = Takedown.open(dir, service, keys)
        val progress = RecordingProgress()
        val hashed = app.hashSelection(
            listOf(
                MediaInput.ImageBytes(bytes("scene.jpg")),
                MediaInput.ImageFile(File(fixtures, "images/scene-127x97.png").path),
                MediaInput.ImageBytes("not a picture".toByteArray()),
            ),
            progress, null,
        )
        assertEquals(3, hashed.size)
        val photo = hashed[0].fingerprint ?: error("photo not hashed: ${hashed[0].error}")
        val second = hashed[1].fingerprint!!
        assertEquals(64, photo.pdq!!.length)
        assertNull(hashed[2].fingerprint)
        assertEquals(ItemErrorKind.INVALID_MEDIA, hashed[2].error!!.kind)
        assertTrue("progress reported", progress.calls.isNotEmpty())
        assertEquals(3u to 3u, progress.calls.last())

        val outcome = app.submitCase("req-flow", eligible, listOf(SubmitItem(photo, "from the beach")))
        assertTrue(outcome.sent)
        val caseNumber = outcome.caseNumber ?: error("no case number")
        app.close()

        // The app process dies and comes back: history and secrets are still there.
        app = Takedown.open(dir, service, keys)
        val cases = app.listCases()
        assertEquals(1, cases.size)
        assertEquals(caseNumber, cases[0].caseNumber)
        val items = app.listItems(outcome.caseId)
        assertEquals(listOf("from the beach"), items.map { it.label })
        assertEquals(photo.sha256, items[0].sha256)

        // A platform syncs the list and reports a match and a removal.
        val page = get("/v1/sync?cursor=0&limit=1000", platformKey)
        val itemId = Regex("\"item_id\":(\\d+)[^}]*\"sha256\":\"${photo.sha256}\"").find(page)?.groupValues?.get(1)
            ?: error("submitted item not in the sync page: $page")
        val nonce = SecureRandom().nextLong().toULong().toString(16)
        val status = post(
            "/v1/feedback", platformKey,
            """{"events":[{"event_id":"kt-$nonce-m","item_id":$itemId,"outcome":"matched"},""" +
                """{"event_id":"kt-$nonce-r","item_id":$itemId,"outcome":"removed"}]}""",
        )
        assertEquals(200, status)
        val changes = app.refreshStatus(outcome.caseId)
        assertEquals(1u, changes.newMatches)
        assertEquals(1u, changes.newRemovals)
        assertTrue(changes.hasChanges)
        app.markSeen(outcome.caseId)
        assertFalse(app.changesSinceSeen().any { it.caseId == outcome.caseId && it.hasChanges })
        val view = app.caseStatus(outcome.caseId)!!
        assertEquals(caseNumber, view.caseNumber)
        assertTrue(view.active)

        // Add a picture later, then withdraw it.
        val added = app.addItems(outcome.caseId, listOf(SubmitItem(second, null)))
        assertTrue(added.sent)
        assertEquals(1, added.itemIds.size)
        val report = app.withdrawItem(added.itemIds[0])
        assertEquals(0u, report.pending)
        val after = app.listItems(outcome.caseId).first { it.id == added.itemIds[0] }
        assertEquals(HistoryItemState.WITHDRAWN, after.state)
        assertEquals(0u, app.pendingOperations())
        app.close()
    }

    @Test
    fun notEligibleSendsNothing() = runBlocking {
        val app = Takedown.open(tempDir(), service, MemoryKeys())
        val f = app.hashSelection(listOf(MediaInput.ImageBytes(bytes("scene.jpg"))), null, null)[0].fingerprint!!
        val verdict = checkEligibility(EligibilityAnswers(AgeWhenMade.ADULT, SubmitterRole.PERSON_SHOWN))
        assertFalse(verdict.eligible)
        assertEquals(listOf(IneligibleReason.ADULT_WHEN_MADE), verdict.reasons)
        try {
            app.submitCase("req-ne", EligibilityAnswers(AgeWhenMade.UNDER18, SubmitterRole.SOMEONE_ELSE), listOf(SubmitItem(f, null)))
            fail("expected NotEligible")
        } catch (e: TakedownException.NotEligible) {
            assertEquals(listOf(IneligibleReason.SUBMITTER_NOT_ENTITLED), e.reasons)
        }
        assertTrue(app.listCases().isEmpty())
        app.close()
    }

    @Test
    fun cancelledHashingStops() = runBlocking {
        val app = Takedown.open(tempDir(), service, MemoryKeys())
        val cancel = CancelToken()
        cancel.cancel()
        try {
            app.hashSelection(List(20) { MediaInput.ImageBytes(bytes("scene.jpg")) }, null, cancel)
            fail("expected Cancelled")
        } catch (e: TakedownException.Cancelled) {
        }
        assertTrue(cancel.isCancelled())
        app.close()
    }

    @Test
    fun offlineSubmissionIsQueuedAndSentLater() = runBlocking {
        val dir = tempDir()
        val keys = MemoryKeys()
        // Nothing listens on port 9 of loopback: the phone is "offline".
        var app = Takedown.open(dir, "http://127.0.0.1:9", keys)
        val f = app.hashSelection(listOf(MediaInput.ImageBytes(bytes("scene.gif"))), null, null)[0].fingerprint!!
        val queued = app.submitCase("req-offline", eligible, listOf(SubmitItem(f, null)))
        assertFalse(queued.sent)
        assertTrue(queued.flush.offline)
        assertEquals(1u, app.pendingOperations())
        app.close()
        // Back online (the same history, now pointed at the service): the flush sends it once.
        app = Takedown.open(dir, service, keys)
        val report = app.flush()
        assertEquals(1u, report.sent)
        assertEquals(0u, app.pendingOperations())
        assertNotNull(app.listCases()[0].caseNumber)
        app.close()
    }

    @Test
    fun wrongKeyIsAClearError() {
        val dir = tempDir()
        val keys = MemoryKeys()
        Takedown.open(dir, service, keys).close()
        assertNotNull(keys.key)
        val other = ByteArray(keys.key!!.size).also { SecureRandom().nextBytes(it) }
        try {
            Takedown.open(dir, service, MemoryKeys(other)).close()
            fail("expected WrongKey")
        } catch (e: TakedownException.WrongKey) {
        }
    }
}
