package org.takedown.app.platform

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import java.util.concurrent.TimeUnit
import org.takedown.app.TakedownApplication
import org.takedown.app.viewmodel.FlushScheduler
import org.takedown.app.viewmodel.backgroundFlush
import org.takedown.core.TakedownException

/**
 * Asks WorkManager for a flush at the core's next-attempt time, once there is a network
 * (so it also runs when connectivity returns). One unique job: the app's requests replace a
 * waiting one; the worker's own follow-up is appended after it.
 */
class WorkManagerScheduler(private val context: Context, private val policy: ExistingWorkPolicy) : FlushScheduler {
    override fun scheduleFlush(atMs: Long) {
        val delay = (atMs - System.currentTimeMillis()).coerceAtLeast(0)
        val request = OneTimeWorkRequestBuilder<FlushWorker>()
            .setInitialDelay(delay, TimeUnit.MILLISECONDS)
            .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
            .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 1, TimeUnit.MINUTES)
            .build()
        WorkManager.getInstance(context).enqueueUniqueWork(UNIQUE_NAME, policy, request)
    }

    companion object {
        const val UNIQUE_NAME = "takedown-flush"
    }
}

/** Sends the queue in the background, within WorkManager's time, and schedules what is left. */
class FlushWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val app = applicationContext as TakedownApplication
        return try {
            val core = app.cores.open()
            backgroundFlush(core, BUDGET_MS, app.followUpScheduler, System.currentTimeMillis())
            Result.success()
        } catch (e: TakedownException.KeyStoreUnavailable) {
            Result.retry()
        } catch (e: TakedownException) {
            Result.failure()
        }
    }

    companion object {
        /** WorkManager stops a worker after 10 minutes: stop sending well before. */
        const val BUDGET_MS = 8 * 60 * 1000L
    }
}
