package org.takedown.app.viewmodel

import org.takedown.core.CaseState
import org.takedown.core.IneligibleReason
import org.takedown.core.ItemErrorKind
import org.takedown.core.ServiceState
import org.takedown.core.TakedownException

/**
 * A text to show: the name of a string resource (`android/app/src/main/res/values/strings.xml`,
 * also the iOS String Catalog) and its arguments. View models never hold text; the UI looks
 * the key up. `quantity` set means a `<plurals>` resource.
 */
data class UiText(val key: String, val args: List<Any> = emptyList(), val quantity: Int? = null) {
    constructor(key: String, vararg args: Any) : this(key, args.toList(), quantity = null)

    companion object {
        /** A `<plurals>` text for `n` (also its `%1$d`). */
        fun plural(key: String, n: Int): UiText = UiText(key, listOf<Any>(n), quantity = n)
    }
}

/** Every string key the view models emit (checked against both strings.xml files by a test). */
object Keys {
    const val HASHING_CANCELLED = "hashing_cancelled"
    const val HASHING_PROGRESS = "hashing_progress"
    const val REVIEW_COUNT = "review_count"
    const val REVIEW_LOW_QUALITY = "review_low_quality"
    const val REVIEW_VIDEO_FEW_FRAMES = "review_video_few_frames"
    const val REVIEW_UNREADABLE = "review_unreadable"
    const val REVIEW_TOO_LARGE = "review_too_large"
    const val SUBMIT_OFFLINE = "submit_offline"
    const val SUBMIT_QUEUED = "submit_queued"
    const val SUBMIT_REJECTED = "submit_rejected"
    const val NOT_ELIGIBLE_ADULT = "not_eligible_adult"
    const val NOT_ELIGIBLE_AGE_UNKNOWN = "not_eligible_age_unknown"
    const val NOT_ELIGIBLE_ROLE = "not_eligible_role"
    const val NOT_ELIGIBLE_NO_PICTURES = "not_eligible_no_pictures"
    const val STATE_QUEUED = "state_queued"
    const val STATE_SENT = "state_sent"
    const val STATE_REJECTED = "state_rejected"
    const val STATE_WITHDRAWN = "state_withdrawn"
    const val STATE_UNKNOWN = "state_unknown"
    const val DETAIL_SEEN_BY = "detail_seen_by"
    const val DETAIL_FOUND_ON = "detail_found_on"
    const val DETAIL_REMOVED_ON = "detail_removed_on"
    const val DETAIL_ITEM_LABEL = "detail_item_label"
    const val DETAIL_TITLE = "detail_title"
    const val SETTINGS_DELETE_CONFIRM = "settings_delete_confirm"
    const val SETTINGS_DELETE_PENDING = "settings_delete_pending"
    const val RESTORE_BAD_KEY = "restore_bad_key"
    const val RESTORE_NOT_FOUND = "restore_not_found"
    const val RESTORE_KEY_LENGTH = "restore_key_length"
    const val RESTORE_OFFLINE = "restore_offline"
    const val ERROR_OFFLINE = "error_offline"
    const val ERROR_NO_CONNECTION = "error_no_connection"
    const val ERROR_SERVICE = "error_service"
    const val ERROR_STORAGE_FULL = "error_storage_full"
    const val ERROR_KEY_UNAVAILABLE = "error_key_unavailable"
    const val ERROR_TOO_NEW = "error_too_new"
    const val ERROR_HISTORY_UNREADABLE = "error_history_unreadable"
    const val ERROR_UNEXPECTED = "error_unexpected"
}

/** Where the error happened, when the same error reads differently. */
enum class ErrorContext {
    /** Sending a report: an offline service means "saved, sent later". */
    SEND,

    /** Reading status: an offline service means "showing what is saved". */
    READ,
}

/**
 * The one mapping from a core error to what the user reads. Never the error's own message
 * (it is English, technical, and written for logs).
 */
fun userMessage(e: Throwable, context: ErrorContext = ErrorContext.READ): UiText = when (e) {
    is TakedownException.Offline -> when {
        e.reason.startsWith("http_") || e.reason == "rate_limited" -> UiText(Keys.ERROR_SERVICE)
        context == ErrorContext.SEND -> UiText(Keys.ERROR_OFFLINE)
        else -> UiText(Keys.ERROR_NO_CONNECTION)
    }
    is TakedownException.DeadlineExceeded -> UiText(Keys.ERROR_SERVICE)
    is TakedownException.ServiceRejected -> UiText(Keys.SUBMIT_REJECTED, e.code)
    is TakedownException.DiskFull -> UiText(Keys.ERROR_STORAGE_FULL)
    is TakedownException.KeyStoreUnavailable -> UiText(Keys.ERROR_KEY_UNAVAILABLE)
    is TakedownException.TooNew -> UiText(Keys.ERROR_TOO_NEW)
    is TakedownException.WrongKey, is TakedownException.Storage -> UiText(Keys.ERROR_HISTORY_UNREADABLE)
    is TakedownException.InvalidMedia -> UiText(Keys.REVIEW_UNREADABLE)
    is TakedownException.LimitExceeded -> UiText(Keys.REVIEW_TOO_LARGE)
    is TakedownException.Cancelled -> UiText(Keys.HASHING_CANCELLED)
    is TakedownException.RecoveryKeyInvalid ->
        if (e.group == 0u) UiText(Keys.RESTORE_KEY_LENGTH) else UiText(Keys.RESTORE_BAD_KEY, e.group.toInt())
    else -> UiText(Keys.ERROR_UNEXPECTED)
}

/** The explanation of one reason a report cannot be taken. */
fun reasonText(reason: IneligibleReason): UiText = when (reason) {
    IneligibleReason.ADULT_WHEN_MADE -> UiText(Keys.NOT_ELIGIBLE_ADULT)
    IneligibleReason.AGE_UNKNOWN -> UiText(Keys.NOT_ELIGIBLE_AGE_UNKNOWN)
    IneligibleReason.SUBMITTER_NOT_ENTITLED -> UiText(Keys.NOT_ELIGIBLE_ROLE)
}

/** The warning shown for one hashing failure. */
fun itemErrorText(kind: ItemErrorKind): UiText = when (kind) {
    ItemErrorKind.INVALID_MEDIA, ItemErrorKind.UNREADABLE, ItemErrorKind.INCOMPLETE_FINGERPRINT -> UiText(Keys.REVIEW_UNREADABLE)
}

/** How a case's state reads in History and Case detail. */
fun caseStateText(state: CaseState, service: ServiceState?): UiText = when {
    service == ServiceState.UNKNOWN -> UiText(Keys.STATE_UNKNOWN)
    else -> when (state) {
        CaseState.PENDING -> UiText(Keys.STATE_QUEUED)
        CaseState.OPEN -> UiText(Keys.STATE_SENT)
        CaseState.WITHDRAWING, CaseState.WITHDRAWN -> UiText(Keys.STATE_WITHDRAWN)
        CaseState.REJECTED -> UiText(Keys.STATE_REJECTED)
    }
}
