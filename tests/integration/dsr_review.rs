//! The review of an access package before release, through the real CLI: `dsr review` lists
//! every record with its id, `dsr withhold` leaves a record (or a field) out on a ground and
//! `dsr unwithhold` takes that back, `dsr release` writes the final package without them (the
//! JSON, CSV, summary and manifest rebuilt; the cover letter says so), after which nothing
//! more is withheld. Bad input changes nothing.

use std::io::Read;
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::dsr::{data, files_containing, new_dsr, ok_json, run, setup, stock, CUS, EMAIL, NAME};
use crate::fake_stripe::FakeStripe;

fn zip_files(path: &str) -> std::collections::BTreeMap<String, String> {
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

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn audit(dir: &Path, id: &str) -> Vec<Value> {
    ok_json(dir, None, &["audit", "list", "--request", id])
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn withhold_then_release_through_the_cli() {
    let fake = FakeStripe::start();
    stock(&fake, CUS, EMAIL, NAME, "paid");
    let (tmp, _pid) = setup(&fake);
    let dir = data(&tmp);
    let id = new_dsr(&dir, "access", EMAIL, &[])["id"]
        .as_i64()
        .unwrap()
        .to_string();
    ok_json(
        &dir,
        None,
        &["dsr", "verify-identity", &id, "--method", "email reply"],
    );

    // Nothing built yet: the review says so.
    let r = ok_json(&dir, None, &["dsr", "review", &id]);
    assert_eq!(r["state"]["built"], false, "{r:#}");

    let out_dir = tmp.path().join("out");
    let built = ok_json(
        &dir,
        Some(&fake.base),
        &["dsr", "access", &id, "--out", out_dir.to_str().unwrap()],
    );
    let r = ok_json(&dir, None, &["dsr", "review", &id]);
    assert_eq!(
        r["state"],
        json!({"built": true, "released": false, "withheld": 0})
    );
    assert_eq!(r["sha256"], built["sha256"]);
    let ids: Vec<&str> = r["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["records"].as_array().unwrap())
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    let charge = "stripe_charges:ch_zelda0001";
    let customer = format!("stripe_customer:{CUS}");
    assert!(
        ids.contains(&charge) && ids.contains(&customer.as_str()),
        "{ids:?}"
    );
    let human = run(&dir, None, &["dsr", "review", &id], None, &[]);
    assert!(String::from_utf8_lossy(&human.stdout).contains(charge));

    // Bad input: clear errors, exit codes, and nothing recorded.
    let before = audit(&dir, &id).len();
    for (args, code, words) in [
        (
            vec!["--record", charge, "--ground", "someone"],
            2,
            "unknown ground",
        ),
        (
            vec![
                "--record",
                "stripe_charges:ch_nope",
                "--ground",
                "other_person",
            ],
            1,
            "has no record \"stripe_charges:ch_nope\"",
        ),
        (
            vec!["--record", charge, "--ground", "other", "--text", " "],
            2,
            "--text",
        ),
        (
            vec![
                "--record",
                charge,
                "--field",
                "nope",
                "--ground",
                "legal_privilege",
            ],
            1,
            "has no field \"nope\"",
        ),
    ] {
        let mut a = vec!["dsr", "withhold", &id];
        a.extend(args);
        let out = run(&dir, None, &a, None, &[]);
        assert_eq!(out.status.code(), Some(code), "{a:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(words), "{a:?}: {}", stderr(&out));
    }
    assert_eq!(audit(&dir, &id).len(), before, "nothing was recorded");

    // The charge paid by someone else, and the customer's street, withheld.
    ok_json(
        &dir,
        None,
        &[
            "dsr",
            "withhold",
            &id,
            "--record",
            charge,
            "--ground",
            "other_person",
        ],
    );
    let r = ok_json(
        &dir,
        None,
        &[
            "dsr",
            "withhold",
            &id,
            "--record",
            &customer,
            "--field",
            "address.line1",
            "--ground",
            "other",
            "--text",
            "The address is the shop's <b>delivery</b> depot",
        ],
    );
    assert_eq!(r["state"]["withheld"], 2);
    // And one taken back again.
    ok_json(
        &dir,
        None,
        &[
            "dsr",
            "withhold",
            &id,
            "--record",
            "stripe_invoices:in_zelda0001",
            "--ground",
            "legal_privilege",
        ],
    );
    let r = ok_json(
        &dir,
        None,
        &[
            "dsr",
            "unwithhold",
            &id,
            "--record",
            "stripe_invoices:in_zelda0001",
        ],
    );
    assert_eq!(r["state"]["withheld"], 2);

    let final_dir = tmp.path().join("final");
    let p = ok_json(
        &dir,
        None,
        &["dsr", "release", &id, "--out", final_dir.to_str().unwrap()],
    );
    let path = p["path"].as_str().unwrap();
    assert!(Path::new(path).starts_with(&final_dir));
    assert_ne!(p["sha256"], built["sha256"]);
    assert_eq!(
        p["sha256"],
        hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
    );
    assert!(
        !Path::new(built["path"].as_str().unwrap()).exists(),
        "the package as built is removed"
    );
    let files = zip_files(path);
    assert_eq!(files["stripe_charges.json"].trim(), "[]");
    assert!(!files["stripe_charges.csv"].contains("ch_zelda0001"));
    let cust: Value = serde_json::from_str(&files["stripe_customer.json"]).unwrap();
    assert_eq!(cust[0]["id"], CUS);
    assert_eq!(cust[0]["address"], json!({"city": "Bonn"}), "{cust:#}");
    assert!(!files["stripe_customer.csv"].contains("Quiet Lane"));
    let invoices: Value = serde_json::from_str(&files["stripe_invoices.json"]).unwrap();
    assert_eq!(
        invoices.as_array().unwrap().len(),
        1,
        "taken back: released"
    );
    let manifest: Value = serde_json::from_str(&files["manifest.json"]).unwrap();
    for f in manifest["files"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        assert_eq!(
            f["sha256"],
            hex::encode(Sha256::digest(&files[name])),
            "{name}"
        );
    }
    assert_eq!(
        manifest["withheld"],
        json!({"records": 1, "fields": 1, "grounds": ["other_person", "other"]})
    );
    let html = &files["summary.html"];
    assert!(
        html.contains("We have withheld 1 record and 1 detail of another record"),
        "{html}"
    );
    assert!(html.contains("<li>1 record: it would disclose personal data about other people"));
    assert!(html.contains(
        "<li>1 detail of a record: The address is the shop&#39;s &#60;b&#62;delivery&#60;/b&#62; depot.</li>"
    ), "{html}");
    assert!(html.contains("<tr><td>Stripe: charges</td><td>0</td>"));

    // The trail: the decisions with ids, fields and grounds; never the values.
    let trail = audit(&dir, &id);
    let of = |action: &str| -> Vec<Value> {
        trail
            .iter()
            .filter(|e| e["action"] == action)
            .map(|e| e["details"].clone())
            .collect()
    };
    assert_eq!(of("access.withheld").len(), 3);
    assert_eq!(of("access.withheld")[1]["field"], "address.line1");
    assert_eq!(
        of("access.unwithheld")[0]["record_id"],
        "stripe_invoices:in_zelda0001"
    );
    assert_eq!(of("access.released")[0]["sha256"], p["sha256"]);
    let text = serde_json::to_string(&trail).unwrap();
    assert!(
        !text.contains("Quiet Lane") && !text.contains(EMAIL),
        "{text}"
    );

    // Released: nothing more is withheld.
    let out = run(
        &dir,
        None,
        &[
            "dsr",
            "withhold",
            &id,
            "--record",
            &customer,
            "--ground",
            "other_person",
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("was released on"), "{}", stderr(&out));
    let r = ok_json(&dir, None, &["dsr", "review", &id]);
    assert_eq!(
        r["state"],
        json!({"built": true, "released": true, "withheld": 2})
    );
    assert_eq!(r["path"], p["path"]);
}

/// A reason for withholding that names the person is kept without their email and name in the
/// trail, and the erasure of the person takes them out of the stored reason too.
#[test]
fn an_erasure_takes_the_person_out_of_a_withholding_reason() {
    let fake = FakeStripe::start();
    stock(&fake, CUS, EMAIL, NAME, "paid");
    let (tmp, _pid) = setup(&fake);
    let dir = data(&tmp);
    let access = new_dsr(&dir, "access", EMAIL, &[])["id"]
        .as_i64()
        .unwrap()
        .to_string();
    ok_json(
        &dir,
        None,
        &["dsr", "verify-identity", &access, "--method", "email reply"],
    );
    let out_dir = tmp.path().join("out");
    ok_json(
        &dir,
        Some(&fake.base),
        &["dsr", "access", &access, "--out", out_dir.to_str().unwrap()],
    );
    let reason = format!("{NAME} ({EMAIL}) asked us to keep this out");
    ok_json(
        &dir,
        None,
        &[
            "dsr",
            "withhold",
            &access,
            "--record",
            "stripe_charges:ch_zelda0001",
            "--ground",
            "other",
            "--text",
            &reason,
        ],
    );
    let trail = ok_json(&dir, None, &["audit", "list", "--request", &access]);
    let withheld = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "access.withheld")
        .unwrap()
        .clone();
    assert_eq!(
        withheld["details"]["reason"],
        "[the person] ([the person]) asked us to keep this out"
    );

    let erasure = new_dsr(&dir, "erasure", EMAIL, &[])["id"]
        .as_i64()
        .unwrap()
        .to_string();
    ok_json(
        &dir,
        None,
        &[
            "dsr",
            "verify-identity",
            &erasure,
            "--method",
            "signed letter",
        ],
    );
    let done = ok_json(&dir, Some(&fake.base), &["dsr", "erase", &erasure, "--yes"]);
    assert_eq!(done["status"], "completed", "{done}");
    let hits = files_containing(&dir, &[EMAIL, NAME]);
    assert!(hits.is_empty(), "{hits:#?}");
    // And the package is not reviewed any more: nothing is held to put in it.
    let out = run(&dir, None, &["dsr", "review", &access], None, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("was erased"), "{}", stderr(&out));
}
