//! The Stripe API workflows and the ngrok tunnel, through the real CLI, against the fake Stripe
//! API on loopback (`fake_stripe`) and the real OS keychain.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use privacy_desk_core::context::Context;
use privacy_desk_core::secrets::SecretKind;
use serde_json::{json, Value};

use crate::fake_stripe::{self, FakeStripe, KEY};
use crate::support::{add_stripe, bin, cli_with, json_of, now};

/// Runs the CLI against `fake` (`PRIVACY_DESK_STRIPE_API_BASE`), with fast retries.
fn run(
    dir: &Path,
    fake: Option<&FakeStripe>,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    cli_with(dir, fake.map(|f| f.base.as_str()), args, stdin, env)
}

fn stripe_json(dir: &Path, fake: &FakeStripe, args: &[&str]) -> Value {
    let mut a = vec!["stripe"];
    a.extend_from_slice(args);
    a.push("--json");
    json_of(&run(dir, Some(fake), &a, None, &[]), &a.join(" "))
}

/// A data dir with a Stripe processor whose key is set.
fn setup(fake: &FakeStripe) -> (tempfile::TempDir, i64) {
    let tmp = tempfile::tempdir().unwrap();
    let (pid, _) = add_stripe(tmp.path());
    let out = run(
        tmp.path(),
        Some(fake),
        &["stripe", "set-key", &pid.to_string(), "--json"],
        Some(&format!("{KEY}\n")),
        &[],
    );
    let v = json_of(&out, "set-key");
    assert_eq!(v["key_kind"], "restricted");
    (tmp, pid)
}

fn activity(dir: &Path) -> Vec<Value> {
    let out = run(
        dir,
        None,
        &["activity", "list", "--limit", "100000", "--json"],
        None,
        &[],
    );
    json_of(&out, "activity list").as_array().unwrap().clone()
}

#[test]
fn stripe_set_key_validates_and_stores_in_the_keychain() {
    let fake = FakeStripe::start();
    let tmp = tempfile::tempdir().unwrap();
    let (pid, _) = add_stripe(tmp.path());
    let p = pid.to_string();

    // A wrong key: 401, nothing stored, the key never printed.
    let bad = "rk_test_wrongwrongwrong0000";
    let out = run(
        tmp.path(),
        Some(&fake),
        &["stripe", "set-key", &p],
        Some(bad),
        &[],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rejected the API key"), "{err}");
    assert!(!err.contains(bad), "{err}");
    let kc = Context::open(tmp.path()).unwrap().keychain;
    assert!(kc.get(pid, SecretKind::ApiKey).unwrap().is_none());

    // Not a key at all.
    let out = run(
        tmp.path(),
        Some(&fake),
        &["stripe", "set-key", &p],
        Some("pk_test_abc0123456789"),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));

    // A restricted key lacking customer read is still a genuine key: stored.
    fake.with(|s| s.denied.insert("rak_customer_read".into()));
    let v = json_of(
        &run(
            tmp.path(),
            Some(&fake),
            &["stripe", "set-key", &p, "--json"],
            Some(KEY),
            &[],
        ),
        "set-key",
    );
    assert_eq!(
        v,
        json!({"processor_id": pid, "key_kind": "restricted", "livemode": false, "stored": true, "warning": null})
    );
    assert_eq!(
        kc.get(pid, SecretKind::ApiKey).unwrap().unwrap().expose(),
        KEY
    );

    // A full secret key works, with a warning on stderr.
    let sk = "sk_test_fullsecretkey0123456";
    fake.with(|s| s.keys.insert(sk.into()));
    let out = run(
        tmp.path(),
        Some(&fake),
        &["stripe", "set-key", &p],
        Some(sk),
        &[],
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: this is a full secret key"), "{err}");
    assert!(!err.contains(sk) && !String::from_utf8_lossy(&out.stdout).contains(sk));

    // Every call carried the pinned version (the fake refuses others) and a bearer key.
    assert!(fake.requests().iter().all(|r| r.status != 400));
}

#[test]
fn stripe_check_reports_permissions_and_workflows() {
    let fake = FakeStripe::start();
    let (tmp, pid) = setup(&fake);
    let p = pid.to_string();
    let v = stripe_json(tmp.path(), &fake, &["check", &p]);
    assert_eq!(v["key_kind"], "restricted");
    assert_eq!(v["livemode"], false);
    let perms = v["permissions"].as_array().unwrap();
    assert_eq!(perms.len(), 8);
    assert!(perms.iter().all(|x| x["granted"] == true), "{v}");
    assert!(v["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["enabled"] == true));

    fake.with(|s| {
        s.denied.insert("rak_webhook_write".into());
        s.denied.insert("rak_invoice_read".into());
    });
    let v = stripe_json(tmp.path(), &fake, &["check", &p]);
    let granted = |n: &str| {
        v["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == n)
            .unwrap()["granted"]
            .clone()
    };
    let enabled = |n: &str| {
        v["workflows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == n)
            .unwrap()["enabled"]
            .clone()
    };
    assert_eq!(granted("webhook_endpoints_write"), false);
    assert_eq!(granted("invoices_read"), false);
    assert_eq!(granted("customers_write"), true);
    assert_eq!(enabled("webhook_registration"), false);
    assert_eq!(enabled("backfill_payments"), false);
    assert_eq!(enabled("catch_up"), true);
    assert_eq!(enabled("backfill_customers"), true);
    // Write probes touched nothing and carried idempotency keys.
    assert!(fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .all(|r| r.idempotency_key.is_some()));

    // A 403 in a workflow names the permission.
    let out = run(
        tmp.path(),
        Some(&fake),
        &[
            "stripe",
            "register-webhook",
            &p,
            "--url",
            "https://a.example",
        ],
        None,
        &[],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the restricted key lacks permission rak_webhook_write"),
        "{err}"
    );
    assert!(!err.contains(KEY), "{err}");
}

#[test]
fn stripe_register_webhook_creates_then_updates_on_url_change() {
    let fake = FakeStripe::start();
    let (tmp, pid) = setup(&fake);
    let p = pid.to_string();
    let kc = Context::open(tmp.path()).unwrap().keychain;
    let path = json_of(
        &run(
            tmp.path(),
            None,
            &["processor", "show", &p, "--json"],
            None,
            &[],
        ),
        "show",
    )["webhook_path"]
        .as_str()
        .unwrap()
        .to_owned();

    // The first create's answer is lost (500 after the endpoint was made): the retry with the
    // same idempotency key gets the replayed answer, so there is still one endpoint.
    fake.with(|s| s.lose_next_create_answer = true);
    let v = stripe_json(
        tmp.path(),
        &fake,
        &["register-webhook", &p, "--url", "https://one.example/"],
    );
    assert_eq!(v["action"], "created");
    assert_eq!(v["signing_secret_stored"], true);
    let we = v["webhook_endpoint_id"].as_str().unwrap().to_owned();
    assert!(we.starts_with("we_"));
    let eps = fake.with(|s| s.endpoints.clone());
    assert_eq!(eps.len(), 1, "{eps:?}");
    assert_eq!(eps[0]["url"], format!("https://one.example{path}"));
    assert_eq!(eps[0]["api_version"], fake_stripe::VERSION);
    assert_eq!(eps[0]["enabled_events"].as_array().unwrap().len(), 20);
    let creates: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/webhook_endpoints")
        .collect();
    assert_eq!(creates.len(), 2, "one lost answer, one replay");
    assert_eq!(creates[0].idempotency_key, creates[1].idempotency_key);
    let secret = kc.get(pid, SecretKind::SigningSecret).unwrap().unwrap();
    assert!(secret.expose().starts_with("whsec_fakesecret"));
    // The public base URL is what the processor shows now.
    let shown = json_of(
        &run(
            tmp.path(),
            None,
            &["processor", "show", &p, "--json"],
            None,
            &[],
        ),
        "show",
    );
    assert!(shown["webhook_url"]
        .as_str()
        .unwrap()
        .starts_with("https://one.example/webhooks/"));

    // A new URL updates the same endpoint; the signing secret is unchanged.
    let v = stripe_json(
        tmp.path(),
        &fake,
        &["register-webhook", &p, "--url", "https://two.example"],
    );
    assert_eq!(v["action"], "updated");
    assert_eq!(v["webhook_endpoint_id"], we.as_str());
    let eps = fake.with(|s| s.endpoints.clone());
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0]["url"], format!("https://two.example{path}"));
    assert_eq!(
        kc.get(pid, SecretKind::SigningSecret).unwrap().unwrap(),
        secret
    );

    // Deleted at Stripe meanwhile: a new endpoint is created.
    fake.with(|s| s.endpoints.clear());
    let v = stripe_json(
        tmp.path(),
        &fake,
        &["register-webhook", &p, "--url", "https://two.example"],
    );
    assert_eq!(v["action"], "created");
    assert_ne!(v["webhook_endpoint_id"], we.as_str());

    // Unregister deletes it.
    let v = stripe_json(tmp.path(), &fake, &["unregister-webhook", &p]);
    assert_eq!(v["removed"], true);
    assert!(fake.with(|s| s.endpoints.is_empty()));

    // Bad URLs are refused before any call.
    let out = run(
        tmp.path(),
        Some(&fake),
        &["stripe", "register-webhook", &p, "--url", "not a url"],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn stripe_catch_up_2500_events_over_many_pages_with_some_stored() {
    let fake = FakeStripe::start();
    let (tmp, pid) = setup(&fake);
    let p = pid.to_string();
    let t0 = now() - 3000;
    let all: Vec<Value> = (0..2500)
        .map(|i| fake_stripe::customer_event(i, t0 + i as i64))
        .collect();
    // Types the processor did not select are not fetched.
    let products: Vec<Value> = (0..50)
        .map(|i| {
            json!({"id": format!("evt_prod{i}"), "object": "event", "type": "product.created",
                        "created": t0 + i, "livemode": false,
                        "data": {"object": {"id": format!("prod_{i}"), "object": "product"}}})
        })
        .collect();

    // The oldest 300 arrive first (as webhooks would have).
    fake.with(|s| s.events = all[..300].to_vec());
    let v = stripe_json(tmp.path(), &fake, &["catch-up", &p]);
    assert_eq!(v, json!({"fetched": 300, "new": 300, "duplicates": 0}));

    // Then everything, with rate limiting and a server error on the way.
    fake.with(|s| {
        s.events = all.clone();
        s.events.extend(products.clone());
        s.requests.clear();
        s.fail_next.extend([429, 429, 503]);
    });
    let started = Instant::now();
    let v = stripe_json(tmp.path(), &fake, &["catch-up", &p]);
    let took = started.elapsed();
    assert_eq!(v, json!({"fetched": 2500, "new": 2200, "duplicates": 300}));
    let reqs = fake.requests();
    let pages: Vec<_> = reqs
        .iter()
        .filter(|r| r.path == "/v1/events" && r.status == 200)
        .collect();
    assert_eq!(pages.len(), 25, "100 per page");
    assert!(pages.iter().all(|r| r.param("limit") == Some("100")));
    assert_eq!(
        pages
            .iter()
            .filter(|r| r.param("starting_after").is_some())
            .count(),
        24
    );
    assert_eq!(reqs.iter().filter(|r| r.status == 429).count(), 2);
    // The window starts at the newest stored event minus the margin.
    let gte: i64 = pages[0].param("created[gte]").unwrap().parse().unwrap();
    assert_eq!(gte, t0 + 299 - 3600);
    eprintln!("catch-up of 2,500 events (25 pages): {took:?}");

    let rows = activity(tmp.path());
    assert_eq!(rows.len(), 2500);
    assert!(
        rows.iter().all(|r| r["status"] == "linked"),
        "all customer events link"
    );

    // Nothing new: every event is a duplicate now, and the window is the last hour.
    let v = stripe_json(tmp.path(), &fake, &["catch-up", &p]);
    assert_eq!(v["new"], 0);
}

#[test]
fn stripe_catch_up_never_goes_back_more_than_30_days() {
    let fake = FakeStripe::start();
    let (tmp, pid) = setup(&fake);
    let v = stripe_json(tmp.path(), &fake, &["catch-up", &pid.to_string()]);
    assert_eq!(v["fetched"], 0);
    let r = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/events")
        .unwrap();
    let gte: i64 = r.param("created[gte]").unwrap().parse().unwrap();
    let days = (now() - gte) as f64 / 86400.0;
    assert!(days <= 30.0 && days > 29.9, "{days}");
}

#[test]
fn stripe_backfill_of_250_customers_resumes_after_an_interruption() {
    let fake = FakeStripe::start();
    let (tmp, pid) = setup(&fake);
    let p = pid.to_string();
    let t0 = now() - 90 * 86400;
    let customers: Vec<Value> = (0..250)
        .rev()
        .map(|i| fake_stripe::customer(i, t0 + i as i64))
        .collect();
    fake.with(|s| {
        s.objects.insert("customers".into(), customers.clone());
        // The first page succeeds, then Stripe keeps failing: the run stops.
        s.list_pages_served.clear();
        s.fail_list_after = Some(("customers".into(), 1));
    });
    let out = run(
        tmp.path(),
        Some(&fake),
        &["stripe", "backfill", &p],
        None,
        &[],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("customers: 100 imported, page 1"), "{err}");
    assert!(err.contains("after several retries"), "{err}");
    assert!(
        !err.contains("@example.com"),
        "no personal data in messages: {err}"
    );

    // Resumed: starts after the 100th customer, imports the other 150.
    fake.with(|s| {
        s.fail_list_after = None;
        s.requests.clear();
    });
    let v = stripe_json(
        tmp.path(),
        &fake,
        &["backfill", &p, "--resources", "customers"],
    );
    let r = &v["resources"][0];
    assert_eq!(r["resource"], "customers");
    assert_eq!(r["fetched"], 150);
    assert_eq!(r["new"], 150);
    assert_eq!(r["imported_total"], 250);
    assert_eq!(r["done"], true);
    let first = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/customers")
        .unwrap();
    assert_eq!(first.param("starting_after"), customers[99]["id"].as_str());

    let subjects = json_of(
        &run(tmp.path(), None, &["subjects", "list", "--json"], None, &[]),
        "subjects",
    );
    assert_eq!(subjects.as_array().unwrap().len(), 250);

    // A finished resource is skipped; other resources can be added; `subscriptions` asks for
    // every status.
    fake.with(|s| s.requests.clear());
    let v = stripe_json(
        tmp.path(),
        &fake,
        &["backfill", &p, "--resources", "customers,subscriptions"],
    );
    assert_eq!(v["resources"][0]["fetched"], 0);
    assert_eq!(v["resources"][1]["done"], true);
    let reqs = fake.requests();
    assert!(reqs.iter().all(|r| r.path != "/v1/customers"));
    let sub = reqs.iter().find(|r| r.path == "/v1/subscriptions").unwrap();
    assert_eq!(sub.param("status"), Some("all"));

    let out = run(
        tmp.path(),
        Some(&fake),
        &["stripe", "backfill", &p, "--resources", "pets"],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn stripe_customer_lookup_links_events_of_unknown_customers() {
    let fake = FakeStripe::start();
    let (tmp, pid) = setup(&fake);
    let p = pid.to_string();
    let t = now() - 600;
    fake.with(|s| {
        s.objects.insert(
            "customers".into(),
            vec![fake_stripe::customer(7, t - 86400 * 100)],
        );
        s.events = vec![
            fake_stripe::payment_event(1, t, "cus_fake000007"),
            fake_stripe::payment_event(2, t + 1, "cus_fake000007"),
            // Deleted at Stripe: stays unlinked, looked up once.
            fake_stripe::payment_event(3, t + 2, "cus_gone"),
        ];
    });
    let v = stripe_json(tmp.path(), &fake, &["catch-up", &p]);
    assert_eq!(
        v["new"],
        3,
        "{v} {:?}",
        fake.requests()
            .iter()
            .map(|r| (&r.path, r.status, &r.params))
            .collect::<Vec<_>>()
    );
    let rows = activity(tmp.path());
    let pay: Vec<_> = rows
        .iter()
        .filter(|r| {
            r["event_type"]
                .as_str()
                .unwrap()
                .ends_with("payment_intent.succeeded")
        })
        .collect();
    assert_eq!(pay.len(), 3);
    for r in &pay {
        if r["event_id"] == "evt_pay0000003" {
            assert_eq!(r["status"], "unlinked");
        } else {
            assert_eq!(r["status"], "linked", "{r}");
            assert_eq!(r["subject_email"], "person7@example.com");
        }
    }
    let lookups = |fake: &FakeStripe| {
        fake.requests()
            .iter()
            .filter(|r| r.path.starts_with("/v1/customers/"))
            .count()
    };
    assert_eq!(lookups(&fake), 2);
    // Asking again fetches nothing: known customers and known misses are not asked again.
    let v = stripe_json(tmp.path(), &fake, &["lookup-customers", &p]);
    assert_eq!(v, json!({"looked_up": 0, "missing": 0}));
    assert_eq!(lookups(&fake), 2);
}

#[test]
fn stripe_thin_events_are_fetched_and_linked() {
    use privacy_desk_core::{ingest, store::Db, stripe::event};
    let fake = FakeStripe::start();
    let (tmp, pid) = setup(&fake);
    let p = pid.to_string();
    let thin = json!({
        "id": "evt_thin0001", "object": "v2.core.event", "type": "v1.customer.updated",
        "created": "2026-11-01T10:00:00.000Z", "livemode": false,
        "related_object": {"id": "cus_fake000042", "type": "customer", "url": "/v1/customers/cus_fake000042"},
    });
    {
        let db = Db::open(tmp.path()).unwrap();
        let inc = event::parse(thin.to_string().as_bytes(), 0).unwrap();
        assert!(inc.thin);
        let out = ingest::store_blocking(&db, ingest::row(pid, "stripe", inc, 1, None)).unwrap();
        assert_eq!(out, ingest::Outcome::Accepted);
        db.shutdown();
    }
    assert_eq!(activity(tmp.path())[0]["status"], "awaiting_fetch");
    fake.with(|s| {
        s.v2_events.insert("evt_thin0001".into(), thin.clone());
        s.objects.insert(
            "customers".into(),
            vec![fake_stripe::customer(42, 1_700_000_000)],
        );
    });
    let v = stripe_json(tmp.path(), &fake, &["fetch-thin", &p]);
    assert_eq!(v, json!({"fetched": 1, "missing": 0}));
    let rows = activity(tmp.path());
    assert_eq!(rows[0]["status"], "linked");
    assert_eq!(rows[0]["subject_email"], "person42@example.com");
    let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
    assert!(paths.contains(&"/v2/core/events/evt_thin0001".to_owned()));
    assert!(paths.contains(&"/v1/customers/cus_fake000042".to_owned()));
    // Fetched once: nothing is awaiting any more.
    let v = stripe_json(tmp.path(), &fake, &["fetch-thin", &p]);
    assert_eq!(v, json!({"fetched": 0, "missing": 0}));
}

#[test]
fn stripe_without_a_key_or_network_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let (pid, _) = add_stripe(tmp.path());
    let p = pid.to_string();
    let out = run(tmp.path(), None, &["stripe", "catch-up", &p], None, &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stripe set-key"));
    // Nothing listens on port 1: a clear network error, after bounded retries.
    let out = run(
        tmp.path(),
        None,
        &["stripe", "set-key", &p],
        Some(KEY),
        &[("PRIVACY_DESK_STRIPE_API_BASE", "http://127.0.0.1:1")],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach Stripe's API"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Tunnel

const TOKEN: &str = "2fakeNgrokToken_0123456789abcdefghij";

/// A Stripe processor with a key, the fake primed by `prime`, then one `register-webhook`.
fn register_once(prime: impl FnOnce(&mut fake_stripe::State), json: bool) -> Output {
    let fake = FakeStripe::start();
    let (tmp, pid) = setup(&fake);
    fake.with(prime);
    let p = pid.to_string();
    let mut args = vec![
        "stripe",
        "register-webhook",
        &p,
        "--url",
        "https://one.example/",
    ];
    if json {
        args.push("--json");
    }
    run(tmp.path(), Some(&fake), &args, None, &[])
}

#[test]
fn a_refusal_from_stripe_names_its_code_and_parameter_and_is_not_bad_usage() {
    let out = register_once(|s| s.fail_next.push_back(400), false);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("parameter_unknown") && err.contains("enabled_events[0]"),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
}

#[test]
fn an_endpoint_created_without_its_secret_asks_for_it() {
    let out = register_once(|s| s.omit_next_secret = true, true);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["signing_secret_stored"], false);
    assert_eq!(v["needs_signing_secret"], true);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did not send its signing secret") && err.contains("set-secret"),
        "{err}"
    );
}

#[test]
fn stripe_tunnel_token_status_and_offline_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let status = json_of(
        &run(dir, None, &["tunnel", "status", "--json"], None, &[]),
        "status",
    );
    assert_eq!(status["token_set"], false);
    assert_eq!(status["running"], false);

    // Without a token: a clear message.
    let out = run(dir, None, &["tunnel", "start"], None, &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tunnel set-token"));

    // A malformed token is refused and not echoed.
    let out = run(
        dir,
        None,
        &["tunnel", "set-token"],
        Some("not a token"),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not a token"));

    let v = json_of(
        &run(
            dir,
            None,
            &["tunnel", "set-token", "--json"],
            Some(TOKEN),
            &[],
        ),
        "set-token",
    );
    assert_eq!(v["token_set"], true);
    let kc = Context::open(dir).unwrap().keychain;
    assert_eq!(
        kc.get_app(SecretKind::TunnelToken)
            .unwrap()
            .unwrap()
            .expose(),
        TOKEN
    );
    let status = json_of(
        &run(dir, None, &["tunnel", "status", "--json"], None, &[]),
        "status",
    );
    assert_eq!(status["token_set"], true);

    // Offline (nothing listens at the ngrok server address): fails fast and says so.
    let t = Instant::now();
    let out = run(
        dir,
        None,
        &["tunnel", "start", "--json"],
        None,
        &[("PRIVACY_DESK_NGROK_SERVER", "127.0.0.1:1")],
    );
    assert!(!out.status.success());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach ngrok"), "{err}");
    assert!(!err.contains(TOKEN) && out.stdout.is_empty());
    // `serve --tunnel` too: the receiver does not stay up half-configured.
    let t = Instant::now();
    let out = run(
        dir,
        None,
        &["serve", "--listen", "127.0.0.1:0", "--tunnel"],
        None,
        &[("PRIVACY_DESK_NGROK_SERVER", "127.0.0.1:1")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach ngrok") && !err.contains(TOKEN),
        "{err}"
    );

    // ngrok's real server: this machine has no network, so DNS fails at once; on a machine
    // with network a fake token is refused. Either way: quick and clear.
    if std::env::var("NGROK_AUTHTOKEN").is_err() {
        let t = Instant::now();
        let out = run(dir, None, &["tunnel", "start"], None, &[]);
        assert!(!out.status.success());
        assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ngrok"), "{err}");
        assert!(!err.contains(TOKEN), "{err}");
    }
    let status = json_of(
        &run(dir, None, &["tunnel", "status", "--json"], None, &[]),
        "status",
    );
    assert_eq!(status["running"], false);
}

/// Live: only with `NGROK_AUTHTOKEN` set (and network).
#[test]
fn stripe_tunnel_live_when_a_token_is_given() {
    let Ok(token) = std::env::var("NGROK_AUTHTOKEN") else {
        eprintln!("NGROK_AUTHTOKEN not set: live tunnel test skipped");
        return;
    };
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    json_of(
        &run(
            dir,
            None,
            &["tunnel", "set-token", "--json"],
            Some(&token),
            &[],
        ),
        "set-token",
    );
    let mut child = Command::new(bin())
        .arg("--data-dir")
        .arg(dir)
        .args(["tunnel", "start", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut text = String::new();
    let mut r = BufReader::new(child.stdout.take().unwrap());
    while !text.trim_end().ends_with('}') {
        if r.read_line(&mut text).unwrap() == 0 {
            break;
        }
    }
    let v: Value = serde_json::from_str(&text).expect("the tunnel's JSON");
    assert!(v["url"].as_str().unwrap().starts_with("https://"));
    let status = json_of(
        &run(dir, None, &["tunnel", "status", "--json"], None, &[]),
        "status",
    );
    assert_eq!(status["running"], true);
    assert_eq!(status["url"], v["url"]);
    crate::support::terminate(&child);
    assert!(child.wait().unwrap().success());
}
