package org.takedown.app.viewmodel

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.takedown.core.CancelToken
import org.takedown.core.FlushReport
import org.takedown.core.Takedown
import org.takedown.core.TakedownException

/** The screens of docs/app-screens.md. */
sealed interface Screen {
    /** The core is being opened. */
    data object Opening : Screen

    /**
     * The saved history cannot be opened. [canWipe] when it is damaged or its key is gone
     * (offer to delete it; cases come back with their recovery keys); never for a newer
     * version's history or a locked key store, which updating or unlocking opens.
     */
    data class Unavailable(val message: UiText, val canWipe: Boolean) : Screen {
        companion object {
            /** The screen for the error [e] of opening the history. */
            fun of(e: TakedownException): Unavailable =
                Unavailable(userMessage(e), e is TakedownException.WrongKey || e is TakedownException.Storage)
        }
    }
    data object Lock : Screen
    data object Start : Screen
    data object Eligibility : Screen
    data object NotEligible : Screen
    data object Help : Screen
    data object Pick : Screen
    data object Review : Screen
    data object Hashing : Screen
    data object Submit : Screen
    data object CaseNumber : Screen
    data object Restore : Screen
    data object History : Screen
    data class CaseDetail(val caseId: Long) : Screen
    data object Settings : Screen

    /** Quick exit: the platform finishes the task and removes it from recents. */
    data object Closed : Screen
}

/**
 * The root of the app's state: which screen shows, the app lock, quick exit, and the one
 * core object. The screens' own view models hang off it. Every method returns at once;
 * work runs in [scope] (the platform's view-model scope), blocking core calls on [io].
 */
class AppViewModel(
    private val opener: CoreOpener,
    val platform: Platform,
    private val scope: CoroutineScope,
    internal val io: CoroutineDispatcher = Dispatchers.IO,
    /** Time a foreground flush may take, ms. */
    private val flushBudgetMs: Long = 20_000,
) {
    private val _screen = MutableStateFlow<Screen>(Screen.Opening)

    /** The screen to show. */
    val screen: StateFlow<Screen> = _screen.asStateFlow()

    @Volatile private var core: Takedown? = null
    private var work = newWork()
    private var changesJob: Job? = null

    val eligibility = EligibilityViewModel(this)
    val report = ReportViewModel(this)
    val history = HistoryViewModel(this)
    val detail = CaseDetailViewModel(this)
    val settings = SettingsViewModel(this)
    val restore = RestoreViewModel(this)

    private val screens: List<ScreenModel> = listOf(eligibility, report, history, detail, settings, restore)

    private fun newWork() = CoroutineScope(scope.coroutineContext + SupervisorJob(scope.coroutineContext[Job]))

    /** Launches screen work; quick exit cancels all of it. */
    internal fun launch(block: suspend CoroutineScope.() -> Unit): Job = work.launch(block = block)

    /** The open core; fails like a closed history when there is none. */
    internal fun core(): Takedown = core ?: throw TakedownException.Storage("closed")

    internal fun go(to: Screen) {
        _screen.value = to
    }

    /** Opens the core, then shows the lock or the start screen, then sends what is queued. */
    fun start(): Job = launch {
        _screen.value = Screen.Opening
        try {
            attach(opener.open())
        } catch (e: TakedownException) {
            _screen.value = Screen.Unavailable.of(e)
            return@launch
        }
        _screen.value = if (lockActive()) Screen.Lock else Screen.Start
        settings.load()
        flushNow()
    }

    private fun attach(opened: Takedown) {
        core = opened
        changesJob?.cancel()
        changesJob = scope.launch {
            opened.changes().collect { screens.forEach { it.onCoreChanged() } }
        }
    }

    /** Sends everything queued (foreground, with a deadline); schedules the rest. */
    fun flushNow(): Job = launch {
        try {
            afterFlush(closedAsStorage { core().flush(CancelToken.withTimeoutMs(flushBudgetMs.toULong())) })
        } catch (e: TakedownException) {
            // Stays queued; the scheduled work tries again.
        }
    }

    /** Connectivity came back: send what is queued now. */
    fun onConnectivityRestored(): Job = flushNow()

    /** Hands a flush's leftover to the background scheduler. */
    internal fun afterFlush(report: FlushReport) {
        scheduleRest(report, platform.scheduler, platform.nowMs())
    }

    private fun lockActive() = platform.preferences.lockEnabled && platform.lock.isAvailable()

    /** The lock screen's button. */
    fun unlock(): Job = launch {
        if (platform.lock.authenticate() && _screen.value == Screen.Lock) _screen.value = Screen.Start
    }

    @Volatile private var pickerOpen = false

    /** The system picker is about to cover the app: that is not leaving it. */
    fun onPickerOpened() {
        pickerOpen = true
    }

    /** The picker returned (with or without a choice). */
    fun onPickerClosed() {
        pickerOpen = false
    }

    /** The app went to the background: with the lock on, it is locked when it comes back. */
    fun onBackgrounded() {
        if (pickerOpen) return
        if (lockActive() && _screen.value != Screen.Closed && _screen.value !is Screen.Unavailable) {
            report.cancelHashing()
            _screen.value = Screen.Lock
        }
    }

    fun openEligibility() {
        eligibility.reset()
        go(Screen.Eligibility)
    }

    fun openHelp() = go(Screen.Help)
    fun openSettings() {
        settings.load()
        go(Screen.Settings)
    }

    fun openRestore() {
        restore.reset()
        go(Screen.Restore)
    }

    fun openHistory() = history.open()
    fun openCase(caseId: Long) = detail.open(caseId)

    /** The system back button / the back arrow. */
    fun back() {
        when (val s = _screen.value) {
            Screen.Eligibility, Screen.Help, Screen.Settings, Screen.Restore, Screen.History -> go(Screen.Start)
            Screen.NotEligible -> go(Screen.Eligibility)
            Screen.Pick -> report.state.value.addToCase?.let { openCase(it) } ?: go(Screen.Eligibility)
            Screen.Review -> go(Screen.Pick)
            Screen.Hashing -> report.cancelHashing()
            Screen.Submit -> go(Screen.Review)
            Screen.CaseNumber -> report.done()
            is Screen.CaseDetail -> history.open()
            else -> s.let { }
        }
    }

    /**
     * Quick exit: stops all work, forgets every screen's state (selection, fingerprints,
     * case numbers on screen), and tells the platform to close. The core object stays
     * open: it belongs to the process (the background flush uses it too).
     */
    fun quickExit() {
        report.cancelHashing()
        work.cancel()
        work = newWork()
        screens.forEach { it.reset() }
        _screen.value = Screen.Closed
    }

    /**
     * "Delete everything" closed the core: stop what screens were doing with it, forget
     * their state, open an empty history and start over.
     */
    internal fun afterDeleteEverything(old: Takedown) {
        changesJob?.cancel()
        core = null
        opener.discard(old)
        work.cancel()
        work = newWork()
        screens.forEach { if (it !== settings) it.reset() }
        launch {
            try {
                attach(opener.open())
                _screen.value = Screen.Start
            } catch (e: TakedownException) {
                _screen.value = Screen.Unavailable.of(e)
            }
        }
    }

    /** On [Screen.Unavailable]: wipe the unreadable history and start with an empty one. */
    fun wipeUnreadableHistory(): Job = launch {
        if ((_screen.value as? Screen.Unavailable)?.canWipe != true) return@launch
        withContext(io) { opener.wipe() }
        screens.forEach { it.reset() }
        try {
            attach(opener.open())
            _screen.value = Screen.Start
        } catch (e: TakedownException) {
            _screen.value = Screen.Unavailable.of(e)
        }
    }

    /** Stops listening (the platform's view model is cleared). The core stays open. */
    fun clear() {
        changesJob?.cancel()
        work.cancel()
    }
}

/** One screen's view model: its state can be dropped at once (quick exit). */
abstract class ScreenModel internal constructor(protected val app: AppViewModel) {
    /** Forget everything this screen holds. */
    abstract fun reset()

    /** The core reported a change (also from a background flush): re-read. */
    internal open fun onCoreChanged() {}

    /** Runs a blocking core call off the caller's thread. */
    protected suspend fun <T> io(block: () -> T): T = withContext(app.io) { closedAsStorage(block) }

    /** Runs a suspending core call; a core closed meanwhile fails like a closed history. */
    protected suspend fun <T> net(block: suspend () -> T): T = closedAsStorage { block() }
}

/** A core object closed meanwhile (uniffi throws `IllegalStateException`) reads like a closed history. */
internal inline fun <T> closedAsStorage(block: () -> T): T = try {
    block()
} catch (e: kotlinx.coroutines.CancellationException) {
    throw e // also an IllegalStateException
} catch (e: IllegalStateException) {
    throw TakedownException.Storage("closed")
}
