package org.takedown.app.viewmodel

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import org.takedown.core.CancelToken
import org.takedown.core.TakedownException

/** One case in the list. */
data class CaseRow(
    val caseId: Long,
    val caseNumber: String?,
    val state: UiText,
    /** Something changed since the user last opened this case. */
    val isNew: Boolean,
    val itemCount: Int,
    /** Unix seconds. */
    val createdAt: Long,
)

/** Screen 8. */
data class HistoryState(
    val rows: List<CaseRow> = emptyList(),
    val loaded: Boolean = false,
    val refreshing: Boolean = false,
    val message: UiText? = null,
    /** Unix ms of the last successful refresh in this session. */
    val updatedAtMs: Long? = null,
) {
    val isEmpty: Boolean get() = loaded && rows.isEmpty()
    val hasNew: Boolean get() = rows.any { it.isNew }
}

/** The history: read from the core (no network), refreshed on open and on pull-to-refresh. */
class HistoryViewModel internal constructor(app: AppViewModel) : ScreenModel(app) {
    private val _state = MutableStateFlow(HistoryState())
    private val loading = Mutex()
    val state: StateFlow<HistoryState> = _state.asStateFlow()

    /** Shows the history and refreshes it from the service. */
    fun open(): Job {
        // Refreshing from now on: what is on screen may be from the last visit.
        _state.update { it.copy(refreshing = true, message = null) }
        app.go(Screen.History)
        return app.launch {
            load()
            refreshNow()
        }
    }

    /** Pull to refresh. */
    fun refresh(): Job {
        _state.update { it.copy(refreshing = true, message = null) }
        return app.launch { refreshNow() }
    }

    private suspend fun refreshNow() {
        try {
            net { app.core().refreshAll(CancelToken.withTimeoutMs(20_000u)) }
            _state.update { it.copy(updatedAtMs = app.platform.nowMs()) }
        } catch (e: CancellationException) {
            throw e
        } catch (e: TakedownException) {
            _state.update { it.copy(message = userMessage(e)) }
        }
        try {
            load()
        } finally {
            _state.update { it.copy(refreshing = false) }
        }
    }

    /** Re-reads the list from the core. */
    internal suspend fun load() = loading.withLock {
        try {
            val rows = io {
                val core = app.core()
                val changed = core.changesSinceSeen().filter { it.hasChanges }.map { it.caseId }.toSet()
                core.listCases().map { c ->
                    CaseRow(
                        caseId = c.id,
                        caseNumber = c.caseNumber,
                        state = caseStateText(c.state, core.caseStatus(c.id)?.state),
                        isNew = c.id in changed,
                        itemCount = c.itemCount.toInt(),
                        createdAt = c.createdAt,
                    )
                }
            }
            _state.update { it.copy(rows = rows, loaded = true) }
        } catch (e: TakedownException) {
            _state.update { it.copy(message = userMessage(e), loaded = true) }
        }
    }

    override fun onCoreChanged() {
        if (_state.value.loaded) app.launch { load() }
    }

    override fun reset() {
        _state.value = HistoryState()
    }
}
