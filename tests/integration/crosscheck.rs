//! The signature code agrees with Stripe's own library (npm `stripe`, installed in ui/ by
//! `make setup`): headers made by `webhooks.generateTestHeaderString` verify here, and
//! headers made here pass `webhooks.signature.verifyHeader` (what `constructEvent` calls; it
//! refuses thin events by design, so the header check is called directly).

use std::process::Command;

use privacy_desk_core::secrets::Secret;
use privacy_desk_core::stripe::signature;
use serde_json::{json, Value};

use crate::support::*;

const SCRIPT: &str = r#"
const fs = require('fs');
const Stripe = require('stripe');
const stripe = new Stripe('sk_test_unused');
const input = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
const out = input.cases.map((c) => {
  const body = fs.readFileSync(c.path, 'utf8');
  let oursAccepted = true;
  try { stripe.webhooks.signature.verifyHeader(body, c.ours, input.secret); } catch (e) { oursAccepted = false; }
  let tamperedAccepted = true;
  try { stripe.webhooks.signature.verifyHeader(body + ' ', c.ours, input.secret); } catch (e) { tamperedAccepted = false; }
  const theirs = stripe.webhooks.generateTestHeaderString({ payload: body, secret: input.secret, timestamp: input.t });
  return { file: c.file, theirs, oursAccepted, tamperedAccepted };
});
console.log(JSON.stringify(out));
"#;

#[test]
fn signatures_agree_with_the_official_stripe_library() {
    let ui = crate::support::repo().join("ui");
    assert!(
        ui.join("node_modules/stripe").is_dir(),
        "npm package `stripe` missing from ui/node_modules: run `make setup`"
    );
    let t = now();
    let secret = Secret::new(SECRET);
    let cases: Vec<Value> = fixtures()
        .iter()
        .map(|f| {
            json!({
                "file": f.file,
                "path": fixtures_dir().join(&f.file),
                "ours": signature::sign(&f.body, &secret, t),
            })
        })
        .collect();
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        tmp.path(),
        json!({"secret": SECRET, "t": t, "cases": cases}).to_string(),
    )
    .unwrap();
    let out = Command::new("node")
        .current_dir(&ui)
        .args(["-e", SCRIPT])
        .arg(tmp.path())
        .output()
        .expect("node is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), 30);
    for (r, f) in results.iter().zip(fixtures()) {
        assert_eq!(
            r["oursAccepted"], true,
            "stripe-node rejects our header for {}",
            f.file
        );
        assert_eq!(r["tamperedAccepted"], false, "{}", f.file);
        let theirs = r["theirs"].as_str().unwrap();
        assert_eq!(
            signature::verify(Some(theirs), &f.body, std::slice::from_ref(&secret), t),
            Ok(t),
            "we reject stripe-node's header for {}",
            f.file
        );
        assert_eq!(theirs, signature::sign(&f.body, &secret, t), "{}", f.file);
    }
}
