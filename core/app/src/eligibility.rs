//! Who may open a case: the service's rule, decided on the phone so a
//! non-eligible answer never leaves it. The person shown must have been under 18
//! when the material was made, and the submitter must be that person or their
//! parent or guardian. No identity is collected: the answers become the case's
//! attestations.

use takedown_protocol::{Attestations, Submitter};

/// How old the person shown was when the picture or video was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgeWhenMade {
    /// Under 18.
    Under18,
    /// 18 or older.
    Adult,
    /// The submitter does not know.
    NotSure,
}

/// Who is using the app to submit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitterRole {
    /// The person shown in the pictures or videos.
    PersonShown,
    /// A parent or legal guardian of the person shown.
    ParentOrGuardian,
    /// Anyone else (a friend, a teacher, a stranger who found it).
    SomeoneElse,
}

crate::sql::stored_as_text!(SubmitterRole {
    PersonShown => "person_shown",
    ParentOrGuardian => "parent_or_guardian",
    SomeoneElse => "someone_else",
});

/// The answers to the attestation questions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EligibilityAnswers {
    /// How old the person shown was when it was made.
    pub age_when_made: AgeWhenMade,
    /// Who is submitting.
    pub submitter: SubmitterRole,
}

/// Why a case cannot be opened; each reason has its own explanation in the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IneligibleReason {
    /// The person shown was an adult: point to services for adults (for example
    /// StopNCII.org).
    AdultWhenMade,
    /// The age is unknown: the service only takes material of minors; explain and
    /// point to services for adults and to help lines.
    AgeUnknown,
    /// Only the person shown or a parent/guardian may submit: explain, and suggest
    /// reporting to the platform or a hotline instead.
    SubmitterNotEntitled,
}

/// The outcome of [`check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eligibility {
    /// `true` when a case may be opened with these answers.
    pub eligible: bool,
    /// Every reason that stands in the way (empty when eligible).
    pub reasons: Vec<IneligibleReason>,
}

/// Applies the rule.
pub fn check(a: &EligibilityAnswers) -> Eligibility {
    let mut reasons = Vec::new();
    match a.age_when_made {
        AgeWhenMade::Under18 => {}
        AgeWhenMade::Adult => reasons.push(IneligibleReason::AdultWhenMade),
        AgeWhenMade::NotSure => reasons.push(IneligibleReason::AgeUnknown),
    }
    if a.submitter == SubmitterRole::SomeoneElse {
        reasons.push(IneligibleReason::SubmitterNotEntitled);
    }
    Eligibility {
        eligible: reasons.is_empty(),
        reasons,
    }
}

/// The attestations sent with a case, or every reason it cannot be opened.
pub fn attestations(a: &EligibilityAnswers) -> Result<Attestations, Vec<IneligibleReason>> {
    let e = check(a);
    if !e.eligible {
        return Err(e.reasons);
    }
    let submitter = match a.submitter {
        SubmitterRole::PersonShown => Submitter::PersonShown,
        SubmitterRole::ParentOrGuardian => Submitter::ParentOrGuardian,
        SubmitterRole::SomeoneElse => return Err(vec![IneligibleReason::SubmitterNotEntitled]),
    };
    Ok(Attestations {
        person_shown_was_under_18: true,
        submitter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination() {
        use AgeWhenMade::*;
        use SubmitterRole::*;
        for age in [Under18, Adult, NotSure] {
            for who in [PersonShown, ParentOrGuardian, SomeoneElse] {
                let a = EligibilityAnswers {
                    age_when_made: age,
                    submitter: who,
                };
                let e = check(&a);
                let ok = age == Under18 && who != SomeoneElse;
                assert_eq!(e.eligible, ok, "{a:?}");
                assert_eq!(attestations(&a).is_ok(), ok, "{a:?}");
                if !ok {
                    assert_eq!(attestations(&a).err(), Some(e.reasons.clone()), "{a:?}");
                }
                assert_eq!(
                    e.reasons.contains(&IneligibleReason::AdultWhenMade),
                    age == Adult
                );
                assert_eq!(
                    e.reasons.contains(&IneligibleReason::AgeUnknown),
                    age == NotSure
                );
                assert_eq!(
                    e.reasons.contains(&IneligibleReason::SubmitterNotEntitled),
                    who == SomeoneElse
                );
            }
        }
        let att = attestations(&EligibilityAnswers {
            age_when_made: Under18,
            submitter: ParentOrGuardian,
        })
        .unwrap();
        assert!(att.person_shown_was_under_18);
        assert_eq!(att.submitter, Submitter::ParentOrGuardian);
    }
}
