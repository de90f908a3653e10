//! The access package's `summary.html`: the cover letter to the data subject and the table of
//! what the package holds, from `templates/access_summary.html` (auto-escaped).

use askama::Template;

use super::Category;
use crate::domain::settings::OrgProfile;
use crate::requests::Regime;
use crate::store::access_review::Ground;
use crate::time::count_of;

#[derive(Template)]
#[template(path = "access_summary.html")]
pub(super) struct Summary<'a> {
    pub org: &'a OrgProfile,
    /// The subject's email, whom the letter is addressed to.
    pub email: &'a str,
    pub id: i64,
    pub regime: Regime,
    pub received: &'a str,
    pub generated: &'a str,
    pub cats: &'a [Category],
    /// Why the package holds local data only (Stripe unreachable or not configured).
    pub note: Option<&'a str>,
    /// What was withheld from the package, and why (`review.rs`).
    pub withheld: Option<&'a WithheldNote>,
}

/// What the cover letter says was withheld: how much, and why, in the data subject's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WithheldNote {
    /// Whole records left out.
    pub records: usize,
    /// Single fields left out of records that are in the package.
    pub fields: usize,
    /// One line per reason: how much (`2 records and 1 detail`) and why.
    pub reasons: Vec<(String, String)>,
}

/// How much was withheld, in words: `2 records`, `1 detail of a record`, `2 records and 1
/// detail of another record`.
fn amount(records: usize, fields: usize) -> String {
    let r = count_of(records as i128, "record", "records");
    match (records, fields) {
        (_, 0) => r,
        (0, _) => count_of(fields as i128, "detail of a record", "details of records"),
        _ => format!(
            "{r} and {}",
            count_of(
                fields as i128,
                "detail of another record",
                "details of other records"
            )
        ),
    }
}

/// Why something was withheld, in plain words for the data subject.
fn why(regime: Regime, ground: Ground, text: Option<&str>) -> String {
    match (ground, regime) {
        (Ground::OtherPerson, Regime::Ccpa) => {
            "it would disclose personal information about other people".into()
        }
        (Ground::OtherPerson, _) => format!(
            "it would disclose personal data about other people, whose rights and freedoms the \
             law also protects (Article 15(4) of the {})",
            regime.label()
        ),
        (Ground::LegalPrivilege, _) => "it is protected by legal professional privilege".into(),
        (Ground::Other, _) => text
            .unwrap_or_default()
            .trim()
            .trim_end_matches('.')
            .to_owned(),
    }
}

impl WithheldNote {
    /// The note for what was withheld: each item's ground, its free text, and whether it is a
    /// whole record (`false`) or a field (`true`). `None` when nothing was.
    pub(crate) fn new(regime: Regime, items: &[(Ground, Option<&str>, bool)]) -> Option<Self> {
        if items.is_empty() {
            return None;
        }
        // One line per ground (per text, for `other`), in the order of Ground::ALL.
        let mut groups: Vec<(Ground, String, usize, usize)> = Vec::new();
        for &(ground, text, field) in items {
            let key = match ground {
                Ground::Other => text.unwrap_or_default().trim().to_owned(),
                _ => String::new(),
            };
            let i = match groups.iter().position(|g| g.0 == ground && g.1 == key) {
                Some(i) => i,
                None => {
                    groups.push((ground, key, 0, 0));
                    groups.len() - 1
                }
            };
            if field {
                groups[i].3 += 1;
            } else {
                groups[i].2 += 1;
            }
        }
        groups.sort_by_key(|g| g.0);
        Some(WithheldNote {
            records: items.iter().filter(|i| !i.2).count(),
            fields: items.iter().filter(|i| i.2).count(),
            reasons: groups
                .into_iter()
                .map(|(ground, text, r, f)| (amount(r, f), why(regime, ground, Some(&text))))
                .collect(),
        })
    }

    /// How much was withheld in all, in words.
    pub(crate) fn total(&self) -> String {
        amount(self.records, self.fields)
    }
}

impl Summary<'_> {
    pub(crate) fn to_html(&self) -> String {
        self.render().expect("the summary template renders")
    }

    fn controller(&self) -> &str {
        if self.org.name.is_empty() {
            "[organisation name not set]"
        } else {
            &self.org.name
        }
    }

    /// The controller's address and email, those that are set.
    fn contact(&self) -> Vec<&str> {
        [&self.org.address, &self.org.email]
            .into_iter()
            .filter(|v| !v.is_empty())
            .map(String::as_str)
            .collect()
    }

    fn article(&self) -> &'static str {
        match self.regime {
            Regime::Ccpa => "Cal. Civ. Code § 1798.110",
            _ => "Article 15",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::requests::hostile::{acme, assert_escaped, hostile_org, HOSTILE, HOSTILE_ESCAPED};

    fn cats() -> Vec<Category> {
        vec![
            Category {
                name: "profile",
                title: "Profile",
                records: vec![json!({"email": "zelda@example.org"})],
            },
            Category {
                name: "activity",
                title: "Processing activity (events received from processors)",
                records: vec![json!({}), json!({}), json!({})],
            },
            Category {
                name: "stripe_charges",
                title: "Stripe: charges",
                records: vec![],
            },
        ]
    }

    fn html(org: &OrgProfile, email: &str, regime: Regime, note: Option<&str>) -> String {
        Summary {
            org,
            email,
            id: 7,
            regime,
            received: "2026-01-02T03:04:05Z",
            generated: "2026-01-05T09:00:00Z",
            cats: &cats(),
            note,
            withheld: None,
        }
        .to_html()
    }

    #[test]
    fn summary_is_a_cover_letter_and_lists_what_the_package_holds() {
        let html = html(&acme(), "zelda@example.org", Regime::Gdpr, None);
        for part in [
            "<!doctype html>",
            "<meta charset=\"utf-8\">",
            "<title>Your personal data — request 7</title>",
            "<h1>Acme Widgets GmbH</h1>",
            "<p>1 Main St, Berlin, privacy@acme.example</p>",
            "<p>Data Protection Officer: Dana Prot dpo@acme.example</p>",
            "<p>To: zelda@example.org<br>Date: 2026-01-05T09:00:00Z<br>Reference: request #7, \
             received 2026-01-02T03:04:05Z</p>",
            "<p>Dear data subject,</p>",
            "In answer to your request under Article 15 of the GDPR (EU) 2016/679, this package",
            "manifest.json lists every file with its SHA-256 checksum.",
            "<tr><th>Category</th><th>Records</th><th>Files</th></tr>",
            "<tr><td>Profile</td><td>1</td><td>profile.json, profile.csv</td></tr>",
            "<tr><td>Processing activity (events received from processors)</td><td>3</td>\
             <td>activity.json, activity.csv</td></tr>",
            "<tr><td>Stripe: charges</td><td>0</td><td>stripe_charges.json, stripe_charges.csv</td>",
            "<h2>Purposes, recipients and retention</h2>",
            "Our payment processor (Stripe) processes it on our behalf.",
            "<h2>Your rights</h2>",
            "you may lodge a complaint with a supervisory authority.",
            "<p>Yours sincerely,<br>Acme Widgets GmbH</p>",
        ] {
            assert!(html.contains(part), "{part:?} not in {html}");
        }
        assert!(!html.contains("Note:"));
    }

    #[test]
    fn summary_names_the_ccpa_and_says_why_it_holds_local_data_only() {
        let note = "Stripe could not be reached when this package was made";
        let html = html(
            &OrgProfile::default(),
            "z@example.org",
            Regime::Ccpa,
            Some(note),
        );
        assert!(html.contains(
            "under Cal. Civ. Code § 1798.110 of the CCPA/CPRA, this package holds a copy"
        ));
        assert!(html.contains(&format!("<p class=\"note\"><b>Note:</b> {note}</p>")));
        assert_eq!(html.matches("[organisation name not set]").count(), 2);
        assert!(
            html.contains("<h1>[organisation name not set]</h1>\n<p></p>"),
            "{html}"
        );
        assert!(!html.contains("Data Protection Officer"));
        let uk = self::html(&acme(), "z@example.org", Regime::UkGdpr, None);
        assert!(uk.contains("under Article 15 of the UK GDPR, this package"));
    }

    #[test]
    fn hostile_values_come_out_escaped_in_the_summary() {
        let org = hostile_org();
        let html = html(&org, HOSTILE, Regime::Gdpr, Some(HOSTILE));
        // The controller twice, address, email, DPO name and email, the subject, the note.
        assert_eq!(html.matches(HOSTILE_ESCAPED).count(), 8, "{html}");
        // charset, the table's border and the note's class.
        assert_escaped(&html, 3);
    }

    #[test]
    fn the_withheld_note_counts_records_and_details_per_ground() {
        let n = WithheldNote::new(
            Regime::Ccpa,
            &[
                (Ground::Other, Some("an ongoing investigation."), false),
                (Ground::OtherPerson, None, true),
                (Ground::OtherPerson, None, false),
                (Ground::OtherPerson, None, false),
            ],
        )
        .unwrap();
        assert_eq!(n.total(), "3 records and 1 detail of another record");
        assert_eq!(
            n.reasons,
            [
                (
                    "2 records and 1 detail of another record".to_owned(),
                    "it would disclose personal information about other people".to_owned()
                ),
                ("1 record".to_owned(), "an ongoing investigation".to_owned()),
            ]
        );
        assert_eq!(WithheldNote::new(Regime::Gdpr, &[]), None);
        let uk = WithheldNote::new(Regime::UkGdpr, &[(Ground::OtherPerson, None, true)]).unwrap();
        assert_eq!(uk.total(), "1 detail of a record");
        assert!(uk.reasons[0].1.ends_with("(Article 15(4) of the UK GDPR)"));
    }
}
