package org.takedown.app

import android.app.Application
import androidx.fragment.app.FragmentActivity
import androidx.work.ExistingWorkPolicy
import java.lang.ref.WeakReference
import org.takedown.app.platform.AndroidCoreOpener
import org.takedown.app.platform.AndroidPreferences
import org.takedown.app.platform.BiometricLock
import org.takedown.app.platform.WorkManagerScheduler

/**
 * The process: one core object (shared by the screens and the background flush), the
 * preferences, the lock and the scheduler. No logic: the view models hold it.
 */
class TakedownApplication : Application() {
    /** The one core of the process. */
    val cores: AndroidCoreOpener by lazy { AndroidCoreOpener(this, BuildConfig.SERVICE_URL) }
    val preferences: AndroidPreferences by lazy { AndroidPreferences(this) }

    /** The app's own requests replace a waiting flush (the newest retry time wins). */
    val scheduler: WorkManagerScheduler by lazy { WorkManagerScheduler(this, ExistingWorkPolicy.REPLACE) }

    /** The worker's follow-up runs after the worker itself has finished. */
    val followUpScheduler: WorkManagerScheduler by lazy { WorkManagerScheduler(this, ExistingWorkPolicy.APPEND_OR_REPLACE) }

    /** The activity on screen, for the biometric prompt. */
    @Volatile var foreground: WeakReference<FragmentActivity>? = null
    val lock: BiometricLock by lazy { BiometricLock(this) { foreground?.get() } }
}
