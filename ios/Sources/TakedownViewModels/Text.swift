// Every text a view model asks the UI to show, as a String Catalog key
// (ios/App/Resources/Localizable.xcstrings, generated from the Android strings.xml by
// scripts/strings.py). No user-facing text lives in Swift code: the view models emit
// `Message`s, the SwiftUI layer looks them up.
import TakedownCore

/// A key of the String Catalog. Every key a view model can emit is a case here, so a
/// test can check each against the catalog.
public enum L10nKey: String, CaseIterable, Sendable {
    // Every screen
    case quickExit = "quick_exit"
    case quickExitHint = "quick_exit_hint"
    case actionBack = "action_back"
    case actionContinue = "action_continue"
    case actionCancel = "action_cancel"
    case actionRetry = "action_retry"
    case actionClose = "action_close"
    // Start
    case startTitle = "start_title"
    case startWhatItDoes = "start_what_it_does"
    case startNothingLeaves = "start_nothing_leaves"
    case startWhatItCannot = "start_what_it_cannot"
    case startCaseNumber = "start_case_number"
    case startBegin = "start_begin"
    case startRestore = "start_restore"
    case startHistory = "start_history"
    case startSettings = "start_settings"
    // Eligibility
    case eligibilityTitle = "eligibility_title"
    case eligibilityUnder18 = "eligibility_under_18"
    case eligibilityRole = "eligibility_role"
    case eligibilityRoleSelf = "eligibility_role_self"
    case eligibilityRoleParent = "eligibility_role_parent"
    case eligibilityRoleOther = "eligibility_role_other"
    case eligibilityHasPictures = "eligibility_has_pictures"
    case answerYes = "answer_yes"
    case answerNo = "answer_no"
    case answerNotSure = "answer_not_sure"
    case notEligibleTitle = "not_eligible_title"
    case notEligibleAdult = "not_eligible_adult"
    case notEligibleRole = "not_eligible_role"
    case notEligibleNoPictures = "not_eligible_no_pictures"
    case notEligibleHelp = "not_eligible_help"
    // Pick
    case pickTitle = "pick_title"
    case pickExplain = "pick_explain"
    case pickOpen = "pick_open"
    // Review
    case reviewTitle = "review_title"
    case reviewCount = "review_count"
    case reviewRemove = "review_remove"
    case reviewAddMore = "review_add_more"
    case reviewLowQuality = "review_low_quality"
    case reviewVideoFewFrames = "review_video_few_frames"
    case reviewUnreadable = "review_unreadable"
    case reviewTooLarge = "review_too_large"
    case reviewThumbnailDescription = "review_thumbnail_description"
    // Hashing
    case hashingTitle = "hashing_title"
    case hashingProgress = "hashing_progress"
    case hashingStaysHere = "hashing_stays_here"
    case hashingCancelled = "hashing_cancelled"
    // Submit
    case submitTitle = "submit_title"
    case submitExplain = "submit_explain"
    case submitSend = "submit_send"
    case submitOffline = "submit_offline"
    case submitQueued = "submit_queued"
    case submitRejected = "submit_rejected"
    case submitResubmit = "submit_resubmit"
    case submitCancelQueued = "submit_cancel_queued"
    // Case number and recovery key
    case caseTitle = "case_title"
    case caseNumberLabel = "case_number_label"
    case recoveryKeyLabel = "recovery_key_label"
    case caseWriteDown = "case_write_down"
    case caseCopy = "case_copy"
    case caseCopied = "case_copied"
    case caseShowQr = "case_show_qr"
    case caseDone = "case_done"
    // Restore
    case restoreTitle = "restore_title"
    case restoreNumberHint = "restore_number_hint"
    case restoreKeyHint = "restore_key_hint"
    case restoreAction = "restore_action"
    case restoreBadKey = "restore_bad_key"
    case restoreNotFound = "restore_not_found"
    case restoreKeyLength = "restore_key_length"
    case restoreOffline = "restore_offline"
    // History
    case historyTitle = "history_title"
    case historyEmpty = "history_empty"
    case historyNewSinceVisit = "history_new_since_visit"
    case historyRefresh = "history_refresh"
    case historyUpdated = "history_updated"
    case stateQueued = "state_queued"
    case stateSent = "state_sent"
    case stateRejected = "state_rejected"
    case stateWithdrawn = "state_withdrawn"
    case stateUnknown = "state_unknown"
    // Case detail
    case detailTitle = "detail_title"
    case detailSeenBy = "detail_seen_by"
    case detailFoundOn = "detail_found_on"
    case detailRemovedOn = "detail_removed_on"
    case detailItemLabel = "detail_item_label"
    case detailAddMore = "detail_add_more"
    case detailWithdrawItem = "detail_withdraw_item"
    case detailWithdrawAll = "detail_withdraw_all"
    case detailWithdrawConfirm = "detail_withdraw_confirm"
    // Settings
    case settingsTitle = "settings_title"
    case settingsAppLock = "settings_app_lock"
    case settingsAppLockSummary = "settings_app_lock_summary"
    case settingsNeutralIcon = "settings_neutral_icon"
    case settingsLanguage = "settings_language"
    case settingsLanguageSummary = "settings_language_summary"
    case settingsDelete = "settings_delete"
    case settingsDeleteConfirm = "settings_delete_confirm"
    case settingsDeletePending = "settings_delete_pending"
    case settingsDeleteAnyway = "settings_delete_anyway"
    case settingsHelp = "settings_help"
    // Lock
    case lockTitle = "lock_title"
    case lockUnlock = "lock_unlock"
    // Help
    case helpTitle = "help_title"
    case helpIntro = "help_intro"
    case helpService1Name = "help_service_1_name"
    case helpService1Contact = "help_service_1_contact"
    case helpService2Name = "help_service_2_name"
    case helpService2Contact = "help_service_2_contact"
    case helpService3Name = "help_service_3_name"
    case helpService3Contact = "help_service_3_contact"
    // Errors
    case errorOffline = "error_offline"
    case errorService = "error_service"
    case errorStorageFull = "error_storage_full"
    case errorKeyUnavailable = "error_key_unavailable"
    case errorTooNew = "error_too_new"
    case errorUnexpected = "error_unexpected"
    case errorHistoryUnreadable = "error_history_unreadable"
    case notEligibleAgeUnknown = "not_eligible_age_unknown"
}

/// One argument of a catalog text (`%1$lld` or `%1$@`).
public enum MessageArg: Equatable, Hashable, Sendable {
    /// A number (`%lld`; also selects the plural form).
    case int(Int)
    /// A text (`%@`): a case number, a service error code — never user content.
    case text(String)
}

/// A text to show: a catalog key and its arguments.
public struct Message: Equatable, Hashable, Sendable {
    /// The catalog key.
    public let key: L10nKey
    /// Its arguments, in placeholder order.
    public let args: [MessageArg]

    /// A message for `key` with `args`.
    public init(_ key: L10nKey, _ args: MessageArg...) {
        self.key = key
        self.args = args
    }
}

extension L10nKey {
    /// The message of this key without arguments.
    public var message: Message { Message(self) }
}

/// A support service on the help screen (name and contact live in the catalog).
public struct HelpService: Hashable, Sendable {
    /// Its name.
    public let name: L10nKey
    /// Phone number and web address.
    public let contact: L10nKey
}

/// The support services the help screen lists.
public let helpServices: [HelpService] = [
    HelpService(name: .helpService1Name, contact: .helpService1Contact),
    HelpService(name: .helpService2Name, contact: .helpService2Contact),
    HelpService(name: .helpService3Name, contact: .helpService3Contact),
]
