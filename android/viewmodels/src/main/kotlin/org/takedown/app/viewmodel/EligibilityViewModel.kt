package org.takedown.app.viewmodel

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import org.takedown.core.AgeWhenMade
import org.takedown.core.EligibilityAnswers
import org.takedown.core.SubmitterRole
import org.takedown.core.checkEligibility

/** The answer to "were you under 18 in the pictures?". */
enum class AgeAnswer { YES, NO, NOT_SURE }

/** The eligibility questions and, when the core says no, every reason. */
data class EligibilityState(
    val age: AgeAnswer? = null,
    val role: SubmitterRole? = null,
    val hasPictures: Boolean? = null,
    /** Explanations on the "not eligible" screen. */
    val reasons: List<UiText> = emptyList(),
) {
    /** Every question answered. */
    val canContinue: Boolean get() = age != null && role != null && hasPictures != null
}

/** Screen 2: the questions; the rule itself is the core's `checkEligibility`. */
class EligibilityViewModel internal constructor(app: AppViewModel) : ScreenModel(app) {
    private val _state = MutableStateFlow(EligibilityState())
    val state: StateFlow<EligibilityState> = _state.asStateFlow()

    fun setAge(answer: AgeAnswer) = _state.update { it.copy(age = answer) }
    fun setRole(role: SubmitterRole) = _state.update { it.copy(role = role) }
    fun setHasPictures(has: Boolean) = _state.update { it.copy(hasPictures = has) }

    /** Continue: eligible → the picker; otherwise the reasons. Nothing is stored or sent. */
    fun submit() {
        val s = _state.value
        val age = s.age ?: return
        val role = s.role ?: return
        val has = s.hasPictures ?: return
        val answers = EligibilityAnswers(
            when (age) {
                AgeAnswer.YES -> AgeWhenMade.UNDER18
                AgeAnswer.NO -> AgeWhenMade.ADULT
                AgeAnswer.NOT_SURE -> AgeWhenMade.NOT_SURE
            },
            role,
        )
        val verdict = checkEligibility(answers)
        val reasons = verdict.reasons.map(::reasonText) +
            if (has) emptyList() else listOf(UiText(Keys.NOT_ELIGIBLE_NO_PICTURES))
        if (reasons.isEmpty()) {
            _state.update { it.copy(reasons = emptyList()) }
            app.report.begin(answers)
            app.go(Screen.Pick)
        } else {
            _state.update { it.copy(reasons = reasons) }
            app.go(Screen.NotEligible)
        }
    }

    override fun reset() {
        _state.value = EligibilityState()
    }
}
