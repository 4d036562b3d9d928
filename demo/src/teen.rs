//! The teen's side: the phone core (`takedown-app`) driven the way the apps drive
//! it through `takedown-ffi` — eligibility, hashing a selection, submitting a
//! case, refreshing its status, withdrawing it. Only the smallest public surface
//! is used (`App::open`, `submit_case`, `refresh_status`, `case_status`,
//! `list_items`, `withdraw_case`), so a change of the core's API touches this
//! file only.

use std::path::Path;
use std::sync::Arc;

use takedown_app::eligibility::{
    self, AgeWhenMade, Eligibility, EligibilityAnswers, SubmitterRole,
};
use takedown_app::outbox::SubmitItem;
use takedown_app::selection::{ItemFingerprint, SelectionInput, hash_selection};
use takedown_app::status::CaseStatusView;
use takedown_app::{App, FileKeyStore, NetworkOptions};

use crate::{DemoError, Result};

/// The answers of a teen who is the person shown and was under 18.
pub const ANSWERS: EligibilityAnswers = EligibilityAnswers {
    age_when_made: AgeWhenMade::Under18,
    submitter: SubmitterRole::PersonShown,
};

/// The rule, decided on the phone.
pub fn check_eligibility(answers: &EligibilityAnswers) -> Eligibility {
    eligibility::check(answers)
}

/// Hashes the picked photos (file bytes) on the phone; fails when one cannot be
/// hashed.
pub fn hash_photos(files: &[Vec<u8>]) -> Result<Vec<ItemFingerprint>> {
    let inputs = files
        .iter()
        .map(|b| SelectionInput::ImageBytes(b.clone()))
        .collect();
    let hashed = hash_selection(inputs, &|_, _| {}, &Default::default())?;
    hashed
        .into_iter()
        .map(|h| {
            h.fingerprint.ok_or_else(|| {
                DemoError(format!(
                    "photo {} could not be hashed: {}",
                    h.index + 1,
                    h.error.map(|e| e.reason).unwrap_or_default()
                ))
            })
        })
        .collect()
}

/// A submitted case.
#[derive(Clone, Debug)]
pub struct Submitted {
    /// Local case id.
    pub case_id: i64,
    /// The case number the service gave.
    pub case_number: String,
    /// The case's item numbers the service gave (1, 2, …), in the order the
    /// photos were given; not the global ids platforms see (ADR 0110).
    pub service_item_ids: Vec<i64>,
}

/// The phone: one `App` with its history in a data directory.
pub struct Phone {
    app: App,
}

impl Phone {
    /// Opens the phone core with its history in `data_dir` (the history key in a
    /// file there, as on a desktop) for the service at `service_url`.
    pub fn open(data_dir: &Path, service_url: &str) -> Result<Phone> {
        std::fs::create_dir_all(data_dir)?;
        let keys = Arc::new(FileKeyStore::new(data_dir.join("history.key")));
        let app = App::open(data_dir, service_url, keys, NetworkOptions::default())?;
        Ok(Phone { app })
    }

    /// Submits a case with these photos' fingerprints; fails unless the service
    /// answered with a case number.
    pub async fn submit(
        &self,
        answers: &EligibilityAnswers,
        fingerprints: &[ItemFingerprint],
    ) -> Result<Submitted> {
        let items: Vec<SubmitItem> = fingerprints
            .iter()
            .map(|f| SubmitItem {
                fingerprint: f.clone(),
                label: None,
            })
            .collect();
        let outcome = self.app.submit_case(answers, &items).await?;
        let Some(case_number) = outcome.case_number.filter(|_| outcome.sent) else {
            return Err(DemoError("the case was queued but not sent".into()));
        };
        let listed = self.app.list_items(Some(outcome.case_id))?;
        let service_item_ids = outcome
            .item_ids
            .iter()
            .map(|id| {
                listed
                    .iter()
                    .find(|i| i.id == *id)
                    .and_then(|i| i.service_item_id)
                    .ok_or_else(|| DemoError("an item has no service id".into()))
            })
            .collect::<Result<Vec<i64>>>()?;
        Ok(Submitted {
            case_id: outcome.case_id,
            case_number,
            service_item_ids,
        })
    }

    /// Fetches the case's status from the service and returns it.
    pub async fn status(&self, case_id: i64) -> Result<CaseStatusView> {
        self.app.refresh_status(case_id).await?;
        self.app
            .case_status(case_id)?
            .ok_or_else(|| DemoError("no status stored after a refresh".into()))
    }

    /// Withdraws the whole case; fails unless the service confirmed it.
    pub async fn withdraw(&self, case_id: i64) -> Result<()> {
        let r = self.app.withdraw_case(case_id).await?;
        if r.pending > 0 || r.rejected > 0 {
            return Err(DemoError(format!(
                "the withdrawal was not confirmed ({} pending, {} refused)",
                r.pending, r.rejected
            )));
        }
        Ok(())
    }
}
