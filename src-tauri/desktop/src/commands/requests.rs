//! Data subject requests, the erasure plan and receipt, the access package, the audit trail
//! and the financial-record retention. Anything that may reach Stripe or write files runs on a
//! blocking thread.

use serde::Serialize;
use tauri::AppHandle;
use ts_rs::TS;

use super::{blocking, ACCESS_PROGRESS};
use privacy_desk_core::audit::{self, AuditCheck, AuditEntry};
use privacy_desk_core::domain::settings::{self, FinancialRetention, FINANCIAL_RETENTION_PRESETS};
use privacy_desk_core::error::Result;
use privacy_desk_core::requests::access::review::{self, Review};
use privacy_desk_core::requests::access::{self, AccessPackage};
use privacy_desk_core::requests::erasure::{self, ErasureResult, Plan, Receipt};
use privacy_desk_core::requests::{self, Kind, NewRequest, Regime, Request, RequestPage};

/// A regime a request may be under, with its deadline in words (from `deadlines.rs`).
#[derive(Debug, Clone, Serialize, TS)]
pub struct RegimeInfo {
    pub value: &'static str,
    pub label: &'static str,
    pub period: &'static str,
}

pub async fn list(app: AppHandle) -> Result<Vec<Request>> {
    blocking(app, |s| requests::list(&s.ctx)).await
}

pub async fn regimes(_app: AppHandle) -> Result<Vec<RegimeInfo>> {
    Ok(Regime::ALL
        .iter()
        .map(|r| RegimeInfo {
            value: r.as_str(),
            label: r.label(),
            period: r.period(),
        })
        .collect())
}

pub async fn create(
    app: AppHandle,
    kind: String,
    email: String,
    regime: String,
    received: Option<String>,
) -> Result<Request> {
    blocking(app, move |s| {
        let n = NewRequest {
            kind: Kind::parse(&kind)?,
            email,
            regime: Regime::parse(&regime)?,
            received: received.filter(|r| !r.trim().is_empty()),
        };
        requests::create(&s.ctx, n)
    })
    .await
}

pub async fn page(app: AppHandle, id: i64) -> Result<RequestPage> {
    blocking(app, move |s| requests::page(&s.ctx, id)).await
}

pub async fn extend(app: AppHandle, id: i64, reason: String) -> Result<Request> {
    blocking(app, move |s| requests::extend(&s.ctx, id, &reason)).await
}

pub async fn verify_identity(app: AppHandle, id: i64, method: String) -> Result<Request> {
    blocking(app, move |s| requests::verify_identity(&s.ctx, id, &method)).await
}

pub async fn note(app: AppHandle, id: i64, text: String) -> Result<Request> {
    blocking(app, move |s| requests::add_note(&s.ctx, id, &text)).await
}

pub async fn reject(app: AppHandle, id: i64, reason: String) -> Result<Request> {
    blocking(app, move |s| requests::reject(&s.ctx, id, &reason)).await
}

pub async fn complete(app: AppHandle, id: i64, reason: Option<String>) -> Result<Request> {
    blocking(app, move |s| {
        requests::complete(&s.ctx, id, reason.as_deref())
    })
    .await
}

pub async fn erasure_plan(app: AppHandle, id: i64) -> Result<Plan> {
    blocking(app, move |s| erasure::plan(&s.ctx, id)).await
}

pub async fn erasure_resolve_blocker(
    app: AppHandle,
    id: i64,
    target: String,
    note: String,
) -> Result<Plan> {
    blocking(app, move |s| {
        erasure::resolve_blocker(&s.ctx, id, &target, &note)
    })
    .await
}

pub async fn erasure_execute(app: AppHandle, id: i64) -> Result<ErasureResult> {
    blocking(app, move |s| {
        let out = erasure::execute(&s.ctx, id);
        // Erased, its checkpoint held back by a reader: the job that completes it tries now
        // rather than at its next minute (the page watches for the completion).
        if let (Err(privacy_desk_core::error::Error::Unavailable(_)), Some(n)) =
            (&out, s.jobs_nudger())
        {
            n.nudge(privacy_desk_core::jobs::Job::WaitingErasures);
        }
        out
    })
    .await
}

/// Writes the erasure receipt to `path` (HTML, or JSON for a `.json` path): the save dialog's
/// answer, or a file in Downloads.
pub async fn erasure_receipt(app: AppHandle, id: i64, path: String) -> Result<Receipt> {
    blocking(app, move |s| {
        erasure::write_receipt(&s.ctx, id, &s.destinations.file(&path)?)
    })
    .await
}

/// Builds the access package into `dir` (the folder dialog's answer; none: the user's
/// Downloads folder), emitting `access-progress` as it goes. `unverified_reason` records the
/// override for a request whose identity is not verified.
pub async fn access_package(
    app: AppHandle,
    id: i64,
    dir: Option<String>,
    unverified_reason: Option<String>,
) -> Result<AccessPackage> {
    let emitter = app.clone();
    blocking(app, move |s| {
        if let Some(reason) = unverified_reason.filter(|r| !r.trim().is_empty()) {
            requests::override_identity(&s.ctx, id, &reason)?;
        }
        let dir = match dir {
            Some(d) => s.destinations.folder(&d)?,
            None => privacy_desk_core::files::downloads_dir()?,
        };
        access::build(&s.ctx, id, &dir, &mut |p| {
            ACCESS_PROGRESS.emit(&emitter, &p);
        })
    })
    .await
}

pub async fn access_review(app: AppHandle, id: i64) -> Result<Review> {
    blocking(app, move |s| review::review(&s.ctx, id)).await
}

pub async fn access_withhold(
    app: AppHandle,
    id: i64,
    record_id: String,
    field: Option<String>,
    ground: String,
    text: Option<String>,
) -> Result<Review> {
    blocking(app, move |s| {
        review::withhold(
            &s.ctx,
            id,
            &record_id,
            field.as_deref(),
            &ground,
            text.as_deref(),
        )
    })
    .await
}

pub async fn access_unwithhold(
    app: AppHandle,
    id: i64,
    record_id: String,
    field: Option<String>,
) -> Result<Review> {
    blocking(app, move |s| {
        review::unwithhold(&s.ctx, id, &record_id, field.as_deref())
    })
    .await
}

/// Releases the package into `dir` (the folder dialog's answer), or where it was built.
pub async fn access_release(app: AppHandle, id: i64, dir: Option<String>) -> Result<AccessPackage> {
    blocking(app, move |s| {
        let dir = dir.map(|d| s.destinations.folder(&d)).transpose()?;
        review::release(&s.ctx, id, dir.as_deref())
    })
    .await
}

pub async fn audit_list(app: AppHandle, request_id: Option<i64>) -> Result<Vec<AuditEntry>> {
    blocking(app, move |s| audit::list(&s.ctx, request_id)).await
}

pub async fn audit_verify(app: AppHandle) -> Result<AuditCheck> {
    blocking(app, |s| audit::verify(&s.ctx)).await
}

/// A retention preset by jurisdiction.
#[derive(Debug, Clone, Serialize, TS)]
pub struct RetentionPreset {
    pub key: String,
    pub years: u32,
    pub label: String,
}

/// The financial-record retention with the presets to choose from.
#[derive(Debug, Clone, Serialize, TS)]
pub struct RetentionSettings {
    pub current: FinancialRetention,
    pub presets: Vec<RetentionPreset>,
}

fn retention_settings(current: FinancialRetention) -> RetentionSettings {
    RetentionSettings {
        current,
        presets: FINANCIAL_RETENTION_PRESETS
            .iter()
            .map(|(key, years, label)| RetentionPreset {
                key: (*key).into(),
                years: *years,
                label: (*label).into(),
            })
            .collect(),
    }
}

pub async fn financial_retention_get(app: AppHandle) -> Result<RetentionSettings> {
    blocking(app, |s| {
        settings::financial_retention(&s.ctx).map(retention_settings)
    })
    .await
}

/// Sets the retention from `years` or from a preset key (exactly one of them).
pub async fn financial_retention_set(
    app: AppHandle,
    years: Option<u32>,
    preset: Option<String>,
) -> Result<RetentionSettings> {
    blocking(app, move |s| {
        settings::set_financial_retention(&s.ctx, years, preset.as_deref()).map(retention_settings)
    })
    .await
}
