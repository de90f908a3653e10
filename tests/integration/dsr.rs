//! Data subject requests through the real CLI, SQLite file and keychain, against the fake
//! Stripe API: deadlines, the access package file by file, erasure (plan, execution, an
//! injected crash then resume, a blocked case, suppression of later events), the receipt and
//! the audit trail's tamper detection.

use std::io::Read;
use std::path::Path;
use std::process::Output;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::fake_stripe::{FakeStripe, KEY, VERSION};
use crate::support::{add_stripe, cli_with, now, scannable_bytes};

pub(crate) const EMAIL: &str = "zelda.quintanilla@example.org";
pub(crate) const NAME: &str = "Zelda Quintanilla";
pub(crate) const CUS: &str = "cus_zelda0001";

pub(crate) fn run(
    dir: &Path,
    base: Option<&str>,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    cli_with(dir, base, args, stdin, env)
}

/// Runs the CLI and asserts it succeeded.
pub(crate) fn ok_run(dir: &Path, base: Option<&str>, args: &[&str], stdin: Option<&str>) -> Output {
    let out = run(dir, base, args, stdin, &[]);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub(crate) fn ok_json(dir: &Path, base: Option<&str>, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = ok_run(dir, base, &a, None);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// `dsr new KIND --email EMAIL EXTRA…`, its JSON.
pub(crate) fn new_dsr(dir: &Path, kind: &str, email: &str, extra: &[&str]) -> Value {
    let mut args = vec!["dsr", "new", kind, "--email", email];
    args.extend_from_slice(extra);
    ok_json(dir, None, &args)
}

/// The subject's Stripe objects, with card details the package must not carry.
pub(crate) fn stock(fake: &FakeStripe, cus: &str, email: &str, name: &str, invoice_status: &str) {
    let t = now() - 3600;
    let n = cus.trim_start_matches("cus_");
    fake.with(|s| {
        let push = |s: &mut crate::fake_stripe::State, r: &str, v: Value| {
            s.objects.entry(r.into()).or_default().push(v)
        };
        push(
            s,
            "customers",
            json!({"id": cus, "object": "customer", "created": t, "email": email,
            "name": name, "livemode": false, "address": {"line1": "1 Quiet Lane", "city": "Bonn"}}),
        );
        push(
            s,
            "charges",
            json!({"id": format!("ch_{n}"), "object": "charge", "created": t + 1,
            "amount": 2500, "amount_captured": 2500, "amount_refunded": 0, "currency": "eur",
            "status": "succeeded", "paid": true, "captured": true, "refunded": false,
            "disputed": false, "customer": cus, "livemode": false,
            "billing_details": {"email": email, "name": name},
            "payment_method_details": {"card": {"last4": "4242", "fingerprint": "fpSECRETfp"}},
            "receipt_url": "https://pay.stripe.com/receipts/secret"}),
        );
        push(
            s,
            "payment_intents",
            json!({"id": format!("pi_{n}"), "object": "payment_intent",
            "created": t + 1, "amount": 2500, "amount_received": 2500, "currency": "eur",
            "status": "succeeded", "customer": cus, "livemode": false,
            "client_secret": "pi_secret_do_not_export"}),
        );
        push(
            s,
            "invoices",
            json!({"id": format!("in_{n}"), "object": "invoice", "created": t + 2,
            "status": invoice_status, "currency": "eur", "total": 2500, "amount_due": 2500,
            "amount_paid": if invoice_status == "paid" { 2500 } else { 0 },
            "customer": cus, "customer_email": email, "livemode": false}),
        );
        push(
            s,
            "subscriptions",
            json!({"id": format!("sub_{n}"), "object": "subscription",
            "created": t + 3, "status": "canceled", "currency": "eur", "customer": cus,
            "livemode": false}),
        );
        push(
            s,
            "payment_methods",
            json!({"id": format!("pm_{n}"), "object": "payment_method",
            "type": "card", "customer": cus, "created": t,
            "card": {"brand": "visa", "last4": "4242", "fingerprint": "fpSECRETfp", "exp_month": 4},
            "billing_details": {"name": name}}),
        );
    });
}

/// A data dir with a Stripe processor (key set), the organisation profile, and the subject's
/// objects imported through the backfill.
pub(crate) fn setup(fake: &FakeStripe) -> (tempfile::TempDir, i64) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (pid, _) = add_stripe(&dir);
    ok_run(
        &dir,
        Some(&fake.base),
        &["stripe", "set-key", &pid.to_string()],
        Some(&format!("{KEY}\n")),
    );
    ok_run(
        &dir,
        None,
        &[
            "org",
            "set",
            "--name",
            "Acme Widgets GmbH",
            "--email",
            "privacy@acme.example",
        ],
        None,
    );
    ok_json(
        &dir,
        Some(&fake.base),
        &[
            "stripe",
            "backfill",
            &pid.to_string(),
            "--resources",
            "customers,charges,payment_intents,invoices,subscriptions",
        ],
    );
    let s = ok_json(&dir, None, &["subjects", "list"]);
    assert_eq!(s.as_array().unwrap().len(), 1, "{s}");
    (tmp, pid)
}

pub(crate) fn data(tmp: &tempfile::TempDir) -> std::path::PathBuf {
    tmp.path().join("data")
}

/// Every file under `dir` that contains one of `needles` (bytes, case-insensitive ASCII).
pub(crate) fn files_containing(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = scannable_bytes(&p).to_ascii_lowercase();
            for n in needles {
                let n = n.to_ascii_lowercase();
                if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                    hits.push(format!("{} holds {n:?}", p.display()));
                }
            }
        }
    }
    hits
}

/// Runs the erasure with a crash injected at `point`: the process dies there (exit 86).
fn erase_crashing_at(dir: &Path, base: &str, id: &str, point: &str) {
    let out = run(
        dir,
        Some(base),
        &["dsr", "erase", id, "--yes"],
        None,
        &[("PRIVACY_DESK_FAULT", &format!("erasure:{point}"))],
    );
    assert_eq!(
        out.status.code(),
        Some(86),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes the erasure receipt next to the data dir and returns its HTML.
fn receipt_html(tmp: &tempfile::TempDir, id: &str) -> String {
    let receipt = tmp.path().join("receipt.html");
    ok_run(
        &data(tmp),
        None,
        &["dsr", "receipt", id, "--out", receipt.to_str().unwrap()],
        None,
    );
    assert_private(&receipt);
    std::fs::read_to_string(&receipt).unwrap()
}

/// Files holding personal data are readable by their owner only, whatever the umask.
pub fn assert_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
}

/// Asserts the audit chain verifies and holds each of `actions` for the request.
fn assert_audited(dir: &Path, id: &str, actions: &[&str]) {
    ok_run(dir, None, &["audit", "verify"], None);
    let listed: Vec<String> = ok_json(dir, None, &["audit", "list", "--request", id])
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for a in actions {
        assert!(listed.iter().any(|x| x == a), "{a} in {listed:?}");
    }
}

#[test]
fn deadlines_statuses_and_extension() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let r = new_dsr(
        dir,
        "access",
        "Nobody@Example.com",
        &["--received", "2024-01-31"],
    );
    assert_eq!(r["kind"], "access");
    assert_eq!(r["email"], "nobody@example.com");
    assert_eq!(r["regime"], "gdpr");
    assert_eq!(r["received_at"], "2024-01-31T00:00:00Z");
    assert_eq!(r["due_at"], "2024-02-29T00:00:00Z");
    assert_eq!(r["status"], "received");
    // A received date chrono reads but RFC 3339 cannot carry is refused, and nothing is kept.
    for odd in ["-200000-01-01", "0000-12-31"] {
        let out = run(
            dir,
            None,
            &[
                "dsr",
                "new",
                "access",
                "--email",
                "a@example.com",
                &format!("--received={odd}"),
            ],
            None,
            &[],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{odd}: {err}");
        assert!(err.contains("0001–9999"), "{err}");
    }
    assert_eq!(
        ok_json(dir, None, &["dsr", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let id = r["id"].as_i64().unwrap().to_string();
    // The first period has long passed: no extension.
    let out = run(
        dir,
        None,
        &["dsr", "extend", &id, "--reason", "complex"],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("first period"));

    let c = new_dsr(
        dir,
        "erasure",
        "x@example.com",
        &["--regime", "ccpa", "--received", "2025-01-01"],
    );
    assert_eq!(c["due_at"], "2025-02-15T00:00:00Z");

    // Received today: the extension is granted once, with a reason.
    let t = new_dsr(dir, "access", "y@example.com", &["--regime", "uk-gdpr"]);
    let tid = t["id"].as_i64().unwrap().to_string();
    let out = run(
        dir,
        None,
        &["dsr", "extend", &tid, "--reason", " "],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let e = ok_json(
        dir,
        None,
        &["dsr", "extend", &tid, "--reason", "many systems to search"],
    );
    assert_eq!(e["extended"], true);
    assert!(e["days_left"].as_i64().unwrap() >= 88, "{e}");
    assert_eq!(
        run(
            dir,
            None,
            &["dsr", "extend", &tid, "--reason", "again"],
            None,
            &[]
        )
        .status
        .code(),
        Some(1)
    );
    let v = ok_json(
        dir,
        None,
        &[
            "dsr",
            "verify-identity",
            &tid,
            "--method",
            "reply from account email",
        ],
    );
    assert_eq!(v["status"], "identity_verified");
    assert_eq!(v["identity_method"], "reply from account email");

    let list = ok_json(dir, None, &["dsr", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 3);
    let shown = ok_json(dir, None, &["dsr", "show", &tid]);
    let actions: Vec<&str> = shown["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "request.created",
            "request.extended",
            "request.identity_verified"
        ]
    );
    ok_run(dir, None, &["audit", "verify"], None);
}

fn zip_files(path: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().rsplit('/').next().unwrap().to_owned();
        let mut b = Vec::new();
        f.read_to_end(&mut b).unwrap();
        out.insert(name, b);
    }
    out
}

#[test]
fn access_package_file_by_file_live_and_offline() {
    let fake = FakeStripe::start();
    stock(&fake, CUS, EMAIL, NAME, "paid");
    let (tmp, _pid) = setup(&fake);
    let dir = data(&tmp);
    let r = new_dsr(&dir, "access", EMAIL, &[]);
    let id = r["id"].as_i64().unwrap().to_string();
    ok_json(
        &dir,
        None,
        &["dsr", "verify-identity", &id, "--method", "email reply"],
    );
    let out_dir = tmp.path().join("out");
    let p = ok_json(
        &dir,
        Some(&fake.base),
        &["dsr", "access", &id, "--out", out_dir.to_str().unwrap()],
    );
    let path = p["path"].as_str().unwrap();
    assert_private(Path::new(path));
    let zip_bytes = std::fs::read(path).unwrap();
    assert_eq!(p["sha256"], hex::encode(Sha256::digest(&zip_bytes)));
    assert_eq!(p["stripe"], "live");

    let files = zip_files(path);
    let j = |n: &str| -> Value { serde_json::from_slice(&files[n]).unwrap() };
    for cat in [
        "profile",
        "email_history",
        "activity",
        "requests",
        "stripe_customer",
        "stripe_charges",
        "stripe_payment_intents",
        "stripe_invoices",
        "stripe_subscriptions",
        "stripe_payment_methods",
    ] {
        assert!(
            files.contains_key(&format!("{cat}.json")),
            "{cat}.json missing"
        );
        let csv = String::from_utf8(files[&format!("{cat}.csv")].clone()).unwrap();
        assert_eq!(
            csv.lines().count(),
            j(&format!("{cat}.json")).as_array().unwrap().len() + 1,
            "{cat}.csv rows"
        );
    }
    assert_eq!(j("profile.json")[0]["email"], EMAIL);
    assert_eq!(j("profile.json")[0]["name"], NAME);
    assert_eq!(j("email_history.json")[0]["email"], EMAIL);
    let activity = j("activity.json");
    assert_eq!(activity.as_array().unwrap().len(), 5, "{activity:#}");
    assert!(activity
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["details"]["amount"] == 2500));
    assert_eq!(j("requests.json")[0]["kind"], "access");
    assert_eq!(j("stripe_customer.json")[0]["id"], CUS);
    let charges = j("stripe_charges.json");
    assert_eq!(charges[0]["amount"], 2500);
    assert!(
        charges[0].get("payment_method_details").is_none()
            && charges[0].get("receipt_url").is_none()
    );
    assert!(j("stripe_payment_intents.json")[0]
        .get("client_secret")
        .is_none());
    assert_eq!(j("stripe_invoices.json")[0]["status"], "paid");
    assert_eq!(j("stripe_subscriptions.json")[0]["status"], "canceled");
    assert_eq!(
        j("stripe_payment_methods.json"),
        json!([{"id": "pm_zelda0001", "type": "card", "brand": "visa", "last4": "4242"}])
    );
    for (name, b) in &files {
        let text = String::from_utf8_lossy(b);
        assert!(
            !text.contains("fpSECRETfp") && !text.contains("pi_secret"),
            "{name} leaks card or secret data"
        );
    }
    let html = String::from_utf8(files["summary.html"].clone()).unwrap();
    assert!(
        html.contains("Acme Widgets GmbH") && html.contains(EMAIL) && html.contains("Article 15")
    );
    let manifest = j("manifest.json");
    assert_eq!(manifest["offline"], false);
    let listed = manifest["files"].as_array().unwrap();
    assert_eq!(listed.len(), files.len() - 1);
    for f in listed {
        let name = f["name"].as_str().unwrap();
        assert_eq!(
            f["sha256"],
            hex::encode(Sha256::digest(&files[name])),
            "{name}"
        );
    }
    // Subscriptions were asked for with status=all, every list by customer.
    let reqs = fake.requests();
    assert!(reqs.iter().any(|r| r.path == "/v1/subscriptions"
        && r.param("status") == Some("all")
        && r.param("customer") == Some(CUS)));

    // Offline: local data only, and the package says so.
    let p = ok_json(
        &dir,
        Some("http://127.0.0.1:9"),
        &["dsr", "access", &id, "--out", out_dir.to_str().unwrap()],
    );
    assert_eq!(p["stripe"], "offline");
    let files = zip_files(p["path"].as_str().unwrap());
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["offline"], true);
    assert!(!files.contains_key("stripe_charges.json"));
    assert!(files.contains_key("activity.json"));
    assert!(String::from_utf8_lossy(&files["summary.html"]).contains("could not be reached"));

    let audit = ok_json(&dir, None, &["audit", "list"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "access.package_created")
            .count()
            == 2
    );
    assert!(
        !audit.to_string().contains(EMAIL),
        "the audit trail names subjects by keyed hash only"
    );
}

#[test]
fn erasure_plan_crash_resume_and_nothing_left() {
    let fake = FakeStripe::start();
    stock(&fake, CUS, EMAIL, NAME, "paid");
    let (tmp, pid) = setup(&fake);
    let dir = data(&tmp);
    let r = new_dsr(&dir, "erasure", EMAIL, &[]);
    let id = r["id"].as_i64().unwrap().to_string();
    ok_json(
        &dir,
        None,
        &["dsr", "verify-identity", &id, "--method", "signed letter"],
    );

    let plan = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--plan"]);
    let items = plan["items"].as_array().unwrap();
    let find = |t: &str| {
        items
            .iter()
            .find(|i| i["target"] == t)
            .unwrap_or_else(|| panic!("{t} in {plan:#}"))
    };
    assert_eq!(find("local:profile")["action"], "erase");
    assert_eq!(find(&format!("stripe:customer:{CUS}"))["action"], "erase");
    let fin = find("local:financial_records");
    assert_eq!(fin["action"], "retain");
    assert!(fin["legal_basis"].as_str().unwrap().contains("17(3)(b)"));
    assert!(fin["retain_until"]
        .as_str()
        .unwrap()
        .ends_with("-01-01T00:00:00Z"));
    assert!(items.iter().all(|i| i["action"] != "blocked"), "{plan:#}");
    assert!(!plan.to_string().contains(EMAIL));

    // A crash right after Stripe answered, before the step was recorded...
    erase_crashing_at(&dir, &fake.base, &id, "after-stripe-call");
    // ...then resume: the DELETE is repeated with the same idempotency key.
    let done = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--yes"]);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["stripe_customers_deleted"], json!([CUS]));
    assert_eq!(done["records_retained"], 4, "{done}");
    let deletes: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 2);
    assert!(deletes
        .iter()
        .all(|d| d.path == format!("/v1/customers/{CUS}") && d.status == 200));
    assert_eq!(deletes[0].idempotency_key, deletes[1].idempotency_key);
    assert!(fake.with(|s| s.objects["customers"].iter().all(|c| c["id"] != CUS)));
    // Running it again changes nothing.
    assert_eq!(
        ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--yes"])["status"],
        "completed"
    );

    // Nothing in the data directory holds the email or name (database, WAL, everything).
    let hits = files_containing(&dir, &[EMAIL, NAME, "Quiet Lane"]);
    assert!(hits.is_empty(), "{hits:#?}");
    // Retained rows keep their amounts.
    let conn = rusqlite::Connection::open(dir.join("privacy-desk.db")).unwrap();
    let fields: Vec<String> = conn
        .prepare("SELECT fields FROM retained_records")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(fields.len(), 4);
    assert!(
        fields
            .iter()
            .filter(|f| f.contains("\"amount\":2500") || f.contains("\"total\":2500"))
            .count()
            >= 3,
        "{fields:?}"
    );
    drop(conn);
    let req = ok_json(&dir, None, &["dsr", "show", &id]);
    assert_eq!(req["status"], "completed");
    assert!(req["email"].as_str().unwrap().starts_with("sh_"));
    assert_eq!(ok_json(&dir, None, &["subjects", "list"]), json!([]));

    // A later event about the erased customer brings no personal data back.
    fake.with(|s| {
        s.events
            .push(json!({"id": "evt_after_erasure", "object": "event",
        "api_version": VERSION, "type": "charge.succeeded", "created": now(), "livemode": false,
        "data": {"object": {"id": "ch_later", "object": "charge", "created": now(), "amount": 900,
            "currency": "eur", "status": "succeeded", "customer": CUS,
            "billing_details": {"email": EMAIL, "name": NAME}}}}))
    });
    let c = ok_json(
        &dir,
        Some(&fake.base),
        &["stripe", "catch-up", &pid.to_string()],
    );
    assert_eq!(c["new"], 1, "{c}");
    let acts = ok_json(&dir, None, &["activity", "list"]);
    let later = acts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["event_id"] == "evt_after_erasure")
        .unwrap();
    assert_eq!(later["status"], "suppressed");
    assert_eq!(later["subject_email"], Value::Null);
    assert_eq!(ok_json(&dir, None, &["subjects", "list"]), json!([]));
    let hits = files_containing(&dir, &[EMAIL, NAME]);
    assert!(hits.is_empty(), "{hits:#?}");

    // The receipt, and an intact audit trail.
    let html = receipt_html(&tmp, &id);
    assert!(html.contains(CUS) && html.contains("17(3)(b)") && html.contains("Acme Widgets GmbH"));
    assert_audited(
        &dir,
        &id,
        &[
            "erasure.started",
            "erasure.suppressed",
            "erasure.stripe_customer_deleted",
            "erasure.local_erased",
            "erasure.completed",
        ],
    );
}

#[test]
fn an_open_invoice_blocks_the_erasure() {
    let fake = FakeStripe::start();
    stock(&fake, CUS, EMAIL, NAME, "open");
    let (tmp, _) = setup(&fake);
    let dir = data(&tmp);
    let r = new_dsr(&dir, "erasure", EMAIL, &[]);
    let id = r["id"].as_i64().unwrap().to_string();
    let plan = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--plan"]);
    let blocked: Vec<&Value> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "blocked")
        .collect();
    assert_eq!(blocked.len(), 1, "{plan:#}");
    assert_eq!(blocked[0]["target"], "stripe:invoice:in_zelda0001");
    assert!(blocked[0]["reason"].as_str().unwrap().contains("void"));
    let out = run(
        &dir,
        Some(&fake.base),
        &["dsr", "erase", &id, "--yes"],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("blocked"));
    assert!(fake.requests().iter().all(|r| r.method != "DELETE"));
    // Nothing was erased.
    assert_eq!(
        ok_json(&dir, None, &["subjects", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Stripe's lists answer with every customer's objects (the `customer=` filter ignored): the
/// access package holds only the subject's, and another customer's active subscription does
/// not block the subject's erasure. What was left out is counted.
#[test]
fn objects_of_another_customer_stay_out_of_the_package_and_the_plan() {
    let fake = FakeStripe::start();
    stock(&fake, CUS, EMAIL, NAME, "paid");
    let (tmp, _) = setup(&fake);
    let dir = data(&tmp);
    // Another customer, stocked after the backfill: Privacy Desk does not know them.
    stock(
        &fake,
        "cus_other0002",
        "other@example.net",
        "Otto Other",
        "open",
    );
    fake.with(|s| {
        for sub in s.objects.get_mut("subscriptions").unwrap() {
            if sub["customer"] == "cus_other0002" {
                sub["status"] = json!("active");
            }
        }
        s.ignore_customer_filter = true;
    });

    let r = new_dsr(&dir, "access", EMAIL, &[]);
    let id = r["id"].as_i64().unwrap().to_string();
    let out_dir = tmp.path().join("out");
    let p = ok_json(
        &dir,
        Some(&fake.base),
        &["dsr", "access", &id, "--out", out_dir.to_str().unwrap()],
    );
    assert_eq!(p["stripe"], "live");
    // One charge, payment intent, invoice, subscription and payment method of the other.
    assert_eq!(p["foreign_objects_dropped"], 5, "{p}");
    let files = zip_files(p["path"].as_str().unwrap());
    for (name, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains("other0002") && !text.contains("other@example.net"),
            "{name} holds the other customer's data"
        );
    }
    let j = |n: &str| -> Value { serde_json::from_slice(&files[n]).unwrap() };
    assert_eq!(j("stripe_invoices.json")[0]["id"], "in_zelda0001");
    assert_eq!(j("stripe_subscriptions.json").as_array().unwrap().len(), 1);

    let e = new_dsr(&dir, "erasure", EMAIL, &[]);
    let eid = e["id"].as_i64().unwrap().to_string();
    let plan = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &eid, "--plan"]);
    assert_eq!(plan["blocked"], false, "{plan:#}");
    assert_eq!(plan["foreign_objects_dropped"], 2, "{plan:#}");
    assert!(!plan.to_string().contains("other0002"), "{plan:#}");
    let done = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &eid, "--yes"]);
    assert_eq!(done["status"], "completed");
    let deletes: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path)
        .collect();
    assert_eq!(deletes, [format!("/v1/customers/{CUS}")]);
}

/// A run that crashed after suppression is resumed after things changed: the customer started
/// a subscription, and a second Stripe customer was created under the same email. The resumed
/// run computes its plan again, says what changed and stops on the new blocker before any
/// DELETE (which would have cancelled the subscription); once it is cancelled, the run erases
/// both customers and suppresses the new one's id too.
#[test]
fn a_resumed_erasure_recomputes_its_plan_and_stops_on_a_new_blocker() {
    let fake = FakeStripe::start();
    stock(&fake, CUS, EMAIL, NAME, "paid");
    let (tmp, pid) = setup(&fake);
    let dir = data(&tmp);
    let r = new_dsr(&dir, "erasure", EMAIL, &[]);
    let id = r["id"].as_i64().unwrap().to_string();
    erase_crashing_at(&dir, &fake.base, &id, "after-suppress");
    const NEW: &str = "cus_zelda0002";
    fake.with(|s| {
        let subs = s.objects.get_mut("subscriptions").unwrap();
        subs.insert(
            0,
            json!({"id": "sub_new1", "object": "subscription", "created": now(),
            "status": "active", "currency": "eur", "customer": CUS, "livemode": false}),
        );
        let customers = s.objects.get_mut("customers").unwrap();
        customers.insert(
            0,
            json!({"id": NEW, "object": "customer", "created": now(), "email": EMAIL,
            "name": NAME, "livemode": false}),
        );
    });

    let out = run(
        &dir,
        Some(&fake.base),
        &["dsr", "erase", &id, "--yes"],
        None,
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("sub_new1") && err.contains("Changed since"),
        "{err}"
    );
    assert!(!err.contains(EMAIL), "{err}");
    assert!(fake.requests().iter().all(|r| r.method != "DELETE"));
    let plan = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--plan"]);
    assert_eq!(plan["blocked"], true, "{plan:#}");
    let changed: Vec<&str> = plan["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        changed.contains(&"stripe:subscription:sub_new1: — → blocked")
            && changed.contains(&"stripe:customer:cus_zelda0002: — → erase"),
        "{changed:?}"
    );

    fake.with(|s| {
        for sub in s.objects.get_mut("subscriptions").unwrap() {
            if sub["id"] == "sub_new1" {
                sub["status"] = json!("canceled");
            }
        }
    });
    let done = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--yes"]);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["stripe_customers_deleted"],
        json!([CUS, NEW]),
        "{done}"
    );
    let deletes: Vec<(String, u16)> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| (r.path, r.status))
        .collect();
    assert_eq!(
        deletes,
        [
            (format!("/v1/customers/{CUS}"), 200),
            (format!("/v1/customers/{NEW}"), 200)
        ]
    );
    // A later payment of the new customer (no email in it) is suppressed by its id.
    fake.with(|s| {
        s.events
            .push(crate::fake_stripe::payment_event(77, now(), NEW))
    });
    ok_json(
        &dir,
        Some(&fake.base),
        &["stripe", "catch-up", &pid.to_string()],
    );
    let acts = ok_json(&dir, None, &["activity", "list"]);
    let later: Vec<&Value> = acts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["event_id"] == "evt_pay0000077")
        .collect();
    assert!(!later.is_empty(), "{acts:#}");
    assert!(
        later.iter().all(|a| a["status"] == "suppressed"),
        "{acts:#}"
    );
    assert_audited(
        &dir,
        &id,
        &[
            "erasure.plan_changed",
            "erasure.blocked",
            "erasure.completed",
        ],
    );
    let hits = files_containing(&dir, &[EMAIL, NAME]);
    assert!(hits.is_empty(), "{hits:#?}");
}

/// Another program holds a read transaction open, so the WAL cannot be checkpointed after the
/// local data is deleted: the request is not "completed" (the WAL may still hold the email); it
/// says it waits, and completes on the next run once the reader is gone.
#[test]
fn an_erasure_completes_only_after_the_wal_is_checkpointed() {
    let fake = FakeStripe::start();
    stock(&fake, CUS, EMAIL, NAME, "paid");
    let (tmp, _) = setup(&fake);
    let dir = data(&tmp);
    let r = new_dsr(&dir, "erasure", EMAIL, &[]);
    let id = r["id"].as_i64().unwrap().to_string();

    let reader = rusqlite::Connection::open(dir.join("privacy-desk.db")).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let n: i64 = reader
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
    let out = run(
        &dir,
        Some(&fake.base),
        &["dsr", "erase", &id, "--yes"],
        None,
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("not completed yet") && err.contains("waits"),
        "{err}"
    );
    assert_eq!(
        ok_json(&dir, None, &["dsr", "show", &id])["status"],
        "in_progress"
    );
    assert_eq!(ok_json(&dir, None, &["subjects", "list"]), json!([]));

    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    let done = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--yes"]);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        ok_json(&dir, None, &["dsr", "show", &id])["status"],
        "completed"
    );
    // One DELETE: the second run only finished the checkpoint.
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        1
    );
    let hits = files_containing(&dir, &[EMAIL, NAME]);
    assert!(hits.is_empty(), "{hits:#?}");
    assert_audited(
        &dir,
        &id,
        &["erasure.checkpoint_waiting", "erasure.completed"],
    );
}

/// A trail of a few entries in a fresh data dir.
fn trail() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..3 {
        new_dsr(tmp.path(), "access", &format!("p{i}@example.com"), &[]);
    }
    ok_run(tmp.path(), None, &["audit", "verify"], None);
    tmp
}

fn tamper(dir: &Path, sql: &str) -> (i32, String) {
    let conn = rusqlite::Connection::open(dir.join("privacy-desk.db")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
    drop(conn);
    let out = run(dir, None, &["audit", "verify"], None, &[]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn audit_verify_finds_edited_deleted_and_inserted_rows() {
    let t = trail();
    let (code, err) = tamper(
        t.path(),
        "UPDATE audit_log SET action = 'request.rejected' WHERE id = 2",
    );
    assert_eq!(code, 1);
    assert!(err.contains("entry 2"), "{err}");

    let t = trail();
    let (code, err) = tamper(t.path(), "DELETE FROM audit_log WHERE id = 2");
    assert_eq!(code, 1);
    assert!(err.contains("entry 2"), "{err}");

    let t = trail();
    let (code, err) = tamper(t.path(), "DELETE FROM audit_log WHERE id = 3");
    assert_eq!(code, 1);
    assert!(err.contains("entry 3"), "{err}");

    let t = trail();
    let (code, err) = tamper(
        t.path(),
        "INSERT INTO audit_log (id, at, actor, action, details, prev_hash, hash)
         SELECT 4, at, actor, action, details, hash, hash FROM audit_log WHERE id = 3",
    );
    assert_eq!(code, 1);
    assert!(err.contains("entry 4"), "{err}");

    let v = {
        let t = trail();
        ok_json(t.path(), None, &["audit", "list"])
    };
    assert_eq!(v.as_array().unwrap().len(), 3);
}

#[test]
fn erasure_by_stripe_redaction_job_with_validation_errors_crash_and_resume() {
    let fake = FakeStripe::start();
    stock(&fake, CUS, EMAIL, NAME, "paid");
    let (tmp, pid) = setup(&fake);
    let dir = data(&tmp);
    let p = pid.to_string();

    // Only an account that has redaction jobs can choose them.
    fake.with(|s| s.redaction_disabled = true);
    let out = run(
        &dir,
        Some(&fake.base),
        &["stripe", "erasure-method", &p, "redaction-job"],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("redaction jobs"));
    assert_eq!(
        ok_json(&dir, None, &["stripe", "erasure-method", &p])["erasure_method"],
        "delete"
    );
    fake.with(|s| s.redaction_disabled = false);
    let m = ok_json(
        &dir,
        Some(&fake.base),
        &["stripe", "erasure-method", &p, "redaction-job"],
    );
    assert_eq!(m["erasure_method"], "redaction_job");
    let trail = ok_json(&dir, None, &["audit", "list"]);
    assert_eq!(
        trail
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "processor.erasure_method_set")
            .count(),
        1,
        "only the accepted change is in the trail: {trail:#}"
    );
    assert_eq!(
        ok_json(&dir, Some(&fake.base), &["stripe", "check", &p])["redaction_jobs_available"],
        true
    );

    let r = new_dsr(&dir, "erasure", EMAIL, &[]);
    let id = r["id"].as_i64().unwrap().to_string();
    // Free text that names the person must not outlive the erasure.
    ok_json(
        &dir,
        None,
        &[
            "dsr",
            "note",
            &id,
            "--text",
            &format!("Called ZELDA QUINTANILLA back; Zelda confirmed {EMAIL} by phone"),
        ],
    );
    ok_json(
        &dir,
        None,
        &[
            "dsr",
            "verify-identity",
            &id,
            "--method",
            "reply from Zelda's address",
        ],
    );

    let plan = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--plan"]);
    let items = plan["items"].as_array().unwrap();
    let job_item = items
        .iter()
        .find(|i| i["target"] == format!("stripe:redaction_job:{pid}"))
        .unwrap_or_else(|| panic!("a redaction job item in {plan:#}"));
    assert_eq!(job_item["action"], "erase");
    let reason = job_item["reason"].as_str().unwrap();
    assert!(
        reason.contains("1 customers") && reason.contains("1 invoices"),
        "{reason}"
    );
    assert!(
        items
            .iter()
            .all(|i| i["target"] != format!("stripe:customer:{CUS}")),
        "no DELETE planned: {plan:#}"
    );

    // Stripe will refuse the invoice until it is dealt with.
    fake.with(|s| {
        s.redaction_invalid
            .insert("in_zelda0001".into(), "invalid_state".into())
    });
    // A crash right after Stripe created the job...
    erase_crashing_at(&dir, &fake.base, &id, "after-redaction-job-created");
    // ...the next run goes on with the same job and reports its validation errors.
    let out = run(
        &dir,
        Some(&fake.base),
        &["dsr", "erase", &id, "--yes"],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in_zelda0001 (invalid_state)") && err.contains("Stripe Dashboard"),
        "{err}"
    );
    assert!(!err.contains(EMAIL) && !err.contains(NAME), "{err}");
    // Stripe's free-text message is not passed on.
    assert!(!err.contains("cannot be redacted"), "{err}");
    assert_eq!(fake.with(|s| s.redaction_jobs.len()), 1);
    let job = fake.with(|s| s.redaction_jobs[0].clone());
    assert_eq!(job["objects"]["customers"], json!([CUS]));
    assert_eq!(job["objects"]["charges"], json!(["ch_zelda0001"]));
    assert_eq!(job["objects"]["payment_intents"], json!(["pi_zelda0001"]));
    assert_eq!(job["objects"]["invoices"], json!(["in_zelda0001"]));
    // Nothing local was erased while Stripe's side is pending.
    assert_eq!(
        ok_json(&dir, None, &["subjects", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Fixed in Stripe: the next run validates the job again, runs it, then erases locally.
    fake.with(|s| s.redaction_invalid.clear());
    let done = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &id, "--yes"]);
    assert_eq!(done["status"], "completed", "{done}");
    let job_id = job["id"].as_str().unwrap();
    assert_eq!(done["stripe_redaction_jobs"][0]["job_id"], job_id);
    assert_eq!(done["stripe_redaction_jobs"][0]["status"], "succeeded");
    assert_eq!(done["stripe_customers_deleted"], json!([]));
    let reqs = fake.requests();
    let posts = |suffix: &str| {
        reqs.iter()
            .filter(|r| r.method == "POST" && r.path.ends_with(suffix) && r.status == 200)
            .count()
    };
    // The job id was committed before the crash: the resumed runs did not create another.
    assert_eq!(posts("/v1/privacy/redaction_jobs"), 1);
    assert_eq!(fake.with(|s| s.redaction_jobs.len()), 1);
    assert_eq!(posts("/validate"), 1);
    assert_eq!(posts("/run"), 1);
    assert!(reqs.iter().all(|r| r.method != "DELETE"));
    assert!(fake.with(|s| s.redacted.iter().any(|x| x == CUS)));

    // Nothing in the data directory holds the email or name, the notes included.
    // (The Stripe ids `…zelda0001` stay in the retained records: they are ids, not names.)
    let hits = files_containing(
        &dir,
        &[
            EMAIL,
            NAME,
            "called zelda",
            "zelda confirmed",
            "zelda's address",
        ],
    );
    assert!(hits.is_empty(), "{hits:#?}");
    let req = ok_json(&dir, None, &["dsr", "show", &id]);
    assert!(
        req["notes"]
            .as_str()
            .unwrap()
            .contains("Called [erased] back; [erased] confirmed [erased]"),
        "{req}"
    );

    assert!(receipt_html(&tmp, &id).contains(job_id));
    assert_audited(
        &dir,
        &id,
        &[
            "erasure.redaction_job_created",
            "erasure.redaction_job_invalid",
            "erasure.redaction_job_run",
            "erasure.completed",
        ],
    );
}

#[test]
fn reminders_are_shown_once_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let overdue = new_dsr(
        dir,
        "access",
        "late@example.com",
        &["--received", "2024-01-31"],
    );
    // CCPA: 45 days, so received 38 days ago is due in 7 days.
    let received = (chrono::Utc::now().date_naive() - chrono::Days::new(38)).to_string();
    let soon = new_dsr(
        dir,
        "erasure",
        "soon@example.com",
        &["--regime", "ccpa", "--received", &received],
    );
    let ids = |v: &Value| -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["request_id"].as_i64().unwrap(),
                    r["days_left"].as_i64().unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let all = ids(&ok_json(dir, None, &["dsr", "reminders"]));
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[1], (soon["id"].as_i64().unwrap(), 7));
    assert!(all[0].0 == overdue["id"].as_i64().unwrap() && all[0].1 < 0);

    // Each process is a restart: what was shown stays shown.
    assert_eq!(
        ids(&ok_json(dir, None, &["dsr", "reminders", "--new"])),
        all
    );
    assert_eq!(
        ok_json(dir, None, &["dsr", "reminders", "--new"]),
        json!([])
    );
    assert_eq!(ids(&ok_json(dir, None, &["dsr", "reminders"])), all);

    // A closed request has no reminders.
    ok_json(
        dir,
        None,
        &[
            "dsr",
            "complete",
            &overdue["id"].to_string(),
            "--reason",
            "answered by post",
        ],
    );
    assert_eq!(ids(&ok_json(dir, None, &["dsr", "reminders"])), all[1..]);
}
