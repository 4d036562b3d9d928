package org.takedown.app.viewmodel

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import org.takedown.core.TakedownException
import org.takedown.core.normalizeRecoveryKey

/** "I already have a case number": the case number and recovery key as typed. */
data class RestoreState(
    val caseNumber: String = "",
    val recoveryKey: String = "",
    val busy: Boolean = false,
    /** A mistyped group ("group 3"), a wrong length, not found, offline. */
    val message: UiText? = null,
) {
    val canRestore: Boolean get() = caseNumber.isNotBlank() && recoveryKey.isNotBlank() && !busy
}

/**
 * Brings a case back onto this phone (after "delete everything", a reinstall, a new phone)
 * from its number and recovery key. The key is checked on the phone first: a mistyped group
 * keeps the screen, names the group, and sends nothing.
 */
class RestoreViewModel internal constructor(app: AppViewModel) : ScreenModel(app) {
    private val _state = MutableStateFlow(RestoreState())
    val state: StateFlow<RestoreState> = _state.asStateFlow()

    fun setCaseNumber(text: String) = _state.update { it.copy(caseNumber = text, message = null) }
    fun setRecoveryKey(text: String) = _state.update { it.copy(recoveryKey = text, message = null) }

    /** "Open case": on success the case's detail opens. */
    fun restore(): Job? {
        val s = _state.value
        if (!s.canRestore) return null
        val key = try {
            normalizeRecoveryKey(s.recoveryKey)
        } catch (e: TakedownException) {
            _state.update { it.copy(message = userMessage(e)) }
            return null
        }
        _state.update { it.copy(recoveryKey = key, busy = true, message = null) }
        return app.launch {
            try {
                val case = net { app.core().restoreCase(s.caseNumber.trim(), key) }
                reset()
                app.openCase(case.id)
            } catch (e: CancellationException) {
                throw e
            } catch (e: TakedownException) {
                _state.update { it.copy(message = restoreMessage(e)) }
            } finally {
                _state.update { it.copy(busy = false) }
            }
        }
    }

    private fun restoreMessage(e: TakedownException): UiText = when (e) {
        // The same answer for an unknown case and a wrong key (the service does not tell).
        is TakedownException.ServiceRejected ->
            if (e.code == "rate_limited") UiText(Keys.ERROR_SERVICE) else UiText(Keys.RESTORE_NOT_FOUND)
        is TakedownException.InvalidInput -> UiText(Keys.RESTORE_NOT_FOUND)
        is TakedownException.Offline ->
            if (e.reason == "offline" || e.reason == "timeout") UiText(Keys.RESTORE_OFFLINE) else UiText(Keys.ERROR_SERVICE)
        else -> userMessage(e)
    }

    override fun reset() {
        _state.value = RestoreState()
    }
}
