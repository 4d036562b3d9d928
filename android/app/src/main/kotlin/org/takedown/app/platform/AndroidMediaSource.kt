package org.takedown.app.platform

import android.content.Context
import android.graphics.Bitmap
import android.graphics.ColorSpace
import android.graphics.ImageDecoder
import android.media.MediaMetadataRetriever
import android.net.Uri
import java.io.IOException
import java.nio.ByteBuffer
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.takedown.app.viewmodel.DecodedImage
import org.takedown.app.viewmodel.MediaRef
import org.takedown.app.viewmodel.MediaSource
import org.takedown.app.viewmodel.VideoFrame
import org.takedown.app.viewmodel.VideoFrames

/**
 * Decodes what the photo picker returned, one item at a time (the view model asks for the
 * next only after the core has hashed the previous one). Nothing is written to disk.
 */
class AndroidMediaSource(private val context: Context) : MediaSource {
    override suspend fun decodeImage(ref: MediaRef): DecodedImage = withContext(Dispatchers.IO) {
        val bytes = context.contentResolver.openInputStream(Uri.parse(ref.id))?.use { it.readBytes() }
            ?: throw IOException("unreadable")
        var originalWidth = 0
        var originalHeight = 0
        // HEIC, JPEG, PNG, WebP, AVIF… whatever the phone decodes. No setTargetSize: the core
        // needs the picture at its own size (a downscaled PDQ drifts from the platforms').
        val decoded = ImageDecoder.decodeBitmap(ImageDecoder.createSource(ByteBuffer.wrap(bytes))) { decoder, info, _ ->
            originalWidth = info.size.width
            originalHeight = info.size.height
            decoder.allocator = ImageDecoder.ALLOCATOR_SOFTWARE
            decoder.isUnpremultipliedRequired = true
            decoder.setTargetColorSpace(ColorSpace.get(ColorSpace.Named.SRGB))
        }
        val rgba = decoded.toRgba()
        DecodedImage(rgba.bytes, rgba.width, rgba.height, rgba.width * 4, bytes, originalWidth, originalHeight)
    }

    override suspend fun openVideo(ref: MediaRef): VideoFrames = withContext(Dispatchers.IO) {
        AndroidVideoFrames(context, Uri.parse(ref.id))
    }
}

internal class Rgba(val bytes: ByteArray, val width: Int, val height: Int)

/** RGBA bytes, 4 per pixel, packed (ARGB_8888 is stored R, G, B, A in memory). */
internal fun Bitmap.toRgba(): Rgba {
    val bitmap = if (config == Bitmap.Config.ARGB_8888) this else copy(Bitmap.Config.ARGB_8888, false)
    val buffer = ByteBuffer.allocate(bitmap.byteCount)
    bitmap.copyPixelsToBuffer(buffer)
    val w = bitmap.width
    val h = bitmap.height
    val stride = bitmap.rowBytes
    val packed = if (stride == w * 4) buffer.array() else ByteArray(w * h * 4).also { out ->
        for (y in 0 until h) System.arraycopy(buffer.array(), y * stride, out, y * w * 4, w * 4)
    }
    if (bitmap !== this) bitmap.recycle()
    recycle()
    return Rgba(packed, w, h)
}

/**
 * Frames of one video with `MediaMetadataRetriever`, fetched at the times the core's
 * `VideoHasher` asks for (one per second), and the file's bytes for MD5/SHA-256.
 */
class AndroidVideoFrames(private val context: Context, private val uri: Uri) : VideoFrames {
    private val retriever = MediaMetadataRetriever().apply { setDataSource(context, uri) }

    override val durationMs: Long? =
        retriever.extractMetadata(MediaMetadataRetriever.METADATA_KEY_DURATION)?.toLongOrNull()

    override fun frameAt(timestampUs: Long): VideoFrame? {
        val bitmap = retriever.getFrameAtTime(timestampUs, MediaMetadataRetriever.OPTION_CLOSEST) ?: return null
        val rgba = bitmap.toRgba()
        return VideoFrame(rgba.bytes, rgba.width, rgba.height, rgba.width * 4)
    }

    override fun readFile(sink: (ByteArray) -> Unit) {
        context.contentResolver.openInputStream(uri)?.use { input ->
            val buf = ByteArray(256 * 1024)
            while (true) {
                val n = input.read(buf)
                if (n < 0) break
                if (n > 0) sink(buf.copyOf(n))
            }
        } ?: throw IOException("unreadable")
    }

    override fun close() = retriever.release()
}
