package org.takedown.app.viewmodel

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import org.takedown.core.CancelToken
import org.takedown.core.FlushReport
import org.takedown.core.Change
import org.takedown.core.ChangeListener
import org.takedown.core.MediaInput
import org.takedown.core.MediaKind
import org.takedown.core.Takedown
import org.takedown.core.TakedownException
import org.takedown.core.VideoHasher
import org.takedown.core.VideoHasherOptions

/**
 * The core's change listener as a `Flow` (also changes a background flush makes). The core
 * keeps one listener: collect this once per core object. Changes are conflated; a screen
 * re-reads what it shows on each.
 */
fun Takedown.changes(): Flow<Change> = callbackFlow {
    val listener = object : ChangeListener {
        override fun onChange(change: Change) {
            trySend(change)
        }
    }
    try {
        setListener(listener)
    } catch (e: IllegalStateException) {
        close() // closed already: no changes will come
    }
    // The core may be closed already (delete everything, process teardown): nothing to detach.
    awaitClose { try { setListener(null) } catch (e: IllegalStateException) {} }
}.buffer(Channel.CONFLATED)

/**
 * Turns one picked item into the core's input: a picture decoded by the platform at its
 * original size, or a video whose frames are pushed into the core's [VideoHasher] at the
 * times it asks for (one per second). Only this one item is in memory.
 */
suspend fun mediaInput(source: MediaSource, ref: MediaRef, cancel: CancelToken): MediaInput = when (ref.kind) {
    MediaKind.IMAGE -> {
        val d = source.decodeImage(ref)
        MediaInput.ImagePixels(
            d.rgba, d.width.toUInt(), d.height.toUInt(), d.stride.toUInt(), d.fileBytes,
            d.originalWidth.toUInt(), d.originalHeight.toUInt(),
        )
    }
    MediaKind.VIDEO -> source.openVideo(ref).use { video -> MediaInput.Video(hashVideo(video, cancel)) }
}

/** Pushes a video's frames and bytes into a [VideoHasher]; stops on `cancel` or a cancelled coroutine. */
suspend fun hashVideo(video: VideoFrames, cancel: CancelToken): org.takedown.core.PushedVideo {
    val hasher = VideoHasher(VideoHasherOptions(expectedDurationMs = video.durationMs?.toULong()))
    hasher.use {
        video.readFile { chunk ->
            if (cancel.isCancelled()) hasher.cancel()
            hasher.pushFileBytes(chunk)
        }
        var last = -1L
        while (true) {
            currentCoroutineContext().ensureActive()
            if (cancel.isCancelled()) throw TakedownException.Cancelled()
            val next = hasher.nextWantedTimestampUs()?.toLong() ?: break
            if (next <= last) break
            val end = video.durationMs
            if (end != null && next > end * 1000) break
            val frame = video.frameAt(next) ?: break
            hasher.pushRgbaFrame(frame.rgba, frame.width.toUInt(), frame.height.toUInt(), frame.stride.toUInt(), next.toULong())
            last = next
        }
        return hasher.finish()
    }
}

/**
 * The background flush (WorkManager's worker, iOS's BGTask): sends what is queued within
 * `budgetMs` and hands what is left to `scheduler` for the core's next-attempt time.
 */
suspend fun backgroundFlush(core: Takedown, budgetMs: Long, scheduler: FlushScheduler, nowMs: Long): FlushReport {
    val report = core.flush(CancelToken.withTimeoutMs(budgetMs.toULong()))
    scheduleRest(report, scheduler, nowMs)
    return report
}

/** Something is still pending: run again at the core's next-attempt time (or now, when unknown). */
internal fun scheduleRest(report: FlushReport, scheduler: FlushScheduler, nowMs: Long) {
    if (report.pending > 0u) scheduler.scheduleFlush(report.nextAttemptAtMs ?: nowMs)
}
