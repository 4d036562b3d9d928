package org.takedown.app.viewmodel

import org.junit.Assert.assertEquals
import org.junit.Test
import org.takedown.core.CaseState
import org.takedown.core.IneligibleReason
import org.takedown.core.ServiceState
import org.takedown.core.TakedownException

/** What each core error reads as (a resource key, never the error's own text). */
class MessagesTest {
    @Test
    fun everyCoreErrorHasAUserText() {
        val cases = listOf(
            Triple(TakedownException.Offline("offline"), ErrorContext.SEND, Keys.ERROR_OFFLINE),
            Triple(TakedownException.Offline("timeout"), ErrorContext.READ, Keys.ERROR_NO_CONNECTION),
            Triple(TakedownException.Offline("http_503"), ErrorContext.SEND, Keys.ERROR_SERVICE),
            Triple(TakedownException.Offline("rate_limited"), ErrorContext.READ, Keys.ERROR_SERVICE),
            Triple(TakedownException.DeadlineExceeded(), ErrorContext.READ, Keys.ERROR_SERVICE),
            Triple(TakedownException.ServiceRejected("case_withdrawn", "x"), ErrorContext.SEND, Keys.SUBMIT_REJECTED),
            Triple(TakedownException.DiskFull(), ErrorContext.SEND, Keys.ERROR_STORAGE_FULL),
            Triple(TakedownException.KeyStoreUnavailable(), ErrorContext.READ, Keys.ERROR_KEY_UNAVAILABLE),
            Triple(TakedownException.TooNew(9u, 3u), ErrorContext.READ, Keys.ERROR_TOO_NEW),
            Triple(TakedownException.WrongKey(), ErrorContext.READ, Keys.ERROR_HISTORY_UNREADABLE),
            Triple(TakedownException.Storage("damaged"), ErrorContext.READ, Keys.ERROR_HISTORY_UNREADABLE),
            Triple(TakedownException.InvalidMedia("x"), ErrorContext.SEND, Keys.REVIEW_UNREADABLE),
            Triple(TakedownException.LimitExceeded("x"), ErrorContext.SEND, Keys.REVIEW_TOO_LARGE),
            Triple(TakedownException.Cancelled(), ErrorContext.SEND, Keys.HASHING_CANCELLED),
            Triple(TakedownException.InvalidInput("x"), ErrorContext.SEND, Keys.ERROR_UNEXPECTED),
            Triple(TakedownException.AlreadyOpen(), ErrorContext.READ, Keys.ERROR_UNEXPECTED),
            Triple(TakedownException.Other("bug"), ErrorContext.READ, Keys.ERROR_UNEXPECTED),
            Triple(IllegalArgumentException("host bug"), ErrorContext.READ, Keys.ERROR_UNEXPECTED),
        )
        for ((e, context, key) in cases) assertEquals(e.toString(), key, userMessage(e, context).key)
        // The service's stable code is the only argument; its English message never is.
        assertEquals(UiText(Keys.SUBMIT_REJECTED, "case_withdrawn"), userMessage(TakedownException.ServiceRejected("case_withdrawn", "English text")))
    }

    @Test
    fun statesAndReasonsReadNeutrally() {
        assertEquals(Keys.STATE_UNKNOWN, caseStateText(CaseState.OPEN, ServiceState.UNKNOWN).key)
        assertEquals(Keys.STATE_SENT, caseStateText(CaseState.OPEN, ServiceState.ACTIVE).key)
        assertEquals(Keys.STATE_QUEUED, caseStateText(CaseState.PENDING, null).key)
        assertEquals(Keys.STATE_WITHDRAWN, caseStateText(CaseState.WITHDRAWING, null).key)
        assertEquals(Keys.STATE_REJECTED, caseStateText(CaseState.REJECTED, null).key)
        assertEquals(
            listOf(Keys.NOT_ELIGIBLE_ADULT, Keys.NOT_ELIGIBLE_AGE_UNKNOWN, Keys.NOT_ELIGIBLE_ROLE),
            IneligibleReason.values().map { reasonText(it).key },
        )
    }
}
