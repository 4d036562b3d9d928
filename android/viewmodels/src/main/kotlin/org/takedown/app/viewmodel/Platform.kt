package org.takedown.app.viewmodel

import org.takedown.core.MediaKind
import org.takedown.core.Takedown

/**
 * The platform glue the app implements: small interfaces, so that every view model runs
 * and is tested on the JVM against the real core. Nothing here is Android-specific; the
 * Android implementations live in `android/app` (picker, `ImageDecoder`,
 * `MediaMetadataRetriever`, Keystore, WorkManager, BiometricPrompt).
 */
data class MediaRef(
    /** An opaque handle the platform understands (a picker URI), held in memory only. */
    val id: String,
    /** Picture or video, as the picker reported it. */
    val kind: MediaKind,
)

/** One picture decoded by the platform at its original size (orientation applied). */
class DecodedImage(
    /** RGBA, 4 bytes per pixel. */
    val rgba: ByteArray,
    val width: Int,
    val height: Int,
    /** Bytes per row. */
    val stride: Int,
    /** The encoded file's bytes, for MD5/SHA-256. */
    val fileBytes: ByteArray,
    /** Size from the file's header (the core refuses smaller decodes). */
    val originalWidth: Int,
    val originalHeight: Int,
)

/** One decoded video frame. */
class VideoFrame(val rgba: ByteArray, val width: Int, val height: Int, val stride: Int)

/** A video opened for frame extraction (`MediaMetadataRetriever` on Android). */
interface VideoFrames : AutoCloseable {
    /** Duration in milliseconds, when the container says. */
    val durationMs: Long?

    /** The frame shown at `timestampUs`, or `null` past the end. */
    fun frameAt(timestampUs: Long): VideoFrame?

    /** Calls `sink` with the file's bytes in order, in chunks (for MD5/SHA-256). */
    fun readFile(sink: (ByteArray) -> Unit)
}

/** Decodes what the user picked, one item at a time (never the whole selection). */
interface MediaSource {
    /** Decodes one picture at its original size. */
    suspend fun decodeImage(ref: MediaRef): DecodedImage

    /** Opens one video; the caller closes it. */
    suspend fun openVideo(ref: MediaRef): VideoFrames
}

/** The device credential / biometric prompt. */
interface LockAuthenticator {
    /**
     * Whether the device has a screen lock or biometrics to ask for. Without one the app
     * lock cannot be turned on, and a lock turned on earlier is not asked for (else the
     * user would be locked out for good).
     */
    fun isAvailable(): Boolean

    /** `true` when the user proved it is them. */
    suspend fun authenticate(): Boolean
}

/** Small settings kept by the platform (SharedPreferences on Android). */
interface AppPreferences {
    /** Ask for the device credential on open. */
    var lockEnabled: Boolean

    /** Show the neutral name and icon (the platform switches its launcher alias). */
    var neutralIcon: Boolean
}

/** Background sending (WorkManager on Android). */
interface FlushScheduler {
    /** Run a flush at `atMs` (Unix ms) or when connectivity returns, whichever is later. */
    fun scheduleFlush(atMs: Long)
}

/** Holds the one core object of the process (shared with the background flush). */
interface CoreOpener {
    /** The process's core, opened (or created) on first use. Throws the core's `TakedownException`. */
    suspend fun open(): Takedown

    /** `deleteEverything` closed this core: forget it, so that the next [open] makes a new one. */
    fun discard(core: Takedown)

    /** Removes the history files and the key when the history cannot be opened at all. */
    suspend fun wipe()
}

/** Everything the view models need from the platform. */
class Platform(
    val media: MediaSource,
    val lock: LockAuthenticator,
    val preferences: AppPreferences,
    val scheduler: FlushScheduler,
    /** Current time, Unix ms (a test clock in tests). */
    val nowMs: () -> Long = System::currentTimeMillis,
)
