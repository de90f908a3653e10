//! Tests only: a hostile value for the HTML documents (the erasure receipt, the access
//! package's summary), the check that none of it is left unescaped, and the controller both
//! documents name.

use crate::domain::settings::OrgProfile;

/// A controller with every field of the letterhead but a representative.
pub fn acme() -> OrgProfile {
    OrgProfile {
        name: "Acme Widgets GmbH".into(),
        address: "1 Main St, Berlin".into(),
        email: "privacy@acme.example".into(),
        dpo_name: "Dana Prot".into(),
        dpo_email: "dpo@acme.example".into(),
        representative: String::new(),
    }
}

/// A controller whose every field is [`HOSTILE`].
pub(crate) fn hostile_org() -> OrgProfile {
    OrgProfile {
        name: HOSTILE.into(),
        address: HOSTILE.into(),
        email: HOSTILE.into(),
        dpo_name: HOSTILE.into(),
        dpo_email: HOSTILE.into(),
        representative: HOSTILE.into(),
    }
}

/// Markup, both quotes, an ampersand and non-ASCII letters.
pub(crate) const HOSTILE: &str = "<script>alert(\"x\")</script> Tom & Jerry's Zoë Ünal 東京";
/// [`HOSTILE`] as it must appear in the HTML (askama's numeric entities); non-ASCII kept, as
/// the documents are UTF-8.
pub(crate) const HOSTILE_ESCAPED: &str =
    "&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; Tom &#38; Jerry&#39;s Zoë Ünal 東京";

/// Nothing of a hostile value is left raw: no tag but the template's, no `'`, no `&` outside
/// an entity, and no `"` but those of the template's `n_attributes` attributes.
pub(crate) fn assert_escaped(html: &str, n_attributes: usize) {
    assert!(
        !html.contains("<script") && !html.contains("</script"),
        "{html}"
    );
    assert!(!html.contains('\''), "{html}");
    let unentitied = ["&#60;", "&#62;", "&#38;", "&#34;", "&#39;"]
        .iter()
        .fold(html.to_owned(), |s, e| s.replace(e, ""));
    assert!(!unentitied.contains('&'), "{html}");
    assert_eq!(html.matches('"').count(), 2 * n_attributes, "{html}");
}
