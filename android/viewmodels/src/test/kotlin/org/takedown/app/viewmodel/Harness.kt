package org.takedown.app.viewmodel

import java.io.File
import java.io.IOException
import java.net.ServerSocket
import java.net.Socket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.security.SecureRandom
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import javax.imageio.ImageIO
import kotlin.concurrent.thread
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.takedown.core.KeyProvider
import org.takedown.core.MediaKind
import org.takedown.core.NetworkOptions
import org.takedown.core.Takedown
import org.takedown.core.openTakedown

/**
 * Shared harness of the view-model tests: the real core (target/debug/libtakedown_core.so),
 * the real service on loopback (started by scripts/kotlin-tests.sh), and fake *platform
 * glue* only: an in-memory key provider, a pixel source decoding tests/fixtures images with
 * ImageIO at their original size, a lock that answers as told, preferences in memory, and a
 * scheduler that records what WorkManager would be asked.
 */
object Env {
    val fixtures = File(System.getProperty("takedown.fixtures") ?: "tests/fixtures")
    val service: String = System.getProperty("takedown.service")
        ?: error("takedown.service is not set: run through scripts/kotlin-tests.sh")
    val platformKey: String = System.getProperty("takedown.platformKey")
        ?: error("takedown.platformKey is not set: run through scripts/kotlin-tests.sh")
    val res = File(System.getProperty("takedown.res") ?: "android/app/src/main/res")

    /** Short timeouts and one attempt, so an unreachable service answers at once. */
    val options = NetworkOptions(5000uL, 1u, 10uL, 10uL)
    private val http = HttpClient.newHttpClient()

    /** A platform reports that it matched and removed the listed item (by SHA-256). */
    fun platformFeedback(sha256: String, vararg outcomes: String) {
        val page = send(HttpRequest.newBuilder(URI.create("$service/v1/sync?cursor=0&limit=1000")).GET())
        val itemId = Regex("\"item_id\":(\\d+)[^}]*\"sha256\":\"$sha256\"").find(page)?.groupValues?.get(1)
            ?: error("item not in the sync page")
        val nonce = SecureRandom().nextLong().toULong().toString(16)
        val events = outcomes.mapIndexed { i, o -> """{"event_id":"vm-$nonce-$i","item_id":$itemId,"outcome":"$o"}""" }
        send(
            HttpRequest.newBuilder(URI.create("$service/v1/feedback")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("""{"events":[${events.joinToString(",")}]}""")),
        )
    }

    private fun send(b: HttpRequest.Builder): String {
        val res = http.send(b.header("Authorization", "Bearer $platformKey").build(), HttpResponse.BodyHandlers.ofString())
        assertEquals(res.body(), 200, res.statusCode())
        return res.body()
    }
}

class MemoryKeys(@Volatile var key: ByteArray? = null) : KeyProvider {
    override fun loadKey(): ByteArray? = key
    override fun storeKey(key: ByteArray) { this.key = key }
    override fun deleteKey() { key = null }
}

/** Holds the core like the Android app's process singleton does. */
class TestOpener(val dir: File, @Volatile var url: String, val keys: MemoryKeys = MemoryKeys()) : CoreOpener {
    @Volatile var core: Takedown? = null
    override suspend fun open(): Takedown = core ?: openTakedown(dir.path, url, keys, Env.options).also { core = it }
    override fun discard(core: Takedown) {
        if (this.core === core) this.core = null
        core.close()
    }
    override suspend fun wipe() {
        core?.close()
        core = null
        dir.listFiles()?.forEach { it.deleteRecursively() }
        keys.key = null
    }
    fun close() {
        core?.close()
        core = null
    }
}

/** A "video": the same fixture picture as a frame every 1/4 second for [seconds]. */
class FixtureVideo(private val file: File, private val seconds: Int) : VideoFrames {
    val framesAsked = CopyOnWriteArrayList<Long>()
    override val durationMs: Long = seconds * 1000L
    override fun frameAt(timestampUs: Long): VideoFrame? {
        if (timestampUs > durationMs * 1000) return null
        framesAsked += timestampUs
        val d = decode(file)
        return VideoFrame(d.rgba, d.width, d.height, d.stride)
    }
    override fun readFile(sink: (ByteArray) -> Unit) {
        file.readBytes().toList().chunked(4096).forEach { sink(it.toByteArray()) }
    }
    override fun close() {}
}

/** A PNG of the fixture with its first pixel set to a random colour. */
fun uniqueCopy(file: File): File {
    val img = ImageIO.read(file)
    img.setRGB(0, 0, SecureRandom().nextInt())
    val out = Files.createTempFile("takedown-vm", ".png").toFile()
    ImageIO.write(img, "png", out)
    out.deleteOnExit()
    return out
}

/** Decodes a fixture with ImageIO at its original size, as `ImageDecoder` does on Android. */
fun decode(file: File): DecodedImage {
    val img = ImageIO.read(file) ?: throw IOException("cannot decode")
    val w = img.width
    val h = img.height
    val out = ByteArray(w * h * 4)
    for (y in 0 until h) for (x in 0 until w) {
        val p = img.getRGB(x, y)
        val i = (y * w + x) * 4
        out[i] = (p shr 16).toByte(); out[i + 1] = (p shr 8).toByte(); out[i + 2] = p.toByte(); out[i + 3] = 0xff.toByte()
    }
    return DecodedImage(out, w, h, w * 4, file.readBytes(), w, h)
}

/**
 * The picker's items: `image:NAME` decodes tests/fixtures/images/NAME, `video:NAME:SECONDS` is a
 * [FixtureVideo], `broken:*` fails to decode like a damaged file. Counts decodes in flight, and
 * can hold a decode until a test lets it go (for cancelling mid-run).
 */
class FixtureSource : MediaSource {
    private val inFlight = AtomicInteger()
    val maxInFlight = AtomicInteger()
    val decoded = CopyOnWriteArrayList<String>()
    val gates = ConcurrentHashMap<String, CompletableDeferred<Unit>>()
    val reached = ConcurrentHashMap<String, CompletableDeferred<Unit>>()

    fun hold(id: String) {
        gates[id] = CompletableDeferred()
        reached[id] = CompletableDeferred()
    }

    override suspend fun decodeImage(ref: MediaRef): DecodedImage {
        val n = inFlight.incrementAndGet()
        maxInFlight.accumulateAndGet(n) { a, b -> maxOf(a, b) }
        try {
            reached[ref.id]?.complete(Unit)
            gates[ref.id]?.await()
            decoded += ref.id
            val parts = ref.id.split(":")
            if (parts[0] == "broken") throw IOException("damaged")
            val file = File(Env.fixtures, "images/${parts[1]}")
            if (parts[0] == "unique") return decode(uniqueCopy(file))
            return decode(file)
        } finally {
            inFlight.decrementAndGet()
        }
    }

    override suspend fun openVideo(ref: MediaRef): VideoFrames {
        val parts = ref.id.split(":")
        decoded += ref.id
        return FixtureVideo(File(Env.fixtures, "images/${parts[1]}"), parts[2].toInt())
    }

    companion object {
        fun image(name: String) = MediaRef("image:$name", MediaKind.IMAGE)
        /** A copy of a fixture with one random pixel: a file no other test submits. */
        fun unique(name: String) = MediaRef("unique:$name:${SecureRandom().nextLong()}", MediaKind.IMAGE)
        fun broken(n: Int) = MediaRef("broken:$n", MediaKind.IMAGE)
        fun video(name: String, seconds: Int) = MediaRef("video:$name:$seconds", MediaKind.VIDEO)
    }
}

class TestLock(@Volatile var answer: Boolean = true, @Volatile var available: Boolean = true) : LockAuthenticator {
    val asked = AtomicInteger()
    override fun isAvailable() = available
    override suspend fun authenticate(): Boolean {
        asked.incrementAndGet()
        return answer
    }
}

class MemoryPreferences(override var lockEnabled: Boolean = false, override var neutralIcon: Boolean = false) : AppPreferences

class RecordingScheduler : FlushScheduler {
    val times = CopyOnWriteArrayList<Long>()
    override fun scheduleFlush(atMs: Long) { times += atMs }
}

/**
 * A loopback stand-in for the network between phone and service: forwards to the real
 * service, refuses every request with the service's JSON error, or is down (nothing listens
 * on its port: connection refused).
 */
class Network(private val upstream: String) {
    enum class Mode { FORWARD, REFUSE, DOWN }

    private val client = HttpClient.newHttpClient()
    @Volatile private var server: ServerSocket? = ServerSocket(0)
    val port = server!!.localPort
    val url = "http://127.0.0.1:$port"
    @Volatile var mode = Mode.FORWARD
        set(value) {
            field = value
            if (value == Mode.DOWN) { server?.close(); server = null } else if (server == null) listen(ServerSocket().apply { reuseAddress = true; bind(java.net.InetSocketAddress("127.0.0.1", port)) })
        }

    init { listen(server!!) }

    private fun listen(s: ServerSocket) {
        server = s
        thread(isDaemon = true) {
            while (!s.isClosed) {
                val c = try { s.accept() } catch (e: IOException) { break }
                thread(isDaemon = true) { c.use { handle(it) } }
            }
        }
    }

    fun close() { mode = Mode.DOWN }

    private fun handle(c: Socket) {
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
        val first = line().split(" ")
        if (first.size < 2) return
        val headers = HashMap<String, String>()
        while (true) {
            val h = line()
            if (h.isEmpty()) break
            val i = h.indexOf(':')
            if (i > 0) headers[h.substring(0, i).lowercase()] = h.substring(i + 1).trim()
        }
        val body = ByteArray(headers["content-length"]?.toInt() ?: 0).also { input.readFully(it) }
        val (status, answer) = if (mode == Mode.REFUSE) {
            422 to """{"error":{"code":"invalid_field","message":"refused","field":"items","added_later":1}}""".toByteArray()
        } else {
            val req = HttpRequest.newBuilder(URI.create(upstream + first[1]))
                .method(first[0], HttpRequest.BodyPublishers.ofByteArray(body))
            headers["authorization"]?.let { req.header("Authorization", it) }
            headers["content-type"]?.let { req.header("Content-Type", it) }
            val res = client.send(req.build(), HttpResponse.BodyHandlers.ofByteArray())
            res.statusCode() to res.body()
        }
        val out = c.getOutputStream()
        out.write("HTTP/1.1 $status X\r\nContent-Type: application/json\r\nContent-Length: ${answer.size}\r\nConnection: close\r\n\r\n".toByteArray())
        out.write(answer)
        out.flush()
    }
}

/** One app under test: its view models, its platform fakes, its own history and network. */
class TestApp(url: String? = null, val dir: File = Files.createTempDirectory("takedown-vm").toFile(), keys: MemoryKeys = MemoryKeys(), lockEnabled: Boolean = false) : AutoCloseable {
    val network = Network(Env.service)
    val opener = TestOpener(dir, url ?: network.url, keys)
    val media = FixtureSource()
    val lock = TestLock()
    val prefs = MemoryPreferences(lockEnabled = lockEnabled)
    val scheduler = RecordingScheduler()
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val vm = AppViewModel(opener, Platform(media, lock, prefs, scheduler), scope)
    val core: Takedown get() = opener.core ?: error("core not open")

    /** Starts the app and waits for the first screen. */
    fun start(): Screen = runBlocking {
        vm.start()
        await(vm.screen) { it != Screen.Opening }
    }

    override fun close() {
        vm.clear()
        // Wait until every coroutine has ended: an in-flight core call keeps the core
        // alive (and its history registered as open) until its Rust future is freed.
        runBlocking { withTimeout(30_000) { scope.coroutineContext[Job]!!.cancelAndJoin() } }
        opener.close()
        network.close()
    }
}

/** Runs a test with a fresh [TestApp] and closes it. */
fun withApp(lockEnabled: Boolean = false, block: (TestApp) -> Unit) {
    TestApp(lockEnabled = lockEnabled).use(block)
}

/** Waits (up to 20 s) until the state satisfies `ok`; returns it. */
suspend fun <T> await(flow: StateFlow<T>, ok: (T) -> Boolean): T = try {
    withTimeout(20_000) { flow.first(ok) }
} catch (e: kotlinx.coroutines.TimeoutCancellationException) {
    throw AssertionError("state never arrived; last: ${flow.value}")
}
