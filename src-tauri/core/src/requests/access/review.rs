//! The review of an access package before it is released (GDPR Art. 15(4): the copy must not
//! adversely affect the rights and freedoms of others).
//!
//! [`super::build`] writes the package and records where ([`crate::store::access_review`]).
//! [`review`] reads it back (its SHA-256 checked against the build's) and lists every file and
//! every record by category, each record under a stable id (`activity:evt_…`,
//! `stripe_charges:ch_…`, `requests:7`, else `category:N`). The officer may withhold a record,
//! or one field of it, on a ground ([`Ground`]) — and undo that — until [`release`] writes the
//! final package without them: JSON, CSV, the summary and the manifest rebuilt, and the cover
//! letter saying how much was withheld and why. Each decision is in the audit trail with the
//! record ids, field names and grounds, never the values; after the release nothing more can
//! be withheld (a new build starts a new review).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Map, Value};
use ts_rs::TS;

use super::render::{self, Meta};
use super::summary::WithheldNote;
use super::{sha256_hex, AccessPackage, Category, ManifestFile, CATEGORIES};
use crate::audit::{self, Entry};
use crate::context::Context;
use crate::error::{Error, Result};
pub use crate::store::access_review::Ground;
use crate::store::access_review::{self as q, PackageRow, WithheldRow};
use crate::store::requests::RequestRow;
use crate::time::{now_ms, to_rfc3339};

/// The longest free-text reason (it goes into the cover letter).
const TEXT_MAX_CHARS: usize = 500;

/// Where request `id`'s access package stands: for the next step and the request page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(rename = "AccessReviewState")]
pub struct ReviewState {
    /// A package was built (and is recorded for review).
    pub built: bool,
    /// It was reviewed and released.
    pub released: bool,
    /// How many records and fields are withheld.
    pub withheld: u32,
}

/// Request `id`'s package: built? released? how much withheld?
pub fn state(ctx: &Context, id: i64) -> Result<ReviewState> {
    let (pkg, withheld) = ctx
        .db
        .read(|c| Ok((q::package(c, id)?, q::withheld(c, id)?)))?;
    Ok(ReviewState {
        built: pkg.is_some(),
        released: pkg.is_some_and(|p| p.released_at.is_some()),
        withheld: withheld.len() as u32,
    })
}

/// A ground the officer may choose, in their words.
#[derive(Debug, Clone, Serialize, TS)]
pub struct GroundInfo {
    pub value: Ground,
    pub label: &'static str,
    /// The ground needs the reason in words (it goes into the cover letter).
    pub needs_text: bool,
}

fn label(g: Ground) -> &'static str {
    match g {
        Ground::OtherPerson => "Another person's data (Art. 15(4))",
        Ground::LegalPrivilege => "Legal privilege",
        Ground::Other => "Another reason (say which)",
    }
}

fn grounds() -> Vec<GroundInfo> {
    Ground::ALL
        .iter()
        .map(|&g| GroundInfo {
            value: g,
            label: label(g),
            needs_text: g == Ground::Other,
        })
        .collect()
}

/// One record of the package as the review shows it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ReviewRecord {
    /// Stable within the package: what withholding names.
    pub id: String,
    /// The record as the package holds it.
    #[ts(type = "Record<string, unknown>")]
    pub data: Value,
    /// The fields that may be withheld one by one (`name`, `personal_data.address`).
    pub fields: Vec<String>,
    /// The whole record is withheld.
    pub withheld: bool,
    /// Its fields withheld.
    pub withheld_fields: Vec<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ReviewCategory {
    pub name: String,
    pub title: String,
    pub records: Vec<ReviewRecord>,
}

/// A record, or a field of one, withheld.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Withheld {
    pub record_id: String,
    /// `null`: the whole record.
    pub field: Option<String>,
    pub ground: Ground,
    pub ground_label: String,
    /// The reason in words (required for `other`).
    pub text: Option<String>,
    pub at: String,
    /// Its record (and field) is in the package reviewed: false after a new build without it
    /// (undo it before the release).
    pub in_package: bool,
}

/// An access package under review (or released).
#[derive(Debug, Clone, Serialize, TS)]
#[ts(rename = "AccessReview")]
pub struct Review {
    pub request_id: i64,
    pub state: ReviewState,
    /// The .zip shown: the one built, or once released the released one.
    pub path: Option<String>,
    pub sha256: Option<String>,
    pub built_at: Option<String>,
    pub released_at: Option<String>,
    /// As in [`AccessPackage::stripe`].
    pub stripe: Option<String>,
    /// The files of that .zip (its manifest; `manifest.json` itself not listed).
    pub files: Vec<ManifestFile>,
    /// Every category with its records, in the package's order.
    pub categories: Vec<ReviewCategory>,
    pub withheld: Vec<Withheld>,
    /// The grounds to choose from.
    pub grounds: Vec<GroundInfo>,
}

/// The request, if it is an access request whose subject is not erased.
fn access_row(ctx: &Context, id: i64) -> Result<RequestRow> {
    let r = crate::requests::row(ctx, id)?;
    if !matches!(
        r.kind,
        crate::requests::Kind::Access | crate::requests::Kind::Portability
    ) {
        return Err(Error::invalid(format!(
            "request {id} is an {} request: only access packages are reviewed",
            r.kind
        )));
    }
    if r.email.is_none() {
        return Err(Error::Blocked(format!(
            "the subject of request {id} was erased: there is no package to review"
        )));
    }
    Ok(r)
}

/// The package built for request `id`, not released yet.
fn draft(ctx: &Context, id: i64) -> Result<PackageRow> {
    let pkg = ctx.db.read(|c| q::package(c, id))?.ok_or_else(|| {
        Error::Blocked(format!(
            "no access package is built for request {id} yet: build it first \
             (`privacy-desk dsr access {id} --out DIR`)"
        ))
    })?;
    if let Some(at) = pkg.released_at {
        return Err(Error::Blocked(format!(
            "the access package of request {id} was released on {}: what it holds can no \
             longer change (build it again to review a new one)",
            to_rfc3339(at)
        )));
    }
    Ok(pkg)
}

/// A package read back.
struct Package {
    manifest: Value,
    /// Every category, in order (empty where the .zip has no file for it).
    cats: Vec<Category>,
}

/// Reads the .zip at `path`, which must be the one whose SHA-256 is `sha256`.
fn read_package(id: i64, path: &str, sha256: &str) -> Result<Package> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::not_found(format!(
            "the access package of request {id} is no longer at {path} (moved or deleted): \
             build it again"
        )),
        _ => Error::Io(format!("cannot read {path}: {e}")),
    })?;
    if sha256_hex(&bytes) != sha256 {
        return Err(Error::Integrity(format!(
            "{path} was changed after it was written (its SHA-256 differs): build the package \
             of request {id} again"
        )));
    }
    let bad = |what: String| {
        Error::Integrity(format!(
            "{path} is not a package Privacy Desk can read ({what}): build it again"
        ))
    };
    let mut z =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).map_err(|e| bad(e.to_string()))?;
        let name = f.name().rsplit('/').next().unwrap_or_default().to_owned();
        let mut b = Vec::new();
        f.read_to_end(&mut b).map_err(|e| bad(e.to_string()))?;
        files.insert(name, b);
    }
    let json = |name: &str| -> Result<Option<Value>> {
        files
            .get(name)
            .map(|b| serde_json::from_slice(b).map_err(|e| bad(format!("{name}: {e}"))))
            .transpose()
    };
    let manifest = json("manifest.json")?.ok_or_else(|| bad("no manifest.json".into()))?;
    let mut cats = Vec::new();
    for &(name, title) in CATEGORIES {
        let records = match json(&format!("{name}.json"))? {
            Some(Value::Array(a)) => a,
            Some(_) => return Err(bad(format!("{name}.json is not a list"))),
            None => vec![],
        };
        cats.push(Category {
            name,
            title,
            records,
        });
    }
    Ok(Package { manifest, cats })
}

/// The ids of a category's records: the record's own id where it has one, else its place
/// (from 1); a repeated id gets `#2`, `#3`….
fn record_ids(cat: &str, records: &[Value]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let own = match cat {
                "activity" => r.get("event_id").and_then(Value::as_str).map(str::to_owned),
                "requests" => r.get("id").and_then(Value::as_i64).map(|n| n.to_string()),
                c if c.starts_with("stripe_") => {
                    r.get("id").and_then(Value::as_str).map(str::to_owned)
                }
                _ => None,
            }
            .filter(|s| !s.is_empty());
            let base = format!("{cat}:{}", own.unwrap_or_else(|| (i + 1).to_string()));
            let n = seen.entry(base.clone()).or_default();
            *n += 1;
            match *n {
                1 => base,
                n => format!("{base}#{n}"),
            }
        })
        .collect()
}

/// The fields of a record that may be withheld: its keys, and the keys of its objects
/// (`personal_data.address`).
fn fields_of(r: &Value) -> Vec<String> {
    let Value::Object(m) = r else {
        return vec![];
    };
    let mut out: Vec<String> = Vec::new();
    for (k, v) in m {
        out.push(k.clone());
        if let Value::Object(inner) = v {
            out.extend(inner.keys().map(|sk| format!("{k}.{sk}")));
        }
    }
    out.dedup();
    out
}

/// Takes `field` (as [`fields_of`] names it) out of `r`.
fn remove_field(r: &mut Value, field: &str) {
    let Value::Object(m) = r else { return };
    if m.remove(field).is_some() {
        return;
    }
    for (i, _) in field.match_indices('.') {
        if let Some(Value::Object(inner)) = m.get_mut(&field[..i]) {
            if inner.remove(&field[i + 1..]).is_some() {
                return;
            }
        }
    }
}

/// An id or field name the officer typed, for a message: as it is if it looks like one.
fn shown(s: &str) -> String {
    let plain = s.len() <= 120
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:.#-".contains(c));
    if plain {
        format!("\"{s}\"")
    } else {
        "of that name".into()
    }
}

/// Per withholding: whether its record (and field) is in the package, and whether it takes
/// anything out (a field of a record withheld whole does not).
struct Effect {
    in_package: Vec<bool>,
    counted: Vec<bool>,
}

/// Takes out of `cats` what `withheld` names.
fn apply(cats: &mut [Category], withheld: &[WithheldRow]) -> Effect {
    let mut e = Effect {
        in_package: vec![false; withheld.len()],
        counted: vec![false; withheld.len()],
    };
    for c in cats.iter_mut() {
        let ids = record_ids(c.name, &c.records);
        let records = std::mem::take(&mut c.records);
        for (rid, mut r) in ids.into_iter().zip(records) {
            let fields = fields_of(&r);
            let mine = || {
                withheld
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| w.record_id == rid)
            };
            let whole = mine().any(|(_, w)| w.field.is_none());
            for (i, w) in mine() {
                match &w.field {
                    None => (e.in_package[i], e.counted[i]) = (true, true),
                    Some(f) if fields.contains(f) => {
                        e.in_package[i] = true;
                        if !whole {
                            remove_field(&mut r, f);
                            e.counted[i] = true;
                        }
                    }
                    Some(_) => {}
                }
            }
            if !whole {
                c.records.push(r);
            }
        }
    }
    e
}

/// The review of request `id`'s package: every file and record, and what is withheld. Before
/// any package is built, `state.built` is false and the lists are empty.
pub fn review(ctx: &Context, id: i64) -> Result<Review> {
    access_row(ctx, id)?;
    let (pkg, rows) = ctx
        .db
        .read(|c| Ok((q::package(c, id)?, q::withheld(c, id)?)))?;
    let state = ReviewState {
        built: pkg.is_some(),
        released: pkg.as_ref().is_some_and(|p| p.released_at.is_some()),
        withheld: rows.len() as u32,
    };
    let Some(pkg) = pkg else {
        return Ok(Review {
            request_id: id,
            state,
            path: None,
            sha256: None,
            built_at: None,
            released_at: None,
            stripe: None,
            files: vec![],
            categories: vec![],
            withheld: vec![],
            grounds: grounds(),
        });
    };
    let (path, sha) = match (&pkg.released_path, &pkg.released_sha256) {
        (Some(p), Some(s)) if state.released => (p.clone(), s.clone()),
        _ => (pkg.path.clone(), pkg.sha256.clone()),
    };
    let p = read_package(id, &path, &sha)?;
    let in_package = if state.released {
        // What was released holds none of it; the release refused anything not in the package.
        vec![true; rows.len()]
    } else {
        apply(&mut p.cats.clone(), &rows).in_package
    };
    let categories = p
        .cats
        .into_iter()
        .map(|c| {
            let ids = record_ids(c.name, &c.records);
            let records = ids
                .into_iter()
                .zip(c.records)
                .map(|(rid, data)| {
                    let mine = rows.iter().filter(|w| w.record_id == rid);
                    ReviewRecord {
                        withheld: mine.clone().any(|w| w.field.is_none()),
                        withheld_fields: mine.filter_map(|w| w.field.clone()).collect(),
                        fields: fields_of(&data),
                        id: rid,
                        data,
                    }
                })
                .collect();
            ReviewCategory {
                name: c.name.into(),
                title: c.title.into(),
                records,
            }
        })
        .collect();
    let files = p.manifest["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| {
                    Some(ManifestFile {
                        name: f["name"].as_str()?.to_owned(),
                        sha256: f["sha256"].as_str()?.to_owned(),
                        bytes: f["bytes"].as_u64()?,
                        records: f["records"].as_u64(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Review {
        request_id: id,
        state,
        path: Some(path),
        sha256: Some(sha),
        built_at: Some(to_rfc3339(pkg.built_at)),
        released_at: pkg.released_at.map(to_rfc3339),
        stripe: p.manifest["stripe"].as_str().map(str::to_owned),
        files,
        categories,
        withheld: rows
            .into_iter()
            .zip(in_package)
            .map(|(w, in_package)| Withheld {
                ground_label: label(w.ground).into(),
                record_id: w.record_id,
                field: w.field,
                ground: w.ground,
                text: w.text,
                at: to_rfc3339(w.created_at),
                in_package,
            })
            .collect(),
        grounds: grounds(),
    })
}

/// Withholds record `record_id` of request `id`'s package — or only its `field` — on
/// `ground` (`other_person`, `legal_privilege`, `other`; `other` needs `text`, the reason in
/// words, which the cover letter gives). Recorded in the audit trail (`access.withheld`) with
/// the record id, the field name and the ground. Refused once the package is released.
pub fn withhold(
    ctx: &Context,
    id: i64,
    record_id: &str,
    field: Option<&str>,
    ground: &str,
    text: Option<&str>,
) -> Result<Review> {
    let ground = Ground::parse(ground)?;
    let text = text
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty());
    if ground == Ground::Other && text.is_none() {
        return Err(Error::ReasonRequired(
            "say why it is withheld (--text): the cover letter tells the person".into(),
        ));
    }
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > TEXT_MAX_CHARS)
    {
        return Err(Error::invalid(format!(
            "the reason is too long: at most {TEXT_MAX_CHARS} characters"
        )));
    }
    let record_id = record_id.trim().to_owned();
    let field = field.map(str::trim).filter(|f| !f.is_empty());
    let r = access_row(ctx, id)?;
    let pkg = draft(ctx, id)?;
    let p = read_package(id, &pkg.path, &pkg.sha256)?;
    let record = p
        .cats
        .iter()
        .find_map(|c| {
            let ids = record_ids(c.name, &c.records);
            ids.iter()
                .position(|x| *x == record_id)
                .map(|i| &c.records[i])
        })
        .ok_or_else(|| {
            Error::not_found(format!(
                "the access package of request {id} has no record {}: `privacy-desk dsr \
                 review {id}` lists them",
                shown(&record_id)
            ))
        })?;
    if let Some(f) = field {
        if !fields_of(record).iter().any(|x| x == f) {
            return Err(Error::not_found(format!(
                "record {} has no field {}",
                shown(&record_id),
                shown(f)
            )));
        }
    }
    let rows = ctx.db.read(|c| q::withheld(c, id))?;
    let mine = || rows.iter().filter(|w| w.record_id == record_id);
    if let Some(w) = mine().find(|w| w.field.is_none()) {
        return Err(Error::invalid(format!(
            "record {} is withheld already ({}): undo that first to change it",
            shown(&record_id),
            label(w.ground)
        )));
    }
    if let Some(f) = field {
        if let Some(w) = mine().find(|w| w.field.as_deref() == Some(f)) {
            return Err(Error::invalid(format!(
                "field {} of record {} is withheld already ({}): undo that first to change it",
                shown(f),
                shown(&record_id),
                label(w.ground)
            )));
        }
    }
    let reason = match &text {
        Some(t) => Some(crate::requests::trail_reason(ctx, &r, t)?),
        None => None,
    };
    let key = ctx.keychain.hash_key()?;
    let entry = Entry::new(audit::USER, "access.withheld")
        .request(id)
        .subject(&r.subject_hash)
        .details(json!({
            "record_id": record_id,
            "field": field,
            "ground": ground.as_str(),
            "reason": reason,
        }));
    let row = WithheldRow {
        record_id,
        field: field.map(str::to_owned),
        ground,
        text,
        created_at: 0,
    };
    ctx.db.write(move |c| {
        let now = now_ms();
        let row = WithheldRow {
            created_at: now,
            ..row
        };
        if !q::insert_withheld(c, id, &row)? {
            return Err(Error::invalid("that is withheld already"));
        }
        audit::append(c, &key, &entry, now)?;
        Ok(())
    })?;
    review(ctx, id)
}

/// Takes back a withholding of request `id`'s package before its release
/// (`access.unwithheld`).
pub fn unwithhold(ctx: &Context, id: i64, record_id: &str, field: Option<&str>) -> Result<Review> {
    let r = access_row(ctx, id)?;
    draft(ctx, id)?;
    let record_id = record_id.trim().to_owned();
    let field = field
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned);
    let key = ctx.keychain.hash_key()?;
    let hash = r.subject_hash.clone();
    ctx.db.write(move |c| {
        let Some(w) = q::delete_withheld(c, id, &record_id, field.as_deref())? else {
            return Err(Error::not_found(match &field {
                None => format!("record {} is not withheld", shown(&record_id)),
                Some(f) => format!(
                    "field {} of record {} is not withheld",
                    shown(f),
                    shown(&record_id)
                ),
            }));
        };
        let entry = Entry::new(audit::USER, "access.unwithheld")
            .request(id)
            .subject(&hash)
            .details(json!({
                "record_id": w.record_id,
                "field": w.field,
                "ground": w.ground.as_str(),
            }));
        audit::append(c, &key, &entry, now_ms())?;
        Ok(())
    })?;
    review(ctx, id)
}

/// Releases request `id`'s package: rebuilt without what is withheld (JSON, CSV, summary and
/// manifest; the cover letter says how much was withheld and why) into `out_dir` (none: where
/// it was built, replacing it), recorded as released (`access.released`, with the package's
/// SHA-256). The package as built is removed when the release is written elsewhere, so that
/// what was withheld does not stay beside it.
pub fn release(ctx: &Context, id: i64, out_dir: Option<&Path>) -> Result<AccessPackage> {
    let r = access_row(ctx, id)?;
    let email = r.email.clone().unwrap_or_default();
    let pkg = draft(ctx, id)?;
    let mut p = read_package(id, &pkg.path, &pkg.sha256)?;
    let rows = ctx.db.read(|c| q::withheld(c, id))?;
    let effect = apply(&mut p.cats, &rows);
    if let Some(w) = rows.iter().zip(&effect.in_package).find(|(_, &i)| !i) {
        return Err(Error::Blocked(format!(
            "record {} is withheld but is not in the package as built now (it was built again \
             since): undo that withholding before the release",
            shown(&w.0.record_id)
        )));
    }
    let items: Vec<(Ground, Option<&str>, bool)> = rows
        .iter()
        .zip(&effect.counted)
        .filter(|(_, &counted)| counted)
        .map(|(w, _)| (w.ground, w.text.as_deref(), w.field.is_some()))
        .collect();
    let regime = crate::requests::Regime::parse(&r.regime)?;
    let note = WithheldNote::new(regime, &items);
    let mut grounds: Vec<Ground> = items.iter().map(|i| i.0).collect();
    grounds.sort();
    grounds.dedup();
    let (records, fields) = note.as_ref().map_or((0, 0), |n| (n.records, n.fields));

    let released_at = to_rfc3339(now_ms());
    let text = |k: &str| p.manifest[k].as_str().map(str::to_owned);
    let generated = text("generated_at").unwrap_or_else(|| released_at.clone());
    let stripe = text("stripe").unwrap_or_else(|| "none".into());
    let stripe_note = text("note");
    let mut extra = Map::new();
    extra.insert("released_at".into(), json!(released_at));
    extra.insert(
        "withheld".into(),
        json!({
            "records": records,
            "fields": fields,
            "grounds": grounds.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        }),
    );
    let org = crate::domain::settings::get(ctx)?.org;
    let (files, manifest_files) = render::files(
        &p.cats,
        Meta {
            id,
            org: &org,
            email: &email,
            regime,
            regime_code: &r.regime,
            received: &to_rfc3339(r.received_at),
            generated: &generated,
            letter_date: &released_at,
            stripe: &stripe,
            note: stripe_note.as_deref(),
            withheld: note.as_ref(),
            manifest_extra: extra,
        },
    );
    let built = PathBuf::from(&pkg.path);
    let dir = match out_dir {
        Some(d) => d.to_path_buf(),
        None => built
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let path = dir.join(format!("access-request-{id}.zip"));
    let sha = render::write_zip(&path, id, &files)?;

    let key = ctx.keychain.hash_key()?;
    let entry = Entry::new(audit::USER, "access.released")
        .request(id)
        .subject(&r.subject_hash)
        .details(json!({
            "sha256": sha,
            "files": files.len(),
            "withheld_records": records,
            "withheld_fields": fields,
            "grounds": grounds.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        }));
    let (written, sha2) = (path.display().to_string(), sha.clone());
    ctx.db.write(move |c| {
        let now = now_ms();
        if !q::set_released(c, id, &written, &sha2, now)? {
            return Err(Error::Blocked(format!(
                "the access package of request {id} was released meanwhile"
            )));
        }
        audit::append(c, &key, &entry, now)?;
        Ok(())
    })?;
    remove_built(&built, &path, &pkg.sha256);
    Ok(AccessPackage {
        path: path.display().to_string(),
        sha256: sha,
        stripe,
        files: manifest_files,
        foreign_objects_dropped: pkg.foreign_objects_dropped.max(0) as u64,
    })
}

/// Removes the package as built once the release is written elsewhere, if it is still the
/// file built (the same SHA-256): it holds what was withheld.
fn remove_built(built: &Path, released: &Path, sha256: &str) {
    let same = matches!(
        (built.canonicalize(), released.canonicalize()),
        (Ok(a), Ok(b)) if a == b
    );
    if same {
        return;
    }
    let unchanged = std::fs::read(built).is_ok_and(|b| sha256_hex(&b) == sha256);
    if unchanged {
        if let Err(e) = std::fs::remove_file(built) {
            tracing::warn!(error = %e, "could not remove the access package as built");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::ingest::{self, link};
    use crate::requests::hostile::{assert_escaped, HOSTILE, HOSTILE_ESCAPED};
    use crate::requests::{self, Kind, NewRequest, Regime};
    use crate::store::{events, processors};
    use crate::stripe::event;

    const EMAIL: &str = "zoe.tester@example.org";
    const NAME: &str = "Zoe Tester";
    /// The other person named in one of Zoe's charges (a gift bought for her).
    const OTHER: &str = "Quentin Otherby";

    fn event(body: serde_json::Value) -> crate::store::events::NewEvent {
        let body = body.to_string();
        ingest::row(
            1,
            "stripe",
            event::parse(body.as_bytes(), 0).unwrap(),
            0,
            None,
        )
    }

    /// A Stripe processor, Zoe's customer and two of her charges (the second with a note
    /// about another person in its description), linked; her access request, verified, and
    /// its package built into `out`.
    fn setup(dir: &Path) -> (Context, i64, AccessPackage) {
        let ctx = Context::open_in_memory_keychain(dir).unwrap();
        let rows = vec![
            event(
                json!({"id": "evt_cus", "object": "event", "type": "customer.created",
                "created": 1_767_225_600, "data": {"object": {"id": "cus_zoe",
                "object": "customer", "email": EMAIL, "name": NAME,
                "address": {"city": "Lyon", "country": "FR"}}}}),
            ),
            event(
                json!({"id": "evt_ch1", "object": "event", "type": "charge.succeeded",
                "created": 1_767_229_200, "data": {"object": {"id": "ch_one",
                "object": "charge", "amount": 1500, "currency": "eur", "status": "succeeded",
                "customer": "cus_zoe", "billing_details": {"email": EMAIL, "name": NAME}}}}),
            ),
            event(
                json!({"id": "evt_ch2", "object": "event", "type": "charge.succeeded",
                "created": 1_767_232_800, "data": {"object": {"id": "ch_two",
                "object": "charge", "amount": 987_654, "currency": "eur",
                "status": "succeeded", "customer": "cus_zoe",
                "billing_details": {"email": "quentin@example.net", "name": OTHER}}}}),
            ),
        ];
        ctx.db
            .write(move |c| {
                processors::insert(c, &processors::NewProcessor::bare_stripe("e"))?;
                for r in &rows {
                    events::insert(c, r)?;
                }
                link::process_pending(c, 1000)?;
                Ok(())
            })
            .unwrap();
        let id = requests::create(
            &ctx,
            NewRequest {
                kind: Kind::Access,
                email: EMAIL.into(),
                regime: Regime::Gdpr,
                received: None,
            },
        )
        .unwrap()
        .id;
        requests::verify_identity(&ctx, id, "replied from the account email").unwrap();
        let pkg = super::super::build(&ctx, id, &dir.join("out"), &mut |_| {}).unwrap();
        (ctx, id, pkg)
    }

    /// Every file of the .zip by its name.
    fn unzip(path: &str) -> BTreeMap<String, String> {
        let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        (0..z.len())
            .map(|i| {
                let mut f = z.by_index(i).unwrap();
                let name = f.name().rsplit('/').next().unwrap().to_owned();
                let mut s = String::new();
                f.read_to_string(&mut s).unwrap();
                (name, s)
            })
            .collect()
    }

    fn records(files: &BTreeMap<String, String>, cat: &str) -> Vec<Value> {
        serde_json::from_str(&files[&format!("{cat}.json")]).unwrap()
    }

    /// The manifest lists every other file with its real SHA-256 and size.
    fn assert_manifest_matches(files: &BTreeMap<String, String>) -> Value {
        let manifest: Value = serde_json::from_str(&files["manifest.json"]).unwrap();
        let listed = manifest["files"].as_array().unwrap();
        assert_eq!(listed.len(), files.len() - 1);
        for f in listed {
            let body = &files[f["name"].as_str().unwrap()];
            assert_eq!(f["sha256"], sha256_hex(body.as_bytes()), "{f}");
            assert_eq!(f["bytes"], body.len());
        }
        manifest
    }

    fn audit_text(ctx: &Context, id: i64) -> String {
        serde_json::to_string(&audit::list(ctx, Some(id)).unwrap()).unwrap()
    }

    fn entries(ctx: &Context, id: i64, action: &str) -> Vec<Value> {
        audit::list(ctx, Some(id))
            .unwrap()
            .into_iter()
            .filter(|e| e.action == action)
            .map(|e| e.details)
            .collect()
    }

    #[test]
    fn the_review_lists_every_record_under_a_stable_id() {
        let dir = tempfile::tempdir().unwrap();
        let (ctx, id, pkg) = setup(dir.path());
        let r = review(&ctx, id).unwrap();
        assert_eq!(
            r.state,
            ReviewState {
                built: true,
                released: false,
                withheld: 0
            }
        );
        assert_eq!(r.sha256.as_deref(), Some(pkg.sha256.as_str()));
        assert_eq!(r.files.len(), pkg.files.len());
        let ids: Vec<&str> = r
            .categories
            .iter()
            .flat_map(|c| c.records.iter().map(|x| x.id.as_str()))
            .collect();
        for want in [
            "profile:1",
            "email_history:1",
            "activity:evt_cus",
            "activity:evt_ch1",
            "activity:evt_ch2",
            &format!("requests:{id}"),
        ] {
            assert!(ids.contains(&want), "{want} not in {ids:?}");
        }
        let ch2 = &r.categories[2].records[2];
        assert_eq!(ch2.id, "activity:evt_ch2");
        assert!(ch2.fields.contains(&"personal_data.name".to_owned()));
        assert_eq!(r.grounds.len(), 3);
        // Read again: the same ids.
        let again = review(&ctx, id).unwrap();
        assert_eq!(again.categories[2].records[2].id, "activity:evt_ch2");
        assert_eq!(
            state(&ctx, id).unwrap(),
            r.state,
            "state() says what the review says"
        );
    }

    #[test]
    fn a_withheld_record_is_left_out_of_the_released_package_and_the_letter_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let (ctx, id, built) = setup(dir.path());
        let r = withhold(&ctx, id, "activity:evt_ch2", None, "other_person", None).unwrap();
        assert_eq!(r.state.withheld, 1);
        assert!(r.categories[2].records[2].withheld);
        assert_eq!(r.withheld[0].ground, Ground::OtherPerson);
        assert!(r.withheld[0].in_package);

        let final_dir = dir.path().join("final");
        let released = release(&ctx, id, Some(&final_dir)).unwrap();
        assert_ne!(released.sha256, built.sha256, "the package changed");
        assert!(
            !Path::new(&built.path).exists(),
            "the package as built holds what was withheld: removed"
        );
        let files = unzip(&released.path);
        assert_eq!(
            sha256_hex(&std::fs::read(&released.path).unwrap()),
            released.sha256
        );
        for (name, body) in &files {
            for gone in ["evt_ch2", "ch_two", "987654", OTHER] {
                assert!(!body.contains(gone), "{gone} is still in {name}");
            }
        }
        let activity = records(&files, "activity");
        assert_eq!(activity.len(), 2);
        assert!(files["activity.csv"].contains("evt_ch1"));
        let manifest = assert_manifest_matches(&files);
        assert_eq!(manifest["withheld"]["records"], 1);
        assert_eq!(manifest["withheld"]["grounds"], json!(["other_person"]));
        assert!(manifest["released_at"].is_string());
        let activity_file = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "activity.json")
            .unwrap()
            .clone();
        assert_eq!(activity_file["records"], 2);

        let html = &files["summary.html"];
        assert!(html.contains("<h2>What we have withheld</h2>"), "{html}");
        assert!(
            html.contains("We have withheld 1 record from this package, for the following reason:"),
            "{html}"
        );
        assert!(
            html.contains(
                "<li>1 record: it would disclose personal data about other people, whose \
                 rights and freedoms the law also protects (Article 15(4) of the GDPR (EU) \
                 2016/679).</li>"
            ),
            "{html}"
        );
        assert!(html.contains(
            "<tr><td>Processing activity (events received from processors)</td><td>2</td>"
        ));

        let released_entries = entries(&ctx, id, "access.released");
        assert_eq!(released_entries.len(), 1);
        assert_eq!(released_entries[0]["sha256"], released.sha256);
        assert_eq!(released_entries[0]["withheld_records"], 1);
        let withheld = entries(&ctx, id, "access.withheld");
        assert_eq!(
            withheld,
            [json!({"record_id": "activity:evt_ch2", "field": null,
                    "ground": "other_person", "reason": null})]
        );
        assert_eq!(
            state(&ctx, id).unwrap(),
            ReviewState {
                built: true,
                released: true,
                withheld: 1
            }
        );
        // The review now shows what was released.
        let r = review(&ctx, id).unwrap();
        assert_eq!(r.path.as_deref(), Some(released.path.as_str()));
        assert_eq!(r.categories[2].records.len(), 2);
    }

    #[test]
    fn a_withheld_field_leaves_the_record_without_it_and_the_trail_without_its_value() {
        let dir = tempfile::tempdir().unwrap();
        let (ctx, id, built) = setup(dir.path());
        withhold(
            &ctx,
            id,
            "activity:evt_ch2",
            Some("personal_data.name"),
            "other_person",
            Some("the name is the person who paid for it"),
        )
        .unwrap();
        withhold(
            &ctx,
            id,
            "activity:evt_ch2",
            Some("personal_data.email"),
            "other_person",
            None,
        )
        .unwrap();
        let trail = audit_text(&ctx, id);
        for value in [OTHER, "Quentin", "quentin@example.net", "987654"] {
            assert!(!trail.contains(value), "{value} is in the audit trail");
        }
        assert!(trail.contains("personal_data.name") && trail.contains("activity:evt_ch2"));

        // Released where it was built: it replaces the package as built.
        let released = release(&ctx, id, None).unwrap();
        assert_eq!(released.path, built.path);
        let files = unzip(&released.path);
        let ch2 = records(&files, "activity")
            .into_iter()
            .find(|r| r["event_id"] == "evt_ch2")
            .expect("the record is still there");
        assert_eq!(ch2["personal_data"], json!({}), "{ch2}");
        assert_eq!(ch2["object_id"], "ch_two");
        for (name, body) in &files {
            assert!(!body.contains(OTHER), "{OTHER} in {name}");
            assert!(!body.contains("quentin@example.net"), "in {name}");
        }
        assert_manifest_matches(&files);
        let html = &files["summary.html"];
        assert!(
            html.contains("We have withheld 2 details of records from this package"),
            "{html}"
        );
        assert!(html.contains("<li>2 details of records: it would disclose"));
        let trail = audit_text(&ctx, id);
        assert!(!trail.contains(OTHER));
    }

    #[test]
    fn a_hostile_reason_is_escaped_in_the_cover_letter() {
        let dir = tempfile::tempdir().unwrap();
        let (ctx, id, _) = setup(dir.path());
        withhold(&ctx, id, "activity:evt_ch1", None, "other", Some(HOSTILE)).unwrap();
        withhold(&ctx, id, "email_history:1", None, "legal_privilege", None).unwrap();
        let files = unzip(&release(&ctx, id, None).unwrap().path);
        let html = &files["summary.html"];
        assert!(
            html.contains(&format!("<li>1 record: {HOSTILE_ESCAPED}.</li>")),
            "{html}"
        );
        assert!(
            html.contains("<li>1 record: it is protected by legal professional privilege.</li>")
        );
        assert!(html
            .contains("We have withheld 2 records from this package, for the following reasons:"));
        // charset, the table's border and the note's class (no Stripe key here).
        assert_escaped(html, 3);
    }

    #[test]
    fn nothing_more_is_withheld_after_the_release_until_a_new_build() {
        let dir = tempfile::tempdir().unwrap();
        let (ctx, id, _) = setup(dir.path());
        withhold(&ctx, id, "activity:evt_ch2", None, "other_person", None).unwrap();
        release(&ctx, id, None).unwrap();
        let before = audit::list(&ctx, Some(id)).unwrap().len();
        for e in [
            withhold(&ctx, id, "activity:evt_ch1", None, "other_person", None).unwrap_err(),
            unwithhold(&ctx, id, "activity:evt_ch2", None).unwrap_err(),
            release(&ctx, id, None).unwrap_err(),
        ] {
            assert!(matches!(e, Error::Blocked(_)), "{e}");
            assert!(e.to_string().contains("was released on"), "{e}");
        }
        assert_eq!(audit::list(&ctx, Some(id)).unwrap().len(), before);

        // A new build is a new package to review; the earlier decision still holds.
        super::super::build(&ctx, id, &dir.path().join("out"), &mut |_| {}).unwrap();
        let s = state(&ctx, id).unwrap();
        assert!(s.built && !s.released && s.withheld == 1);
        unwithhold(&ctx, id, "activity:evt_ch2", None).unwrap();
        assert_eq!(
            entries(&ctx, id, "access.unwithheld"),
            [json!({"record_id": "activity:evt_ch2", "field": null, "ground": "other_person"})]
        );
        let files = unzip(&release(&ctx, id, None).unwrap().path);
        assert!(files["activity.json"].contains("evt_ch2"));
        assert!(!files["summary.html"].contains("withheld"));
    }

    #[test]
    fn bad_input_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let (ctx, id, _) = setup(dir.path());
        let before = audit::list(&ctx, Some(id)).unwrap().len();
        let cases = [
            (
                withhold(&ctx, id, "activity:evt_nope", None, "other_person", None),
                "not_found",
                "has no record \"activity:evt_nope\"",
            ),
            (
                withhold(
                    &ctx,
                    id,
                    "activity:evt_ch1",
                    Some("nope"),
                    "other_person",
                    None,
                ),
                "not_found",
                "has no field \"nope\"",
            ),
            (
                withhold(&ctx, id, "activity:evt_ch1", None, "because", None),
                "invalid_input",
                "unknown ground",
            ),
            (
                withhold(&ctx, id, "activity:evt_ch1", None, "other", Some("  ")),
                "reason_required",
                "say why",
            ),
            (
                withhold(&ctx, id, "a b@example.org", None, "other_person", None),
                "not_found",
                "has no record of that name",
            ),
            (
                unwithhold(&ctx, id, "activity:evt_ch1", None),
                "not_found",
                "is not withheld",
            ),
        ];
        for (got, code, words) in cases {
            let e = got.unwrap_err();
            assert_eq!(e.code(), code, "{e}");
            assert!(e.to_string().contains(words), "{e}");
        }
        assert_eq!(audit::list(&ctx, Some(id)).unwrap().len(), before);
        assert_eq!(state(&ctx, id).unwrap().withheld, 0);

        // Twice the same: refused the second time.
        withhold(&ctx, id, "activity:evt_ch1", None, "legal_privilege", None).unwrap();
        let e = withhold(
            &ctx,
            id,
            "activity:evt_ch1",
            Some("event_id"),
            "other_person",
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("withheld already"), "{e}");

        // A package changed after it was built is not reviewed.
        let r = review(&ctx, id).unwrap();
        std::fs::write(r.path.unwrap(), b"not the package").unwrap();
        assert_eq!(review(&ctx, id).unwrap_err().code(), "integrity");
    }
}
