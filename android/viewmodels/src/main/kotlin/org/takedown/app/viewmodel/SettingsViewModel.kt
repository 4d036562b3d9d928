package org.takedown.app.viewmodel

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import org.takedown.core.TakedownException

/** Where "delete everything" stands. */
enum class DeleteStep {
    NONE,

    /** "This removes your reports from this phone…" with a confirm button. */
    CONFIRM,

    /** Withdrawals are still queued and would be lost: "delete anyway". */
    PENDING_WARNING,
}

/** Screen 10. */
data class SettingsState(
    val lockEnabled: Boolean = false,
    /** The device has a screen lock or biometrics (else the switch is disabled). */
    val lockAvailable: Boolean = false,
    val neutralIcon: Boolean = false,
    val deleteStep: DeleteStep = DeleteStep.NONE,
    /** Withdrawals still queued, when the core refused to delete. */
    val pendingWithdrawals: Int = 0,
    val busy: Boolean = false,
    val message: UiText? = null,
) {
    /** The text of the delete dialog, if one is showing. */
    val deleteText: UiText? get() = when (deleteStep) {
        DeleteStep.NONE -> null
        DeleteStep.CONFIRM -> UiText(Keys.SETTINGS_DELETE_CONFIRM)
        DeleteStep.PENDING_WARNING -> UiText(Keys.SETTINGS_DELETE_PENDING)
    }
}

/** App lock on/off (turning it on asks for the credential once), neutral icon, delete everything. */
class SettingsViewModel internal constructor(app: AppViewModel) : ScreenModel(app) {
    private val _state = MutableStateFlow(SettingsState())
    val state: StateFlow<SettingsState> = _state.asStateFlow()

    internal fun load() {
        val p = app.platform.preferences
        _state.update { it.copy(lockEnabled = p.lockEnabled, lockAvailable = app.platform.lock.isAvailable(), neutralIcon = p.neutralIcon) }
    }

    /** Turning the lock on needs one successful unlock, so nobody locks themselves out. */
    fun setLock(on: Boolean): Job = app.launch {
        if (on && !(app.platform.lock.isAvailable() && app.platform.lock.authenticate())) return@launch
        app.platform.preferences.lockEnabled = on
        _state.update { it.copy(lockEnabled = on) }
    }

    fun setNeutralIcon(on: Boolean) {
        app.platform.preferences.neutralIcon = on
        _state.update { it.copy(neutralIcon = on) }
    }

    fun askDelete() = _state.update { it.copy(deleteStep = DeleteStep.CONFIRM, message = null) }
    fun dismissDelete() = _state.update { it.copy(deleteStep = DeleteStep.NONE) }

    /** Confirmed: the core refuses while withdrawals are queued, which turns into the warning. */
    fun confirmDelete(): Job? = delete(force = false)

    /** After the warning: delete even though queued withdrawals will never be sent. */
    fun deleteAnyway(): Job? = delete(force = true)

    private fun delete(force: Boolean): Job? {
        if (_state.value.busy) return null
        _state.update { it.copy(busy = true) }
        return app.launch {
            try {
                val core = app.core()
                io { core.deleteEverything(force) }
                _state.update { it.copy(deleteStep = DeleteStep.NONE, pendingWithdrawals = 0, busy = false) }
                app.afterDeleteEverything(core)
            } catch (e: CancellationException) {
                throw e
            } catch (e: TakedownException.WithdrawalsPending) {
                _state.update { it.copy(deleteStep = DeleteStep.PENDING_WARNING, pendingWithdrawals = e.count.toInt()) }
            } catch (e: TakedownException) {
                _state.update { it.copy(deleteStep = DeleteStep.NONE, message = userMessage(e)) }
            } finally {
                _state.update { it.copy(busy = false) }
            }
        }
    }

    override fun reset() {
        _state.value = SettingsState()
        load()
    }
}
