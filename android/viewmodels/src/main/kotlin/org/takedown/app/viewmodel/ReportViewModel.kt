package org.takedown.app.viewmodel

import java.util.UUID
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.withContext
import org.takedown.core.CancelToken
import org.takedown.core.CaseState
import org.takedown.core.EligibilityAnswers
import org.takedown.core.ItemFingerprint
import org.takedown.core.MediaKind
import org.takedown.core.SubmitItem
import org.takedown.core.TakedownException

/** One picked item: a handle (never pixels), and after hashing its fingerprints or a warning. */
data class SelectedItem(
    val ref: MediaRef,
    val fingerprint: ItemFingerprint? = null,
    /** Low quality, unreadable, too large: shown under the item. */
    val warning: UiText? = null,
) {
    /** Hashed and ready to send. */
    val usable: Boolean get() = fingerprint != null
}

/** How far hashing has got. */
data class HashingProgress(val done: Int, val total: Int) {
    val text: UiText get() = UiText(Keys.HASHING_PROGRESS, done, total)
}

/** The report after the tap on "send". */
data class ReportResult(
    val caseId: Long,
    /** The service's number, once it has answered (a queued case gets it later). */
    val caseNumber: String?,
    /** The key to restore the case elsewhere (made when the case is queued). */
    val recoveryKey: String?,
    /** `false`: queued, sent later by the queue. */
    val sent: Boolean,
)

/** Pick, Review, Hashing, Submit and the case-number screen: one report in the making. */
data class ReportState(
    /** The eligibility answers (a new case) … */
    val answers: EligibilityAnswers? = null,
    /** … or the case that gets more items ("add more"). */
    val addToCase: Long? = null,
    val items: List<SelectedItem> = emptyList(),
    val progress: HashingProgress? = null,
    val sending: Boolean = false,
    val message: UiText? = null,
    val result: ReportResult? = null,
) {
    /** "3 items selected". */
    val countText: UiText get() = UiText.plural(Keys.REVIEW_COUNT, items.size)
    val canHash: Boolean get() = items.isNotEmpty()
    val canSend: Boolean get() = items.any { it.usable } && !sending
}

/**
 * The selection lives in memory only (handles and fingerprints). Hashing hands the core one
 * item at a time ([mediaInput] → `hashItem`), so a 50-photo selection is never decoded at
 * once. Sending queues the case with a request id made once per report, so a second tap or
 * a retry after an error never opens a second case.
 */
class ReportViewModel internal constructor(app: AppViewModel) : ScreenModel(app) {
    private val _state = MutableStateFlow(ReportState())
    val state: StateFlow<ReportState> = _state.asStateFlow()

    @Volatile private var hashToken: CancelToken? = null
    @Volatile private var hashJob: Job? = null
    @Volatile private var requestId: String? = null

    /** A new case after the eligibility questions. */
    internal fun begin(answers: EligibilityAnswers) {
        forget()
        _state.value = ReportState(answers = answers)
    }

    /** "Add more" on a case: pick, hash and add to it. */
    fun beginAddTo(caseId: Long) {
        forget()
        _state.value = ReportState(addToCase = caseId)
        app.go(Screen.Pick)
    }

    /** The system picker returned (nothing chosen: stay on the picker). */
    fun onPicked(refs: List<MediaRef>) {
        if (refs.isEmpty()) return
        _state.update { s ->
            val known = s.items.map { it.ref.id }.toSet()
            s.copy(items = s.items + refs.filter { it.id !in known }.map { SelectedItem(it) }, message = null)
        }
        app.go(Screen.Review)
    }

    /** Review: "choose more" opens the picker again. */
    fun chooseMore() = app.go(Screen.Pick)

    /** Removes one item from the selection (Review or Submit). */
    fun remove(id: String) {
        _state.update { s -> s.copy(items = s.items.filter { it.ref.id != id }) }
        // Another selection is another report: the next tap makes a new one.
        if (_state.value.result == null) requestId = null
        if (_state.value.items.isEmpty() && app.screen.value in listOf(Screen.Review, Screen.Submit)) app.go(Screen.Pick)
    }

    /** Review → Hashing: one item at a time, with progress; then Submit. */
    fun startHashing() {
        val items = _state.value.items
        if (items.isEmpty() || hashJob?.isActive == true) return
        val token = CancelToken()
        hashToken = token
        _state.update { it.copy(progress = HashingProgress(0, items.size), message = null) }
        app.go(Screen.Hashing)
        hashJob = app.launch {
            val out = ArrayList<SelectedItem>(items.size)
            try {
                for (item in items) {
                    out += hashOne(item, token)
                    _state.update { it.copy(progress = HashingProgress(out.size, items.size)) }
                }
            } catch (e: CancellationException) {
                return@launch
            } catch (e: TakedownException.Cancelled) {
                return@launch
            }
            if (token.isCancelled()) return@launch
            requestId = null
            _state.update { it.copy(items = out, progress = null) }
            app.go(Screen.Submit)
        }
    }

    private suspend fun hashOne(item: SelectedItem, token: CancelToken): SelectedItem {
        val core = app.core()
        return try {
            // Decoding and pushing video frames are blocking: off the main thread.
            val input = withContext(app.io) { mediaInput(app.platform.media, item.ref, token) }
            val hashed = net { core.hashItem(input, token) }
            val f = hashed.fingerprint
            when {
                f == null -> item.copy(fingerprint = null, warning = hashed.error?.let { itemErrorText(it.kind) } ?: UiText(Keys.REVIEW_UNREADABLE))
                f.lowQuality && f.kind == MediaKind.VIDEO -> item.copy(fingerprint = f, warning = UiText(Keys.REVIEW_VIDEO_FEW_FRAMES))
                f.lowQuality -> item.copy(fingerprint = f, warning = UiText(Keys.REVIEW_LOW_QUALITY))
                else -> item.copy(fingerprint = f, warning = null)
            }
        } catch (e: TakedownException.Cancelled) {
            throw e
        } catch (e: TakedownException.DeadlineExceeded) {
            throw TakedownException.Cancelled()
        } catch (e: TakedownException) {
            item.copy(fingerprint = null, warning = userMessage(e))
        } catch (e: CancellationException) {
            throw e
        } catch (e: OutOfMemoryError) {
            // The platform could not hold this one picture at full size.
            item.copy(fingerprint = null, warning = UiText(Keys.REVIEW_TOO_LARGE))
        } catch (e: Exception) {
            // The platform's decoder failed (damaged file, a permission the picker revoked).
            item.copy(fingerprint = null, warning = UiText(Keys.REVIEW_UNREADABLE))
        }
    }

    /** Hashing → Review; nothing was sent, the fingerprints made so far are dropped. */
    fun cancelHashing() {
        val job = hashJob ?: return
        hashToken?.cancel()
        job.cancel()
        hashJob = null
        if (app.screen.value == Screen.Hashing) {
            _state.update { s ->
                s.copy(progress = null, items = s.items.map { SelectedItem(it.ref) }, message = UiText(Keys.HASHING_CANCELLED))
            }
            app.go(Screen.Review)
        }
    }

    /** Submit: queue the case (or the added items), then try to send it now. */
    fun send(): Job? {
        val s = _state.value
        if (s.sending) return null
        val items = s.items.mapNotNull { it.fingerprint }.map { SubmitItem(it, null) }
        if (items.isEmpty()) return null
        _state.update { it.copy(sending = true, message = null) }
        return app.launch {
            try {
                val target = s.addToCase
                if (target != null) addTo(target, items) else sendCase(s.answers ?: return@launch, items)
            } catch (e: CancellationException) {
                throw e
            } catch (e: TakedownException) {
                _state.update { it.copy(message = userMessage(e, ErrorContext.SEND)) }
            } finally {
                _state.update { it.copy(sending = false) }
            }
        }
    }

    private suspend fun sendCase(answers: EligibilityAnswers, items: List<SubmitItem>) {
        val core = app.core()
        val id = requestId ?: UUID.randomUUID().toString().also { requestId = it }
        val case = io { core.queueCase(id, answers, items) }
        val report = net { core.flush() }
        app.afterFlush(report)
        val now = io { core.caseDetail(case.id).case }
        if (now.state == CaseState.REJECTED) {
            _state.update { it.copy(message = UiText(Keys.SUBMIT_REJECTED, now.rejection ?: "")) }
            return
        }
        val sent = now.caseNumber != null
        _state.update {
            it.copy(
                result = ReportResult(now.id, now.caseNumber, now.recoveryKey, sent),
                message = when {
                    sent -> null
                    report.offline -> UiText(Keys.SUBMIT_OFFLINE)
                    else -> UiText(Keys.SUBMIT_QUEUED)
                },
            )
        }
        app.go(Screen.CaseNumber)
    }

    private suspend fun addTo(caseId: Long, items: List<SubmitItem>) {
        if (_state.value.result != null) return // added already: a second tap adds nothing
        val out = net { app.core().addItems(caseId, items) }
        app.afterFlush(out.flush)
        _state.update { it.copy(result = ReportResult(caseId, out.caseNumber, null, out.sent)) }
        reset()
        app.openCase(caseId)
        if (!out.sent) app.detail.showMessage(UiText(if (out.flush.offline) Keys.SUBMIT_OFFLINE else Keys.SUBMIT_QUEUED))
    }

    /** "I saved them": the report is finished; on to the history. */
    fun done() {
        reset()
        app.openHistory()
    }

    override fun onCoreChanged() {
        val r = _state.value.result ?: return
        if (r.caseNumber != null || _state.value.addToCase != null) return
        app.launch {
            val now = try { io { app.core().caseDetail(r.caseId).case } } catch (e: TakedownException) { return@launch }
            if (now.caseNumber != null) {
                _state.update { s ->
                    if (s.result?.caseId != r.caseId) s
                    else s.copy(result = s.result.copy(caseNumber = now.caseNumber, sent = true), message = null)
                }
            }
        }
    }

    private fun forget() {
        hashToken?.cancel()
        hashJob?.cancel()
        hashJob = null
        hashToken = null
        requestId = null
    }

    override fun reset() {
        forget()
        _state.value = ReportState()
    }
}
