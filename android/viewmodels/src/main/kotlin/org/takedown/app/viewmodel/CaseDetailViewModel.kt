package org.takedown.app.viewmodel

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import org.takedown.core.CaseChanges
import org.takedown.core.CaseState
import org.takedown.core.FlushReport
import org.takedown.core.HistoryItemState
import org.takedown.core.TakedownException

/** One item of a case: what platforms did with it. */
data class ItemRow(
    val itemId: Long,
    /** "Picture 2". */
    val title: UiText,
    val state: HistoryItemState,
    val stateText: UiText,
    /** Platforms whose sync passed it, that found it, that removed it. */
    val seenBy: Int,
    val foundOn: Int,
    val removedOn: Int,
    val lowQuality: Boolean,
    val canWithdraw: Boolean,
) {
    val seenByText: UiText get() = UiText.plural(Keys.DETAIL_SEEN_BY, seenBy)
    val foundOnText: UiText get() = UiText.plural(Keys.DETAIL_FOUND_ON, foundOn)
    val removedOnText: UiText get() = UiText.plural(Keys.DETAIL_REMOVED_ON, removedOn)
}

/** Screen 9. */
data class DetailState(
    val caseId: Long? = null,
    val caseNumber: String? = null,
    val state: CaseState? = null,
    val stateText: UiText? = null,
    val items: List<ItemRow> = emptyList(),
    /** What was new when the user opened the case (it is marked seen then). */
    val changes: CaseChanges? = null,
    val recoveryKey: String? = null,
    /** "Withdraw the whole report?" is showing. */
    val confirmWithdrawAll: Boolean = false,
    val busy: Boolean = false,
    val message: UiText? = null,
) {
    val title: UiText? get() = caseNumber?.let { UiText(Keys.DETAIL_TITLE, it) }
    val canResubmit: Boolean get() = state == CaseState.REJECTED || items.any { it.state == HistoryItemState.REJECTED }
    val canCancelQueued: Boolean get() = state == CaseState.PENDING
    val canWithdrawAll: Boolean get() = state == CaseState.OPEN
    val canAddMore: Boolean get() = state == CaseState.OPEN || state == CaseState.PENDING
}

/** One case: per-item status, add more, withdraw one or all, resubmit, cancel a queued one. */
class CaseDetailViewModel internal constructor(app: AppViewModel) : ScreenModel(app) {
    private val _state = MutableStateFlow(DetailState())
    private val loading = Mutex()
    val state: StateFlow<DetailState> = _state.asStateFlow()

    /** Shows a case: stored status at once, then a refresh; what is new is marked seen. */
    fun open(caseId: Long): Job {
        _state.value = DetailState(caseId = caseId)
        app.go(Screen.CaseDetail(caseId))
        return app.launch {
            load(caseId, markSeen = true)
            refreshNow(caseId)
        }
    }

    /** Pull to refresh. */
    fun refresh(): Job? = _state.value.caseId?.let { id -> app.launch { refreshNow(id) } }

    private suspend fun refreshNow(caseId: Long) {
        if (_state.value.caseNumber == null) return // not sent yet: nothing to ask
        try {
            net { app.core().refreshStatus(caseId) }
        } catch (e: CancellationException) {
            throw e
        } catch (e: TakedownException) {
            _state.update { it.copy(message = it.message ?: userMessage(e)) }
        }
        load(caseId, markSeen = true)
    }

    private suspend fun load(caseId: Long, markSeen: Boolean) = loading.withLock {
        try {
            val d = io { app.core().caseDetail(caseId) }
            val byItem = d.status?.items.orEmpty().associateBy { it.itemId }
            val rows = d.items.mapIndexed { i, item ->
                val s = byItem[item.id]
                ItemRow(
                    itemId = item.id,
                    title = UiText(Keys.DETAIL_ITEM_LABEL, i + 1),
                    state = item.state,
                    stateText = itemStateText(item.state),
                    seenBy = s?.platformsSynced?.toInt() ?: 0,
                    foundOn = s?.matches?.toInt() ?: 0,
                    removedOn = s?.removals?.toInt() ?: 0,
                    lowQuality = item.lowQuality,
                    canWithdraw = item.state == HistoryItemState.ACTIVE,
                )
            }
            _state.update {
                if (it.caseId != caseId) return@update it
                it.copy(
                    caseNumber = d.case.caseNumber,
                    recoveryKey = d.case.recoveryKey,
                    state = d.case.state,
                    stateText = caseStateText(d.case.state, d.status?.state),
                    items = rows,
                    // Keep what was new at opening, so it stays highlighted while open.
                    changes = if (it.changes?.hasChanges == true) it.changes else d.changes,
                )
            }
            if (markSeen && d.status != null) io { app.core().markSeen(caseId) }
        } catch (e: TakedownException) {
            _state.update { if (it.caseId == caseId) it.copy(message = userMessage(e)) else it }
        }
    }

    private fun itemStateText(s: HistoryItemState): UiText = when (s) {
        HistoryItemState.PENDING -> UiText(Keys.STATE_QUEUED)
        HistoryItemState.ACTIVE -> UiText(Keys.STATE_SENT)
        HistoryItemState.WITHDRAWING, HistoryItemState.WITHDRAWN -> UiText(Keys.STATE_WITHDRAWN)
        HistoryItemState.REJECTED -> UiText(Keys.STATE_REJECTED)
    }

    private fun action(work: suspend (Long) -> Unit): Job? {
        val s = _state.value
        val id = s.caseId ?: return null
        if (s.busy) return null
        _state.update { it.copy(busy = true, message = null) }
        return app.launch {
            try {
                work(id)
            } catch (e: CancellationException) {
                throw e
            } catch (e: TakedownException) {
                _state.update { it.copy(message = userMessage(e, ErrorContext.SEND)) }
            } finally {
                _state.update { it.copy(busy = false) }
                if (_state.value.caseId == id) load(id, markSeen = false)
            }
        }
    }

    private fun reported(report: FlushReport) {
        app.afterFlush(report)
        if (report.pending > 0u) _state.update { it.copy(message = UiText(if (report.offline) Keys.ERROR_OFFLINE else Keys.SUBMIT_QUEUED)) }
    }

    /** Withdraws one item (queued, then sent). */
    fun withdrawItem(itemId: Long): Job? = action { reported(net { app.core().withdrawItem(itemId) }) }

    /** "Withdraw the whole report": asks first. */
    fun askWithdrawAll() = _state.update { it.copy(confirmWithdrawAll = true) }
    fun dismissWithdrawAll() = _state.update { it.copy(confirmWithdrawAll = false) }

    /** Confirmed: withdraws the case. */
    fun confirmWithdrawAll(): Job? {
        _state.update { it.copy(confirmWithdrawAll = false) }
        return action { reported(net { app.core().withdrawCase(it) }) }
    }

    /** A refused case (or refused items): queue again with fresh keys and send. */
    fun resubmit(): Job? = action { id ->
        io { app.core().resubmitCase(id) }
        reported(net { app.core().flush() })
    }

    /** A case still waiting: do not send it (gone from the history when it never left the phone). */
    fun cancelQueued(): Job? = action { id ->
        // Never tried: gone from the history. Tried (it may have reached the service): its
        // withdrawal is queued behind it, and the queue sends both.
        if (net { app.core().cancelQueuedCase(id) }) {
            _state.value = DetailState()
            app.history.open()
        } else {
            app.flushNow()
        }
    }

    /** Add more pictures to this case. */
    fun addMore() {
        _state.value.caseId?.let { app.report.beginAddTo(it) }
    }

    internal fun showMessage(text: UiText) = _state.update { it.copy(message = text) }

    override fun onCoreChanged() {
        val id = _state.value.caseId ?: return
        app.launch { load(id, markSeen = false) }
    }

    override fun reset() {
        _state.value = DetailState()
    }
}
