package org.takedown.app.platform

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.security.GeneralSecurityException
import java.security.KeyStore
import java.security.ProviderException
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import org.takedown.core.KeyProvider
import org.takedown.core.TakedownException

/**
 * The core's key provider on Android: the 32-byte history key, encrypted (AES-256-GCM) with
 * a non-exportable Android Keystore key, in a file in `noBackupFilesDir`. The Keystore key
 * needs no user authentication, so the background flush can open the history.
 */
class KeystoreKeyProvider(private val file: File) : KeyProvider {
    private val alias = "takedown-history-key"

    private fun keyStore(): KeyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }

    private fun wrappingKey(create: Boolean): SecretKey? {
        (keyStore().getKey(alias, null) as? SecretKey)?.let { return it }
        if (!create) return null
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        gen.init(
            KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return gen.generateKey()
    }

    /** Keystore trouble is "try again later" for the core; nothing is changed. */
    private inline fun <T> keystore(block: () -> T): T = try {
        block()
    } catch (e: GeneralSecurityException) {
        throw TakedownException.KeyStoreUnavailable()
    } catch (e: ProviderException) {
        throw TakedownException.KeyStoreUnavailable()
    }

    override fun loadKey(): ByteArray? {
        if (!file.exists()) return null
        val blob = file.readBytes()
        if (blob.size < 13) return null
        return keystore {
            val key = wrappingKey(create = false) ?: return null
            try {
                Cipher.getInstance("AES/GCM/NoPadding").run {
                    init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, blob, 0, 12))
                    doFinal(blob, 12, blob.size - 12)
                }
            } catch (e: AEADBadTagException) {
                null // not ours: the core reports a key that does not open the history
            }
        }
    }

    override fun storeKey(key: ByteArray) = keystore {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, wrappingKey(create = true))
        val blob = cipher.iv + cipher.doFinal(key)
        val tmp = File(file.path + ".tmp")
        tmp.writeBytes(blob)
        if (!tmp.renameTo(file)) throw TakedownException.Storage("cannot store the key")
    }

    override fun deleteKey() {
        file.delete()
        keystore { keyStore().deleteEntry(alias) }
    }
}
