//! RoPA exports: XLSX in the ICO template's layout, PDF for reading and signing, CSV (one row
//! per activity) and JSON (the whole [`Ropa`]). Every tabular format uses [`COLUMNS`].

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{category_label, report, ProcessingActivity, Ropa};
use crate::context::Context;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Xlsx,
    Pdf,
    Csv,
    Json,
}

impl Format {
    /// The file name extension of the format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        match s.to_ascii_lowercase().as_str() {
            "xlsx" => Ok(Format::Xlsx),
            "pdf" => Ok(Format::Pdf),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            _ => Err(Error::invalid(format!(
                "unknown export format '{s}': use xlsx, pdf, csv or json"
            ))),
        }
    }
}

/// One column of the activity table: header, the Art. 30(1) point it answers (if any), value.
pub struct Column {
    pub header: &'static str,
    pub article: &'static str,
    pub value: fn(&ProcessingActivity) -> String,
}

fn list(v: &[String]) -> String {
    v.join("; ")
}

fn yes_no(b: bool) -> String {
    if b { "Yes" } else { "No" }.to_owned()
}

/// The activity table, in the order of the ICO template (controller sheet).
pub(crate) const COLUMNS: &[Column] = &[
    Column {
        header: "Ref",
        article: "",
        value: |a| a.id.to_string(),
    },
    Column {
        header: "Business function",
        article: "",
        value: |a| a.fields.business_function.clone(),
    },
    Column {
        header: "Purposes of the processing",
        article: "Art. 30(1)(b)",
        value: |a| a.fields.purpose.clone(),
    },
    Column {
        header: "Description",
        article: "",
        value: |a| a.fields.description.clone(),
    },
    Column {
        header: "Name and contact details of joint controller",
        article: "Art. 30(1)(a)",
        value: |a| a.fields.joint_controller.clone(),
    },
    Column {
        header: "Categories of individuals",
        article: "Art. 30(1)(c)",
        value: |a| list(&a.fields.data_subjects),
    },
    Column {
        header: "Categories of personal data",
        article: "Art. 30(1)(c)",
        value: |a| {
            let labels: Vec<String> = a
                .fields
                .data_categories
                .iter()
                .map(|c| category_label(c))
                .collect();
            list(&labels)
        },
    },
    Column {
        header: "Categories of recipients",
        article: "Art. 30(1)(d)",
        value: |a| list(&a.fields.recipients),
    },
    Column {
        header: "Processors",
        article: "",
        value: |a| list(&a.processors),
    },
    Column {
        header: "Link to contract with processor",
        article: "",
        value: |a| a.fields.dpa_link.clone(),
    },
    Column {
        header: "Names of third countries or international organisations that personal data are transferred to",
        article: "Art. 30(1)(e)",
        value: |a| a.fields.transfers.clone(),
    },
    Column {
        header: "Safeguards for transfers to third countries",
        article: "Art. 30(1)(e)",
        value: |a| a.fields.transfer_safeguards.clone(),
    },
    Column {
        header: "Retention schedule",
        article: "Art. 30(1)(f)",
        value: |a| a.fields.retention.clone(),
    },
    Column {
        header: "General description of technical and organisational security measures",
        article: "Art. 30(1)(g)",
        value: |a| a.fields.security_measures.clone(),
    },
    Column {
        header: "Article 6 lawful basis for processing",
        article: "",
        value: |a| a.fields.lawful_basis.clone(),
    },
    Column {
        header: "Special category data (Art. 9)",
        article: "",
        value: |a| {
            let f = &a.fields;
            match (f.special_categories, f.special_categories_condition.trim()) {
                (false, _) => "No".to_owned(),
                (true, "") => "Yes".to_owned(),
                (true, c) => format!("Yes: {c}"),
            }
        },
    },
    Column {
        header: "Criminal offence data (Art. 10)",
        article: "",
        value: |a| yes_no(a.fields.criminal_offence_data),
    },
    Column {
        header: "Source of personal data",
        article: "",
        value: |a| a.fields.source.clone(),
    },
    Column {
        header: "DPIA required?",
        article: "",
        value: |a| yes_no(a.fields.dpia_required),
    },
    Column {
        header: "DPIA reference",
        article: "",
        value: |a| a.fields.dpia_reference.clone(),
    },
    Column {
        header: "Categories observed in events",
        article: "",
        value: |a| {
            let labels: Vec<String> = a.observed.iter().map(|c| category_label(c)).collect();
            list(&labels)
        },
    },
    Column {
        header: "Last review",
        article: "",
        value: |a| a.fields.last_review.clone().unwrap_or_default(),
    },
];

/// The header a table shows for a column: with its Art. 30(1) point when it has one.
pub fn header(c: &Column) -> String {
    if c.article.is_empty() {
        c.header.to_owned()
    } else {
        format!("{} [{}]", c.header, c.article)
    }
}

/// The controller block (Art. 30(1)(a)) as (label, value) pairs.
pub(crate) fn controller_rows(r: &Ropa) -> Vec<(&'static str, String)> {
    let o = &r.controller;
    let dpo = match (o.dpo_name.trim(), o.dpo_email.trim()) {
        ("", "") => String::new(),
        (n, "") => n.to_owned(),
        ("", e) => e.to_owned(),
        (n, e) => format!("{n} <{e}>"),
    };
    vec![
        ("Controller (Art. 30(1)(a))", o.name.clone()),
        ("Address (Art. 30(1)(a))", o.address.clone()),
        ("Contact email (Art. 30(1)(a))", o.email.clone()),
        ("Data protection officer (Art. 30(1)(a))", dpo),
        (
            "Representative (Art. 27; Art. 30(1)(a))",
            o.representative.clone(),
        ),
        ("Generated", r.generated_at.clone()),
    ]
}

/// Writes the RoPA to `path` in `format`; returns the record written.
pub fn export(ctx: &Context, format: Format, path: &Path) -> Result<Ropa> {
    let r = report(ctx)?;
    let bytes = match format {
        Format::Json => serde_json::to_vec_pretty(&r).expect("the record serialises"),
        Format::Csv => csv(&r),
        Format::Xlsx => super::export_xlsx::render(&r)?,
        Format::Pdf => super::export_pdf::render(&r),
    };
    let io = |e: std::io::Error| Error::Io(format!("cannot write {}: {e}", path.display()));
    crate::files::write_private(path, |f| f.write_all(&bytes).map_err(io))?;
    Ok(r)
}

/// CSV (`csv_out`): a header row, then one row per activity.
pub fn csv(r: &Ropa) -> Vec<u8> {
    let headers = COLUMNS.iter().map(header).collect::<Vec<_>>();
    let rows = r
        .activities
        .iter()
        .map(|a| COLUMNS.iter().map(|c| (c.value)(a)).collect::<Vec<_>>());
    crate::csv_out::to_bytes(std::iter::once(headers).chain(rows))
}
