//! The step a request waits for, through the real CLI: `dsr show` says it; closing early
//! needs a reason; an access package for an unverified identity records the override (with
//! the given reason, or the command line's own and a warning); a blocked erasure item
//! resolved at Stripe by the officer (`dsr resolve`) lets the erasure run, unless Stripe's
//! live answer disagrees.

use std::path::Path;

use serde_json::{json, Value};

use crate::dsr::{data, new_dsr, ok_json, ok_run, run, setup, stock, CUS, EMAIL, NAME};
use crate::fake_stripe::FakeStripe;
use crate::support::{self, add_stripe};

fn show(dir: &Path, id: &str) -> Value {
    ok_json(dir, None, &["dsr", "show", id])
}

/// The request's audit entries with `action`.
fn entries(dir: &Path, id: &str, action: &str) -> Vec<Value> {
    ok_json(dir, None, &["audit", "list", "--request", id])
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn closing_a_request_early_needs_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let r = new_dsr(dir, "access", "early@example.com", &[]);
    let id = r["id"].as_i64().unwrap().to_string();
    let page = show(dir, &id);
    assert_eq!(page["next_step"]["key"], "verify_identity", "{page:#}");
    assert_eq!(page["next_step"]["label"], "Verify identity");
    assert_eq!(page["closing_needs_reason"], true);

    let out = run(dir, None, &["dsr", "complete", &id], None, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--reason"), "{}", stderr(&out));
    assert_eq!(show(dir, &id)["status"], "received");

    let done = ok_json(
        dir,
        None,
        &[
            "dsr",
            "complete",
            &id,
            "--reason",
            "withdrawn by the person (early@example.com)",
        ],
    );
    assert_eq!(done["status"], "completed");
    assert!(
        done["notes"]
            .as_str()
            .unwrap()
            .contains("withdrawn by the person"),
        "{done:#}"
    );
    let completed = entries(dir, &id, "request.completed");
    assert_eq!(completed.len(), 1);
    assert_eq!(
        completed[0]["details"],
        json!({"closed_early": true, "due_step": "verify_identity",
               "reason": "withdrawn by the person ([the person])"})
    );
    let page = show(dir, &id);
    assert_eq!(page["next_step"]["key"], "none");
    ok_run(dir, None, &["audit", "verify"], None);
}

#[test]
fn an_unverified_access_package_records_the_override() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let out_dir = tmp.path().join("out");
    let out_arg = out_dir.to_str().unwrap();

    // Without --unverified-reason: built, with a warning, and the command line's reason.
    let a = new_dsr(&dir, "access", "first@example.com", &[]);
    let a = a["id"].as_i64().unwrap().to_string();
    assert_eq!(show(&dir, &a)["identity_override_needed"], true);
    let out = run(
        &dir,
        None,
        &["dsr", "access", &a, "--out", out_arg, "--json"],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let pkg: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert!(Path::new(pkg["path"].as_str().unwrap()).is_file());
    assert!(
        stderr(&out).contains("warning") && stderr(&out).contains("not verified"),
        "{}",
        stderr(&out)
    );
    let o = entries(&dir, &a, "access.identity_override");
    assert_eq!(o.len(), 1);
    assert_eq!(
        o[0]["details"]["reason"],
        "built from the command line without a verified identity"
    );
    assert_eq!(o[0]["actor"], "user");
    let page = show(&dir, &a);
    // Built: reviewed and released next, before it is sent.
    assert_eq!(page["next_step"]["key"], "review_package", "{page:#}");
    assert_eq!(page["identity_override_needed"], false);
    // Built again: the override stands, nothing more is recorded or warned about.
    let out = run(
        &dir,
        None,
        &["dsr", "access", &a, "--out", out_arg],
        None,
        &[],
    );
    assert!(out.status.success() && !stderr(&out).contains("warning"));
    assert_eq!(entries(&dir, &a, "access.identity_override").len(), 1);
    // Reviewed and released, sending the package answers the request: no reason needed.
    ok_json(&dir, None, &["dsr", "release", &a, "--out", out_arg]);
    assert_eq!(show(&dir, &a)["next_step"]["key"], "send_package");
    assert_eq!(
        ok_json(&dir, None, &["dsr", "complete", &a])["status"],
        "completed"
    );

    // With --unverified-reason: no warning, that reason.
    let b = new_dsr(&dir, "access", "second@example.com", &[]);
    let b = b["id"].as_i64().unwrap().to_string();
    let out = run(
        &dir,
        None,
        &[
            "dsr",
            "access",
            &b,
            "--out",
            out_arg,
            "--unverified-reason",
            "asked from the account page, signed in",
        ],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let o = entries(&dir, &b, "access.identity_override");
    assert_eq!(
        o[0]["details"]["reason"],
        "asked from the account page, signed in"
    );

    // Verified first: no override at all.
    let c = new_dsr(&dir, "access", "third@example.com", &[]);
    let c = c["id"].as_i64().unwrap().to_string();
    ok_json(
        &dir,
        None,
        &[
            "dsr",
            "verify-identity",
            &c,
            "--method",
            "reply from the account email",
        ],
    );
    assert_eq!(show(&dir, &c)["next_step"]["key"], "build_package");
    let out = run(
        &dir,
        None,
        &["dsr", "access", &c, "--out", out_arg],
        None,
        &[],
    );
    assert!(out.status.success() && !stderr(&out).contains("warning"));
    assert!(entries(&dir, &c, "access.identity_override").is_empty());
    ok_run(&dir, None, &["audit", "verify"], None);
}

fn blocked_targets(plan: &Value) -> Vec<String> {
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "blocked")
        .map(|i| i["target"].as_str().unwrap().to_owned())
        .collect()
}

fn item<'a>(plan: &'a Value, target: &str) -> &'a Value {
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["target"] == target)
        .unwrap_or_else(|| panic!("{target} in {plan:#}"))
}

/// No Stripe API key, an active subscription known from its webhook event: the plan is
/// blocked twice. Both are resolved at Stripe by hand and recorded; the erasure then runs,
/// the customer as a manual step, without a call to Stripe.
#[test]
fn blockers_resolved_at_stripe_by_hand_let_the_erasure_run() {
    const ETHAN: &str = "ethan.brooks@example.net";
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (_pid, path) = add_stripe(dir);
    {
        let server = support::Server::start(dir);
        for f in support::fixtures() {
            let (status, body) = support::post_signed(server.addr, &path, &f.body);
            assert_eq!(status, 200, "{}: {body}", f.file);
        }
        support::eventually("Ethan to be linked", || {
            ok_json(dir, None, &["subjects", "list"])
                .to_string()
                .contains(ETHAN)
        });
        server.stop();
    }
    let r = new_dsr(dir, "erasure", ETHAN, &[]);
    let id = r["id"].as_i64().unwrap().to_string();
    ok_json(
        dir,
        None,
        &["dsr", "verify-identity", &id, "--method", "signed letter"],
    );
    assert_eq!(show(dir, &id)["next_step"]["key"], "review_plan");

    let plan = ok_json(dir, None, &["dsr", "erase", &id, "--plan"]);
    let blocked = blocked_targets(&plan);
    let customer = "stripe:customer:cus_SpLYP5LPiKJIbB";
    let subscription = "stripe:subscription:sub_1SennHLw7QmR2xNczRuQ9FFr";
    assert_eq!(blocked, [customer, subscription], "{plan:#}");
    assert_eq!(show(dir, &id)["next_step"]["key"], "resolve_blocker");
    let out = run(dir, None, &["dsr", "erase", &id, "--yes"], None, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // Only a blocked item can be resolved, and only with a note.
    for (target, note) in [("local:profile", "done"), (subscription, " ")] {
        let out = run(
            dir,
            None,
            &["dsr", "resolve", &id, "--target", target, "--note", note],
            None,
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{target}: {}", stderr(&out));
    }

    let plan = ok_json(
        dir,
        None,
        &[
            "dsr",
            "resolve",
            &id,
            "--target",
            subscription,
            "--note",
            "cancelled the subscription in the Stripe dashboard",
        ],
    );
    assert_eq!(blocked_targets(&plan), [customer]);
    let sub = item(&plan, subscription);
    assert_eq!(sub["action"], "erase");
    let reason = sub["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("resolved at Stripe by the user on ")
            && reason.ends_with(": cancelled the subscription in the Stripe dashboard"),
        "{reason}"
    );
    let plan = ok_json(
        dir,
        None,
        &[
            "dsr",
            "resolve",
            &id,
            "--target",
            customer,
            "--note",
            "deleted the customer in the Stripe dashboard",
        ],
    );
    assert_eq!(plan["blocked"], false, "{plan:#}");
    assert_eq!(item(&plan, customer)["action"], "erase");
    assert_eq!(show(dir, &id)["next_step"]["key"], "run_erasure");

    let done = ok_json(dir, None, &["dsr", "erase", &id, "--yes"]);
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["stripe_customers_deleted"], json!([]));
    let resolved: Vec<Value> = entries(dir, &id, "erasure.blocker_resolved")
        .iter()
        .map(|e| e["details"]["target"].clone())
        .collect();
    assert_eq!(resolved, [json!(subscription), json!(customer)]);
    let manual = entries(dir, &id, "erasure.processor_manual_step");
    assert_eq!(manual.len(), 1);
    assert_eq!(manual[0]["details"]["customer"], "cus_SpLYP5LPiKJIbB");
    assert_eq!(manual[0]["details"]["resolved_by_user"], true);
    assert_eq!(show(dir, &id)["next_step"]["key"], "send_receipt");
    ok_run(dir, None, &["audit", "verify"], None);
}

/// With an API key, Stripe's live answer has the last word: an invoice recorded as resolved
/// that Stripe still gives as open stays blocked, and says so; once it is voided at Stripe
/// the plan is free and the erasure runs.
#[test]
fn a_resolution_the_live_check_disagrees_with_stays_blocked() {
    let fake = FakeStripe::start();
    stock(&fake, CUS, EMAIL, NAME, "open");
    let (tmp, _) = setup(&fake);
    let dir = data(&tmp);
    let r = new_dsr(&dir, "erasure", EMAIL, &[]);
    let id = r["id"].as_i64().unwrap().to_string();
    let invoice = "stripe:invoice:in_zelda0001";
    let plan = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--plan"]);
    assert_eq!(blocked_targets(&plan), [invoice]);

    let plan = ok_json(
        &dir,
        Some(&fake.base),
        &[
            "dsr",
            "resolve",
            &id,
            "--target",
            invoice,
            "--note",
            "marked it uncollectible",
        ],
    );
    assert_eq!(blocked_targets(&plan), [invoice]);
    let reason = item(&plan, invoice)["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("live check at Stripe disagrees") && reason.contains("open"),
        "{reason}"
    );
    let out = run(
        &dir,
        Some(&fake.base),
        &["dsr", "erase", &id, "--yes"],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(fake.requests().iter().all(|r| r.method != "DELETE"));

    fake.with(|s| {
        for inv in s.objects.get_mut("invoices").unwrap() {
            inv["status"] = json!("uncollectible");
        }
    });
    let plan = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--plan"]);
    assert_eq!(plan["blocked"], false, "{plan:#}");
    let done = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--yes"]);
    assert_eq!(done["status"], "completed", "{done:#}");
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.method == "DELETE" && r.path == format!("/v1/customers/{CUS}")));
}
