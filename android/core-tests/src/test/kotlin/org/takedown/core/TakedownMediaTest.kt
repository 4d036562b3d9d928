package org.takedown.core

import java.io.File
import java.nio.file.Files
import java.security.MessageDigest
import javax.imageio.ImageIO
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * Media the way a phone hands it over, through the generated Kotlin API against the real
 * service on loopback: host-decoded pixels hash to the reference PDQ values
 * (tests/fixtures/reference-pdq.tsv), a video whose frames the test decodes and pushes
 * goes through to submit, labels, and withdrawing a whole case. Status checks compare
 * whole records (every field that changed, and that nothing else did).
 */
class TakedownMediaTest {
    private val fixtures = File(System.getProperty("takedown.fixtures") ?: "tests/fixtures")
    private val service: String = System.getProperty("takedown.service")
        ?: error("takedown.service is not set: run through scripts/kotlin-tests.sh")
    private val eligible = EligibilityAnswers(AgeWhenMade.UNDER18, SubmitterRole.PERSON_SHOWN)

    class MemoryKeys(var key: ByteArray? = null) : KeyProvider {
        override fun loadKey(): ByteArray? = key
        override fun storeKey(key: ByteArray) { this.key = key }
        override fun deleteKey() { key = null }
    }

    private fun tempDir(): String = Files.createTempDirectory("takedown-kt-media").toString()

    /** The reference row (file, width, height, mode, quality, hash, note) of a fixture. */
    private fun reference(file: String): List<String> =
        File(fixtures, "reference-pdq.tsv").readLines()
            .filter { !it.startsWith("#") }
            .map { it.split('\t') }
            .first { it[0] == file }

    class Pixels(val rgba: ByteArray, val width: Int, val height: Int)

    /** RGBA of a fixture decoded on the JVM (as an Android Bitmap would hand it over). */
    private fun decode(name: String): Pixels {
        val img = ImageIO.read(File(fixtures, "images/$name"))
        val w = img.width
        val h = img.height
        val px = ByteArray(w * h * 4)
        for (y in 0 until h) for (x in 0 until w) {
            val p = img.getRGB(x, y)
            val i = (y * w + x) * 4
            px[i] = (p shr 16).toByte(); px[i + 1] = (p shr 8).toByte(); px[i + 2] = p.toByte(); px[i + 3] = (p ushr 24).toByte()
        }
        return Pixels(px, w, h)
    }

    /** The same picture mirrored left-right (a different frame of the "video"). */
    private fun mirrored(p: Pixels): Pixels {
        val out = ByteArray(p.rgba.size)
        for (y in 0 until p.height) for (x in 0 until p.width) {
            System.arraycopy(p.rgba, (y * p.width + x) * 4, out, (y * p.width + (p.width - 1 - x)) * 4, 4)
        }
        return Pixels(out, p.width, p.height)
    }

    /** Upside down. */
    private fun flipped(p: Pixels): Pixels {
        val out = ByteArray(p.rgba.size)
        val row = p.width * 4
        for (y in 0 until p.height) System.arraycopy(p.rgba, y * row, out, (p.height - 1 - y) * row, row)
        return Pixels(out, p.width, p.height)
    }

    private fun hex(b: ByteArray) = b.joinToString("") { "%02x".format(it) }

    @Test
    fun hostPixelsHashToTheReferenceValues() = runBlocking {
        val app = Takedown.openWithOptions(tempDir(), "http://127.0.0.1:9", MemoryKeys(), NetworkOptions(2000uL, 1u, 10uL, 10uL))
        for (name in listOf("scene-320x240.png", "scene-64x64.png")) {
            val ref = reference(name)
            val px = decode(name)
            assertEquals(ref[1].toInt(), px.width)
            assertEquals(ref[2].toInt(), px.height)
            // The free function…
            val direct = pdqFromRgba(px.rgba, px.width.toUInt(), px.height.toUInt(), (px.width * 4).toUInt())
            assertEquals(name, ref[5], direct.hash)
            assertEquals(name, ref[4].toUByte(), direct.quality)
            // …and the object's host-pixel input, with the file's bytes for the exact hashes.
            val fileBytes = File(fixtures, "images/$name").readBytes()
            val item = app.hashItem(
                MediaInput.ImagePixels(px.rgba, px.width.toUInt(), px.height.toUInt(), (px.width * 4).toUInt(),
                    fileBytes, px.width.toUInt(), px.height.toUInt()))
            val f = item.fingerprint ?: error("not hashed: ${item.error}")
            assertEquals(name, ref[5], f.pdq)
            assertEquals(name, ref[4].toUByte(), f.quality)
            assertEquals(hex(MessageDigest.getInstance("MD5").digest(fileBytes)), f.md5)
            assertEquals(hex(MessageDigest.getInstance("SHA-256").digest(fileBytes)), f.sha256)
        }
        app.close()
    }

    @Test
    fun aVideoPushedFrameByFrameGoesThroughToSubmitLabelsAndCaseWithdrawal() = runBlocking {
        // The phone API has no path input for video: only frames the host pushes.
        val inputs = MediaInput::class.java.declaredClasses.map { it.simpleName }.toSet()
        assertTrue(inputs.toString(), "Video" in inputs && "VideoFile" !in inputs)

        val app = Takedown.open(tempDir(), service, MemoryKeys())
        val base = decode("scene-320x240.png")
        val shots = listOf(base, mirrored(base), flipped(base))
        // "Decoded" at 10 fps for 3 s; the hasher wants one frame per second.
        val hasher = VideoHasher(VideoHasherOptions(1.0, 3_000uL, 7_200_000uL, 7200u))
        var hashed = 0
        for (i in 0 until 30) {
            val t = (i * 100_000).toULong()
            if (!hasher.wants(t)) continue
            val p = shots[i / 10]
            if (hasher.pushRgbaFrame(p.rgba, p.width.toUInt(), p.height.toUInt(), (p.width * 4).toUInt(), t)) hashed++
        }
        assertEquals(3, hashed)
        // The "file": what the app would stream from the content resolver, in chunks.
        val file = shots.fold(ByteArray(0)) { acc, p -> acc + p.rgba.copyOf(4096) }
        file.toList().chunked(1000).forEach { hasher.pushFileBytes(it.toByteArray()) }
        val pushed = hasher.finish()
        hasher.close()
        assertEquals(hex(MessageDigest.getInstance("MD5").digest(file)), pushed.md5)
        assertEquals(hex(MessageDigest.getInstance("SHA-256").digest(file)), pushed.sha256)
        assertEquals(listOf(0.0, 1.0, 2.0), pushed.frames.map { it.t })
        assertEquals("the first frame is the reference picture", reference("scene-320x240.png")[5], pushed.frames[0].hash())
        assertEquals(3, pushed.frames.map { it.pdq }.toSet().size)
        assertEquals(3u, pushed.usableFrames)

        val video = app.hashItem(MediaInput.Video(pushed)).fingerprint ?: error("video not hashed")
        assertEquals(MediaKind.VIDEO, video.kind)
        assertEquals(pushed.md5, video.md5)
        assertEquals(pushed.sha256, video.sha256)
        assertEquals(pushed.frames.map { Triple(it.t, it.pdq, it.quality) }, video.frames.map { Triple(it.t, it.pdq, it.quality) })
        assertFalse(video.lowQuality)
        val picture = app.hashItem(MediaInput.ImageBytes(File(fixtures, "images/scene.jpg").readBytes())).fingerprint
            ?: error("picture not hashed")

        val out = app.submitCase("req-video", eligible, listOf(SubmitItem(video, "clip"), SubmitItem(picture, null)))
        assertTrue(out.sent)
        assertNotNull(out.caseNumber)
        val items = app.listItems(out.caseId)
        assertEquals(2, items.size)
        assertEquals(
            HistoryItem(id = out.itemIds[0], caseId = out.caseId, kind = MediaKind.VIDEO, md5 = pushed.md5!!,
                sha256 = pushed.sha256!!, pdq = null, quality = null, frameCount = 3u, lowQuality = false,
                label = "clip", state = HistoryItemState.ACTIVE, serviceItemId = items[0].serviceItemId,
                addedAt = items[0].addedAt),
            items[0])
        assertNotNull(items[0].serviceItemId)
        assertEquals(
            HistoryItem(id = out.itemIds[1], caseId = out.caseId, kind = MediaKind.IMAGE, md5 = picture.md5,
                sha256 = picture.sha256, pdq = picture.pdq, quality = picture.quality, frameCount = 0u,
                lowQuality = picture.lowQuality, label = null, state = HistoryItemState.ACTIVE,
                serviceItemId = items[1].serviceItemId, addedAt = items[1].addedAt),
            items[1])

        // Labels: set, change, clear — only the label changes.
        app.setLabel(items[1].id, "beach")
        assertEquals(listOf(items[0], items[1].copy(label = "beach")), app.listItems(out.caseId))
        app.setLabel(items[0].id, null)
        app.setLabel(items[1].id, "")
        assertEquals(listOf(items[0].copy(label = null), items[1].copy(label = null)), app.listItems(out.caseId))
        app.setLabel(items[0].id, "clip again")
        val labelled = app.listItems(out.caseId)
        assertEquals(items[0].copy(label = "clip again"), labelled[0])

        // The status before and after withdrawing the whole case.
        app.refreshStatus(out.caseId)
        val open = app.caseStatus(out.caseId) ?: error("no status")
        assertEquals(ServiceState.ACTIVE, open.state)
        assertTrue(open.active)
        assertEquals(2u, open.totals.activeItems)
        assertEquals(0u, open.totals.withdrawnItems)
        val caseBefore = app.listCases().first { it.id == out.caseId }
        assertEquals(CaseState.OPEN, caseBefore.state)

        val report = app.withdrawCase(out.caseId)
        assertEquals(FlushReport(sent = 1u, pending = 0u, rejected = 0u, offline = false, retryAfterMs = null,
            nextAttemptAtMs = null, deadlineReached = false), report)
        assertEquals(caseBefore.copy(state = CaseState.WITHDRAWN), app.listCases().first { it.id == out.caseId })
        assertEquals(labelled.map { it.copy(state = HistoryItemState.WITHDRAWN) }, app.listItems(out.caseId))
        app.refreshStatus(out.caseId)
        val gone = app.caseStatus(out.caseId) ?: error("no status")
        assertEquals(
            open.copy(active = false, state = ServiceState.WITHDRAWN, fetchedAt = gone.fetchedAt,
                totals = open.totals.copy(activeItems = 0u, withdrawnItems = 2u),
                items = open.items.map { it.copy(active = false, state = ServiceState.WITHDRAWN) }),
            gone)
        app.close()
    }

    private fun VideoFrameHash.hash(): String = pdq
}
