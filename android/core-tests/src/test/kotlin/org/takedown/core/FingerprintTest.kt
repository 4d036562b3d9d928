package org.takedown.core

import java.io.File
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * The generated Kotlin bindings, called on the JVM against the real Rust library:
 * every fingerprint export once, including error paths.
 */
class FingerprintTest {
    private val fixtures = File(System.getProperty("takedown.fixtures") ?: "tests/fixtures")

    /** Reference PDQ of the committed fixture, recorded in tests/fixtures/reference-pdq.tsv. */
    private fun referenceHash(file: String): String =
        File(fixtures, "reference-pdq.tsv").readLines()
            .map { it.split('\t') }
            .first { it[0] == file }[5]

    @Test
    fun fingerprintOfPhotoBytesMatchesTheReference() {
        val bytes = File(fixtures, "images/scene-320x240.png").readBytes()
        val f = fingerprintImageBytes(bytes)
        assertEquals(referenceHash("scene-320x240.png"), f.pdq.hash)
        assertEquals(320u, f.width)
        assertEquals(240u, f.height)
        assertEquals(32, f.md5.length)
        assertEquals(64, f.sha256.length)
        assertEquals(8, f.pdq.dihedrals.size)
        assertTrue(f.pdq.quality >= 50u)
    }

    @Test
    fun fingerprintByPathAppliesExifOrientation() {
        val upright = fingerprintImageFile(File(fixtures, "images/scene.jpg").path)
        val sideways = fingerprintImageFile(File(fixtures, "images/scene-exif6.jpg").path)
        // Stored 240 × 320 with "rotate 90°": a viewer shows it 320 × 240.
        assertEquals(320u, sideways.width)
        assertEquals(240u, sideways.height)
        assertTrue(pdqDistance(upright.pdq.hash, sideways.pdq.hash) <= 31u)
    }

    @Test
    fun brokenMediaIsAClearErrorNotACrash() {
        try {
            fingerprintImageBytes("not a picture".toByteArray())
            fail("expected InvalidMedia")
        } catch (e: TakedownException.InvalidMedia) {
            assertTrue(e.reason.contains("not a supported image format"))
        }
        try {
            fingerprintImageBytes(ByteArray(0))
            fail("expected InvalidMedia")
        } catch (e: TakedownException.InvalidMedia) {
            assertTrue(e.reason.contains("empty"))
        }
    }

    @Test
    fun rawPixelsFromTheHost() {
        // A horizontal gradient, as Android's Bitmap would hand it over (RGBA, packed).
        val w = 100
        val h = 80
        val px = ByteArray(w * h * 4)
        for (y in 0 until h) for (x in 0 until w) {
            val i = (y * w + x) * 4
            px[i] = (x * 2).toByte(); px[i + 1] = (y * 3).toByte(); px[i + 2] = ((x * y) % 256).toByte(); px[i + 3] = -1
        }
        val a = pdqFromRgba(px, w.toUInt(), h.toUInt(), (w * 4).toUInt())
        assertEquals(64, a.hash.length)
        try {
            pdqFromRgba(ByteArray(10), w.toUInt(), h.toUInt(), (w * 4).toUInt())
            fail("expected InvalidMedia for a short buffer")
        } catch (e: TakedownException.InvalidMedia) {
            assertTrue(e.reason.contains("pixel buffer"))
        }
    }

    @Test
    fun distanceRejectsBadHex() {
        val h = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
        assertEquals(0u, pdqDistance(h, h))
        try {
            pdqDistance("zz", h)
            fail("expected InvalidInput for a malformed hash")
        } catch (e: TakedownException.InvalidInput) {
        }
    }

    @Test
    fun videoFramesPushedByTheHost() {
        val w = 64
        val h = 48
        VideoHasher(VideoHasherOptions(1.0, 3_000uL, 7_200_000uL, 7200u)).use { hasher ->
            for (frame in 0 until 90) { // 3 s at 30 fps
                val px = ByteArray(w * h * 4) { i -> ((i / 4 + frame * 7) % 251).toByte() }
                hasher.pushRgbaFrame(px, w.toUInt(), h.toUInt(), (w * 4).toUInt(), (frame * 33_333).toULong())
            }
            val v = hasher.finish()
            assertTrue("about one hash per second", v.frames.size in 1..4)
        }
    }
}
