package org.takedown.app.platform

import android.content.Context
import androidx.biometric.BiometricManager
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_STRONG
import androidx.biometric.BiometricManager.Authenticators.DEVICE_CREDENTIAL
import androidx.biometric.BiometricPrompt
import androidx.core.content.ContextCompat
import androidx.fragment.app.FragmentActivity
import kotlin.coroutines.resume
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withContext
import org.takedown.app.R
import org.takedown.app.viewmodel.LockAuthenticator

/** The app lock: the device's screen lock or a strong biometric, through BiometricPrompt. */
class BiometricLock(private val context: Context, private val activity: () -> FragmentActivity?) : LockAuthenticator {
    private val authenticators = BIOMETRIC_STRONG or DEVICE_CREDENTIAL

    override fun isAvailable(): Boolean =
        BiometricManager.from(context).canAuthenticate(authenticators) == BiometricManager.BIOMETRIC_SUCCESS

    override suspend fun authenticate(): Boolean = withContext(Dispatchers.Main) {
        val host = activity() ?: return@withContext false
        suspendCancellableCoroutine { cont ->
            val prompt = BiometricPrompt(
                host,
                ContextCompat.getMainExecutor(host),
                object : BiometricPrompt.AuthenticationCallback() {
                    override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) {
                        if (cont.isActive) cont.resume(true)
                    }

                    override fun onAuthenticationError(errorCode: Int, errString: CharSequence) {
                        if (cont.isActive) cont.resume(false)
                    }
                },
            )
            // The prompt's title is neutral, like the app's name.
            prompt.authenticate(
                BiometricPrompt.PromptInfo.Builder()
                    .setTitle(host.getString(R.string.lock_title))
                    .setAllowedAuthenticators(authenticators)
                    .build(),
            )
            cont.invokeOnCancellation { prompt.cancelAuthentication() }
        }
    }
}
