package org.takedown.app.platform

import android.content.Context
import java.io.File
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import org.takedown.app.viewmodel.CoreOpener
import org.takedown.core.NetworkOptions
import org.takedown.core.Takedown
import org.takedown.core.openTakedown

/**
 * Holds the process's one core object. The history lives in `noBackupFilesDir` (never in a
 * backup), its key is wrapped by an Android Keystore key.
 */
class AndroidCoreOpener(context: Context, private val serviceUrl: String) : CoreOpener {
    private val dir = File(context.noBackupFilesDir, "takedown")
    private val keys = KeystoreKeyProvider(File(context.noBackupFilesDir, "takedown.key"))
    private val mutex = Mutex()
    @Volatile private var core: Takedown? = null

    override suspend fun open(): Takedown = mutex.withLock {
        core ?: run {
            dir.mkdirs()
            openTakedown(dir.path, serviceUrl, keys, NetworkOptions()).also { core = it }
        }
    }

    override fun discard(core: Takedown) {
        if (this.core === core) this.core = null
        core.close()
    }

    override suspend fun wipe() = mutex.withLock {
        core?.close()
        core = null
        dir.deleteRecursively()
        keys.deleteKey()
    }
}
