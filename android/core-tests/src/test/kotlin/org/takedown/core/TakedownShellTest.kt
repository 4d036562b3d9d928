package org.takedown.core

import java.io.File
import java.net.ServerSocket
import java.nio.file.Files
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import javax.imageio.ImageIO
import kotlin.concurrent.thread
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * The calls the app shells need, through the generated Kotlin API, against the real
 * service on loopback and two tiny real loopback servers (one that never answers, one
 * that refuses every request with the service's JSON error): coroutine cancellation and
 * deadlines, async open, one object per process, idempotent queueing, the listener after
 * a background flush, the refused -> resubmit path, cancelling a queued case, the case
 * detail, "delete everything" with a withdrawal queued, the logger hook, typed errors and
 * host pixels at their original size.
 */
class TakedownShellTest {
    private val fixtures = File(System.getProperty("takedown.fixtures") ?: "tests/fixtures")
    private val service: String = System.getProperty("takedown.service")
        ?: error("takedown.service is not set: run through scripts/kotlin-tests.sh")
    private val eligible = EligibilityAnswers(AgeWhenMade.UNDER18, SubmitterRole.PERSON_SHOWN)

    class MemoryKeys(var key: ByteArray? = null) : KeyProvider {
        override fun loadKey(): ByteArray? = key
        override fun storeKey(key: ByteArray) { this.key = key }
        override fun deleteKey() { key = null }
    }

    class CountingListener : ChangeListener {
        val changes = CopyOnWriteArrayList<Change>()
        override fun onChange(change: Change) { changes.add(change) }
    }

    class Lines : Logger {
        val lines = CopyOnWriteArrayList<String>()
        override fun log(level: LogLevel, target: String, message: String) { lines.add("$level $target $message") }
    }

    private fun tempDir(): String = Files.createTempDirectory("takedown-kt-shell").toString()
    private fun bytes(name: String) = File(fixtures, "images/$name").readBytes()

    /** A loopback server that accepts connections and never answers. */
    private fun hangingServer(): String {
        val s = ServerSocket(0)
        thread(isDaemon = true) {
            val held = ArrayList<java.net.Socket>()
            while (true) { held.add(s.accept()) }
        }
        return "http://127.0.0.1:${s.localPort}"
    }

    /** A loopback server answering every request with the service's JSON refusal. */
    private fun refusingServer(): String {
        val s = ServerSocket(0)
        thread(isDaemon = true) {
            while (true) {
                val c = s.accept()
                thread(isDaemon = true) {
                    c.use {
                        val input = it.getInputStream().bufferedReader()
                        var len = 0
                        while (true) {
                            val line = input.readLine() ?: break
                            if (line.isEmpty()) break
                            if (line.lowercase().startsWith("content-length:")) len = line.substring(15).trim().toInt()
                        }
                        repeat(len) { input.read() }
                        val body = """{"error":{"code":"invalid_field","message":"refused","field":"items","added_later":1}}"""
                        it.getOutputStream().write(
                            ("HTTP/1.1 422 Unprocessable Entity\r\nContent-Type: application/json\r\n" +
                                "Content-Length: ${body.length}\r\nConnection: close\r\n\r\n$body").toByteArray(),
                        )
                    }
                }
            }
        }
        return "http://127.0.0.1:${s.localPort}"
    }

    /** A real forwarding proxy on loopback in front of the service that records every request. */
    class RecordingProxy(private val upstream: String) {
        val requests = CopyOnWriteArrayList<Triple<String, String, String>>() // method, path, body
        private val server = ServerSocket(0)
        private val client = java.net.http.HttpClient.newHttpClient()
        val url = "http://127.0.0.1:${server.localPort}"
        init {
            thread(isDaemon = true) {
                while (true) {
                    val c = server.accept()
                    thread(isDaemon = true) { c.use { handle(it) } }
                }
            }
        }
        private fun handle(c: java.net.Socket) {
            val input = java.io.DataInputStream(java.io.BufferedInputStream(c.getInputStream()))
            fun line(): String {
                val sb = StringBuilder()
                while (true) {
                    val b = input.read()
                    if (b < 0 || b == '\n'.code) break
                    if (b != '\r'.code) sb.append(b.toChar())
                }
                return sb.toString()
            }
            val (method, path) = line().split(" ").let { it[0] to it[1] }
            val headers = HashMap<String, String>()
            while (true) {
                val h = line()
                if (h.isEmpty()) break
                val i = h.indexOf(':')
                headers[h.substring(0, i).lowercase()] = h.substring(i + 1).trim()
            }
            val body = ByteArray(headers["content-length"]?.toInt() ?: 0).also { input.readFully(it) }
            requests.add(Triple(method, path, String(body)))
            val req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(upstream + path))
                .method(method, java.net.http.HttpRequest.BodyPublishers.ofByteArray(body))
            headers["authorization"]?.let { req.header("Authorization", it) }
            headers["content-type"]?.let { req.header("Content-Type", it) }
            val res = client.send(req.build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray())
            val out = c.getOutputStream()
            out.write("HTTP/1.1 ${res.statusCode()} X\r\nContent-Type: application/json\r\nContent-Length: ${res.body().size}\r\nConnection: close\r\n\r\n".toByteArray())
            out.write(res.body())
            out.flush()
        }
    }

    /** What a request body may hold: the protocol's fields, hex of exact sizes, small numbers. */
    private fun violations(path: String, body: String): List<String> {
        val bad = ArrayList<String>()
        if (body.isEmpty()) return bad
        val allowed = setOf(
            "idempotency_key", "attestations", "person_shown_was_under_18", "submitter", "items",
            "image", "video", "md5", "sha256", "pdq", "quality", "frames", "t",
            "recovery_verifier", "recovery_key", "edge_cuts", "top_20", "bottom_20",
        )
        for (m in Regex("\"([^\"]*)\"\\s*:").findAll(body)) {
            if (m.groupValues[1] !in allowed) bad.add("$path: field ${m.groupValues[1]}")
        }
        // Edge cuts are {"top_20": {pdq, quality}, "bottom_20": {pdq, quality}}, one or both.
        val cutsObject = Regex("\"edge_cuts\"\\s*:\\s*\\{((?:\\s*\"[^\"]*\"\\s*:\\s*\\{[^{}]*\\}\\s*,?)*)\\s*\\}")
        val seen = cutsObject.findAll(body).toList()
        if (seen.size != Regex("\"edge_cuts\"").findAll(body).count()) bad.add("$path: edge_cuts not an object of cuts")
        for (m in seen) {
            val cuts = Regex("\"([^\"]*)\"\\s*:\\s*\\{([^{}]*)\\}").findAll(m.groupValues[1]).toList()
            if (cuts.size !in 1..2) bad.add("$path: ${cuts.size} edge cuts")
            for (c in cuts) {
                if (c.groupValues[1] != "top_20" && c.groupValues[1] != "bottom_20") bad.add("$path: edge cut ${c.groupValues[1]}")
                val keys = Regex("\"([^\"]*)\"\\s*:").findAll(c.groupValues[2]).map { it.groupValues[1] }.toList()
                if (keys.sorted() != listOf("pdq", "quality")) bad.add("$path: edge cut keys $keys")
            }
        }
        for (m in Regex("\"quality\"\\s*:\\s*([^,}\\s]*)").findAll(body)) {
            if (m.groupValues[1].toIntOrNull() !in 0..100) bad.add("$path: quality ${m.groupValues[1]}")
        }
        for (m in Regex("\"([^\"]*)\"\\s*:\\s*\"([^\"]*)\"").findAll(body)) {
            val k = m.groupValues[1]
            val v = m.groupValues[2]
            val ok = Regex("[0-9a-f]{32}|[0-9a-f]{64}").matches(v) ||
                v == "person_shown" || v == "parent_or_guardian" ||
                path.endsWith("/restore") && Regex("([0-9A-HJKMNP-TV-Z]{5}-){6}[0-9A-HJKMNP-TV-Z]{5}").matches(v) ||
                Regex("[A-Za-z0-9_-]{16,128}").matches(v) && body.contains("\"idempotency_key\":\"$v\"")
            if (!ok) bad.add("$path: value $v")
        }
        if (path.endsWith("/withdraw") && body != "{}") bad.add("$path: withdraw body $body")
        return bad
    }

    /** Swaps one symbol of a written recovery key (for a mistyped group). */
    private fun mistype(key: String, at: Int): String =
        key.substring(0, at) + (if (key[at] == '7') '8' else '7') + key.substring(at + 1)

    @Test
    fun aCaseComesBackOnAWipedPhoneWithItsRecoveryKey() = runBlocking {
        val proxy = RecordingProxy(service)
        var app = Takedown.open(tempDir(), proxy.url, MemoryKeys())
        val out = app.submitCase("req-restore", eligible, listOf(SubmitItem(fingerprint(app, "scene.jpg"), null),
            SubmitItem(fingerprint(app, "scene.gif"), null)))
        assertTrue(out.sent)
        val case = app.listCases().single()
        val number = case.caseNumber!!
        val key = case.recoveryKey!!
        assertEquals(41, key.length)
        assertEquals(key, normalizeRecoveryKey(key.lowercase().replace("-", " ")))
        try {
            normalizeRecoveryKey(mistype(key, 20))
            fail("expected RecoveryKeyInvalid")
        } catch (e: TakedownException.RecoveryKeyInvalid) {
            assertEquals(4u, e.group)
        }
        app.deleteEverything()
        app.close()

        // A wiped phone: a new history, nothing but the number and the key.
        app = Takedown.open(tempDir(), proxy.url, MemoryKeys())
        val sentBefore = proxy.requests.size
        try {
            app.restoreCase(number, mistype(key, 3))
            fail("expected RecoveryKeyInvalid")
        } catch (e: TakedownException.RecoveryKeyInvalid) {
            assertEquals(1u, e.group)
        }
        assertEquals("a mistyped key sends nothing", sentBefore, proxy.requests.size)
        val restored = app.restoreCase(number.lowercase(), key)
        assertEquals(number, restored.caseNumber)
        assertEquals(CaseState.OPEN, restored.state)
        assertEquals(2u, restored.itemCount)
        assertEquals(key, restored.recoveryKey)
        val detail = app.caseDetail(restored.id)
        assertEquals(listOf(null, null), detail.items.map { it.md5 })
        assertEquals(2u, app.caseStatus(restored.id)!!.totals.activeItems)
        // Withdraw one item, then the whole case, from the restored history.
        app.withdrawItem(detail.items[0].id)
        app.withdrawCase(restored.id)
        app.refreshStatus(restored.id)
        assertEquals(CaseState.WITHDRAWN, app.listCases().single().state)
        assertEquals(0u, app.caseStatus(restored.id)!!.totals.activeItems)
        // Only allowed fields went out, the key only to the restore route.
        for ((method, path, body) in proxy.requests) {
            val v = violations(path, body)
            assertTrue("$method $path: $v", v.isEmpty())
            if (!path.endsWith("/restore")) assertFalse(body.contains(key))
        }
        assertTrue(proxy.requests.any { it.second.endsWith("/restore") })
        app.close()
    }

    @Test
    fun everyRequestBodyPassesTheAllowList() = runBlocking {
        val proxy = RecordingProxy(service)
        val app = Takedown.open(tempDir(), proxy.url, MemoryKeys())
        val f = fingerprint(app, "scene.jpg")
        val out = app.submitCase("req-traffic", eligible, listOf(SubmitItem(f, "IMG_0001.JPG at home")))
        assertTrue(out.sent)
        val added = app.addItems(out.caseId, listOf(SubmitItem(fingerprint(app, "scene.gif"), "second")))
        app.withdrawItem(added.itemIds[0])
        app.refreshAll()
        app.withdrawCase(out.caseId)
        assertTrue(proxy.requests.size >= 5)
        for ((method, path, body) in proxy.requests) {
            val v = violations(path, body)
            assertTrue("$method $path: $v", v.isEmpty())
        }
        // The check fails on what must never be sent.
        val create = proxy.requests.first { it.second == "/v1/cases" }.third
        assertFalse(violations("/v1/cases", create.replace("\"quality\"", "\"label\":\"beach\",\"quality\"")).isEmpty())
        assertFalse(violations("/v1/cases", create.replace(f.md5, "IMG_0001.JPG")).isEmpty())
        // The picture's two edge cuts are sent (so checked above), and the check fails on
        // anything else in a cut.
        assertEquals(listOf(CutEdge.TOP, CutEdge.BOTTOM), f.edgeCuts.map { it.edge })
        for (c in f.edgeCuts) assertTrue(create.contains("\"pdq\":\"${c.pdq}\",\"quality\":${c.quality}}"))
        assertTrue(create.contains("\"top_20\":{") && create.contains("\"bottom_20\":{"))
        for (edited in listOf(
            create.replace("\"top_20\":{", "\"top_20\":{\"name\":\"IMG_0001.JPG\","),
            create.replace("\"top_20\":{", "\"top_20\":{\"w\":4032,"),
            create.replace("\"bottom_20\"", "\"left_20\""),
            create.replace("\"top_20\"", "\"top_15\""),
            create.replace("\"quality\":${f.edgeCuts[0].quality}}", "\"quality\":101}"),
            create.replace("\"edge_cuts\":{", "\"edge_cuts\":{\"top_10\":{\"pdq\":\"${f.pdq}\",\"quality\":90},"),
            create.replace("\"edge_cuts\":{", "\"edge_cuts\":\"top\",\"x\":{"),
        )) {
            assertTrue(edited != create)
            assertFalse(edited, violations("/v1/cases", edited).isEmpty())
        }
        app.close()
    }

    private suspend fun fingerprint(app: Takedown, name: String): ItemFingerprint =
        app.hashItem(MediaInput.ImageBytes(bytes(name))).fingerprint ?: error("not hashed")

    @Test
    fun coroutineCancelAndDeadlinesStopAFlush() = runBlocking {
        val dir = tempDir()
        val keys = MemoryKeys()
        var app = openTakedown(dir, hangingServer(), keys, NetworkOptions(30000uL, 1u, 10uL, 10uL))
        app.queueCase("req-hang", eligible, listOf(SubmitItem(fingerprint(app, "scene.jpg"), null)))
        // A cancelled coroutine (withTimeout) stops the Rust work promptly.
        val t0 = System.nanoTime()
        try {
            withTimeout(300) { app.flush() }
            fail("expected a timeout")
        } catch (e: TimeoutCancellationException) {
        }
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 3000)
        assertEquals(1u, app.pendingOperations())
        // A deadline: a report, the rest stays queued.
        val r = app.flush(CancelToken.withTimeoutMs(300uL))
        assertTrue(r.deadlineReached)
        assertEquals(1u, r.pending)
        assertNotNull(r.nextAttemptAtMs)
        // A handle that a finished call used still works.
        val handle = CancelToken()
        app.hashItem(MediaInput.ImageBytes(bytes("scene.jpg")), handle)
        assertFalse(handle.isCancelled())
        assertNotNull(app.hashItem(MediaInput.ImageBytes(bytes("scene.jpg")), handle).fingerprint)
        app.close()
        app = Takedown.open(dir, service, keys)
        assertEquals(1u, app.flush().sent)
        app.close()
    }

    @Test
    fun shellCallsWorkEndToEnd() = runBlocking {
        val dir = tempDir()
        val keys = MemoryKeys()
        var app = openTakedown(dir, refusingServer(), keys, NetworkOptions(5000uL, 1u, 10uL, 10uL))
        try {
            Takedown.open(dir, service, keys)
            fail("expected AlreadyOpen")
        } catch (e: TakedownException.AlreadyOpen) {
        }
        val listener = CountingListener()
        app.setListener(listener)
        val f = fingerprint(app, "scene.jpg")
        val a = app.queueCase("req-1", eligible, listOf(SubmitItem(f, "mine")))
        val b = app.queueCase("req-1", eligible, listOf(SubmitItem(f, "mine")))
        assertEquals(a.id, b.id)
        assertEquals(CaseState.PENDING, a.state)
        assertEquals(1, app.listCases().size)
        // Refused by the service's JSON error: final, until resubmitted.
        val refused = app.flush()
        assertEquals(1u, refused.rejected)
        assertEquals(FlushReport(sent = 0u, pending = 0u, rejected = 1u, offline = false, retryAfterMs = null,
            nextAttemptAtMs = null, deadlineReached = false), refused)
        val rejected = app.caseDetail(a.id)
        // Whole records: what changed from the queued case, and nothing else.
        assertEquals(a.copy(state = CaseState.REJECTED, rejection = "invalid_field", pendingOperations = 0u,
            nextAttemptAtMs = null), rejected.case)
        assertEquals(1, rejected.items.size)
        assertEquals(HistoryItem(id = rejected.items[0].id, caseId = a.id, kind = MediaKind.IMAGE, md5 = f.md5,
            sha256 = f.sha256, pdq = f.pdq, quality = f.quality, frameCount = 0u, lowQuality = f.lowQuality,
            label = "mine", state = HistoryItemState.REJECTED, serviceItemId = null,
            addedAt = rejected.items[0].addedAt), rejected.items[0])
        app.close()

        app = Takedown.open(dir, service, keys)
        app.setListener(listener)
        assertEquals(1u, app.resubmitCase(a.id))
        val before = listener.changes.size
        // A flush on another thread (a WorkManager worker) tells the listener.
        val report = async(Dispatchers.Default) { app.flush() }.await()
        assertEquals(1u, report.sent)
        assertTrue(listener.changes.size > before)
        assertTrue(listener.changes.contains(Change.QUEUE))
        app.refreshStatus(a.id)
        val detail = app.caseDetail(a.id)
        assertNotNull(detail.case.caseNumber)
        assertEquals(rejected.case.copy(state = CaseState.OPEN, rejection = null, caseNumber = detail.case.caseNumber),
            detail.case)
        assertNotNull(detail.items[0].serviceItemId)
        assertEquals(listOf(rejected.items[0].copy(state = HistoryItemState.ACTIVE,
            serviceItemId = detail.items[0].serviceItemId)), detail.items)
        val status = detail.status!!
        assertEquals(detail.case.caseNumber, status.caseNumber)
        assertEquals(ServiceState.ACTIVE, status.state)
        assertTrue(status.active)
        assertEquals(1u, status.totals.activeItems)
        assertEquals(0u, status.totals.withdrawnItems)
        assertEquals(listOf(detail.items[0].serviceItemId), status.items.map { it.serviceItemId })
        assertEquals(listOf<Long?>(detail.items[0].id), status.items.map { it.itemId })

        // Cancel a queued case before it is sent.
        val q = app.queueCase("req-2", eligible, listOf(SubmitItem(fingerprint(app, "scene.gif"), null)))
        assertTrue(app.cancelQueuedCase(q.id))
        assertEquals(1, app.listCases().size)
        app.close()

        // Offline, a withdrawal is queued: "delete everything" refuses, then forced.
        app = Takedown.open(dir, "http://127.0.0.1:9", keys)
        val item = app.listItems(a.id)[0].id
        val w = app.withdrawItem(item)
        assertEquals(1u, w.pending)
        try {
            app.deleteEverything()
            fail("expected WithdrawalsPending")
        } catch (e: TakedownException.WithdrawalsPending) {
            assertEquals(1u, e.count)
        }
        app.deleteEverything(true)
        assertNull(keys.key)
        app.close()
    }

    @Test
    fun loggerHookGetsEventsWithoutPersonalData() = runBlocking {
        val lines = Lines()
        setLogger(lines)
        val app = Takedown.openWithOptions(tempDir(), "http://127.0.0.1:9", MemoryKeys(), NetworkOptions(2000uL, 1u, 10uL, 10uL))
        val f = fingerprint(app, "scene.jpg")
        val out = app.submitCase("req-log", eligible, listOf(SubmitItem(f, "secret label")))
        assertFalse(out.sent)
        setLogger(null)
        assertTrue(lines.lines.toString(), lines.lines.any { it.contains("postponed") && it.startsWith("INFO") })
        for (l in lines.lines) {
            assertFalse(l, l.contains(f.sha256) || l.contains(f.pdq!!) || l.contains("secret label"))
        }
        app.close()
    }

    @Test
    fun hostPixelsMustBeTheOriginalSize() = runBlocking {
        val app = Takedown.open(tempDir(), "http://127.0.0.1:9", MemoryKeys())
        val file = bytes("scene-127x97.png")
        val img = ImageIO.read(File(fixtures, "images/scene-127x97.png"))
        fun rgba(w: Int, h: Int, scale: Int): ByteArray {
            val out = ByteArray(w * h * 4)
            for (y in 0 until h) for (x in 0 until w) {
                val p = img.getRGB(x * scale, y * scale)
                val i = (y * w + x) * 4
                out[i] = (p shr 16).toByte(); out[i + 1] = (p shr 8).toByte(); out[i + 2] = p.toByte(); out[i + 3] = 0xff.toByte()
            }
            return out
        }
        val w = img.width
        val h = img.height
        val full = app.hashItem(MediaInput.ImagePixels(rgba(w, h, 1), w.toUInt(), h.toUInt(), (w * 4).toUInt(), file, w.toUInt(), h.toUInt()))
        val reference = app.hashItem(MediaInput.ImageBytes(file))
        assertEquals(reference.fingerprint!!.pdq, full.fingerprint!!.pdq)
        assertEquals(reference.fingerprint!!.sha256, full.fingerprint!!.sha256)
        val small = app.hashItem(MediaInput.ImagePixels(rgba(w / 2, h / 2, 2), (w / 2).toUInt(), (h / 2).toUInt(), (w / 2 * 4).toUInt(), file, w.toUInt(), h.toUInt()))
        assertNull(small.fingerprint)
        assertEquals(ItemErrorKind.INVALID_MEDIA, small.error!!.kind)
        app.close()
    }
}
