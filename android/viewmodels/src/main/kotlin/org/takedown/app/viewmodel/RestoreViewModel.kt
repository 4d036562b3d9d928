package org.takedown.app.viewmodel

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

/** "I already have a case number": the case number and recovery key as typed. */
data class RestoreState(
    val caseNumber: String = "",
    val recoveryKey: String = "",
    val busy: Boolean = false,
    val message: UiText? = null,
) {
    val canRestore: Boolean get() = caseNumber.isNotBlank() && recoveryKey.isNotBlank() && !busy
}

/** Restore a case on this phone from its case number and recovery key. */
class RestoreViewModel internal constructor(app: AppViewModel) : ScreenModel(app) {
    private val _state = MutableStateFlow(RestoreState())
    val state: StateFlow<RestoreState> = _state.asStateFlow()

    fun setCaseNumber(text: String) = _state.update { it.copy(caseNumber = text, message = null) }
    fun setRecoveryKey(text: String) = _state.update { it.copy(recoveryKey = text, message = null) }

    override fun reset() {
        _state.value = RestoreState()
    }
}
