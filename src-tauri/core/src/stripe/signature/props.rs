//! Property tests of the `Stripe-Signature` parser and verifier. (The agreement with Stripe's
//! own library is checked in tests/integration/crosscheck.rs.)

use proptest::prelude::*;
use proptest::sample::Index;

use super::*;
use crate::props::{byte_change, config};

const NOW: i64 = 1_763_000_000;

fn secret_text() -> impl Strategy<Value = String> {
    prop_oneof!["whsec_[A-Za-z0-9]{32}", any::<String>()]
}

/// A timestamp: anything, or one near today.
fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![any::<i64>(), NOW - 1_000_000..NOW + 1_000_000]
}

/// One entry of a header.
#[derive(Debug, Clone)]
enum Item {
    T,
    V1([u8; 32]),
    /// A v1 in upper-case hex: not how Stripe writes it, so never read as a signature.
    V1Upper([u8; 32]),
    /// `v0=…`, a key of another scheme, or no `=` at all: skipped.
    Other(String),
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(Item::V1),
        any::<[u8; 32]>()
            .prop_filter("has a letter", |s| hex::encode(s).bytes().any(|b| b > b'9'))
            .prop_map(Item::V1Upper),
        "(v0|v2|x[a-z0-9]{0,3}|[a-su][a-z]{0,3})=[!-+\\--~]{0,12}".prop_map(Item::Other),
        "[!-+\\--<>-~]{0,12}".prop_map(Item::Other),
    ]
}

/// Text that looks like a header: its entries in any order and spacing, some of them wrong.
fn header_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<i64>().prop_map(|t| format!("t={t}")),
        "t=[-+ 0-9a-z]{0,22}",
        "v1=[0-9a-fA-F]{0,70}",
        "[0-9a-f]{64}".prop_map(|h| format!("v1={h}")),
        "[ -~]{0,20}",
    ];
    prop::collection::vec((piece, "[ \t]{0,2}"), 0..6).prop_map(|pieces| {
        pieces
            .iter()
            .map(|(p, ws)| format!("{ws}{p}{ws}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn render(t: i64, items: &[Item], spaces: &[String]) -> String {
    items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let ws = spaces.get(i).map_or("", String::as_str);
            let text = match it {
                Item::T => format!("t={t}"),
                Item::V1(s) => format!("v1={}", hex::encode(s)),
                Item::V1Upper(s) => format!("v1={}", hex::encode_upper(s)),
                Item::Other(o) => o.clone(),
            };
            format!("{ws}{text}{ws}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

proptest! {
    #![proptest_config(config())]

    /// Whatever arrives, the parser and verifier answer; a header is only accepted within the
    /// tolerance (the age computed without overflow).
    #[test]
    fn arbitrary_headers_and_bodies_never_panic(
        header in prop_oneof![
            header_like(),
            any::<String>(),
            any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ],
        body in any::<Vec<u8>>(),
        secrets in prop::collection::vec(secret_text(), 0..3),
        now in timestamp(),
    ) {
        let secrets: Vec<Secret> = secrets.into_iter().map(Secret::new).collect();
        let _ = parse(&header);
        if let Ok(t) = verify(Some(&header), &body, &secrets, now) {
            prop_assert!((i128::from(now) - i128::from(t)).abs() <= i128::from(TOLERANCE_SECS));
        }
    }

    /// The parser finds `t` and every well-formed lower-case `v1`, in order, wherever they
    /// are and however they are spaced; everything else is skipped.
    #[test]
    fn the_parser_reads_t_and_every_v1(
        t in any::<i64>(),
        (items, spaces) in (
            prop::collection::vec(item(), 0..6)
                .prop_map(|mut v| { v.push(Item::T); v })
                .prop_shuffle(),
            prop::collection::vec("[ \t]{0,2}", 7),
        ),
    ) {
        let header = render(t, &items, &spaces);
        let want: Vec<[u8; 32]> = items
            .iter()
            .filter_map(|i| match i { Item::V1(s) => Some(*s), _ => None })
            .collect();
        let any_v1 = items.iter().any(|i| matches!(i, Item::V1(_) | Item::V1Upper(_)));
        match parse(&header) {
            Ok(p) => {
                prop_assert!(any_v1);
                prop_assert_eq!(p.t, t);
                prop_assert_eq!(p.v1, want);
            }
            Err(e) => {
                prop_assert!(!any_v1, "{header}: {e:?}");
                prop_assert_eq!(e, SignatureError::NoV1);
            }
        }
    }

    /// A header from `sign` verifies exactly when `now` is within the tolerance of its `t`;
    /// otherwise it is stale, with the age saturated at the ends of i64.
    #[test]
    fn own_signatures_verify_exactly_within_the_tolerance(
        body in any::<Vec<u8>>(),
        secret in secret_text(),
        t in timestamp(),
        near in -TOLERANCE_SECS - 2..=TOLERANCE_SECS + 2,
        far in any::<i64>(),
        pick_far in any::<bool>(),
    ) {
        let now = if pick_far { far } else { t.saturating_add(near) };
        let secret = Secret::new(secret);
        let header = sign(&body, &secret, t);
        let age = i128::from(now) - i128::from(t);
        let got = verify(Some(&header), &body, std::slice::from_ref(&secret), now);
        if age.abs() <= i128::from(TOLERANCE_SECS) {
            prop_assert_eq!(got, Ok(t));
        } else {
            let saturated = age.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
            prop_assert_eq!(got, Err(SignatureError::OutsideTolerance { age_secs: saturated }));
        }
    }

    /// While a secret is rotated: any of the secrets, matching any of the `v1` entries, in
    /// any position, verifies; without the signing secret nothing does.
    #[test]
    fn any_listed_secret_matches_any_listed_signature(
        body in any::<Vec<u8>>(),
        secret in secret_text(),
        others in prop::collection::vec(secret_text(), 0..3),
        (items, at) in (prop::collection::vec(item(), 0..4), any::<Index>()),
        secret_at in any::<Index>(),
        t in timestamp(),
    ) {
        let sig = mac(&Secret::new(secret.as_str()), t, &body).finalize().into_bytes();
        let mut items = items;
        items.insert(at.index(items.len() + 1), Item::V1(sig.into()));
        items.push(Item::T);
        let header = render(t, &items, &[]);
        let mut secrets: Vec<Secret> = others
            .iter()
            .filter(|o| **o != secret)
            .map(|o| Secret::new(o.as_str()))
            .collect();
        let without = if secrets.is_empty() {
            SignatureError::NoSecret
        } else {
            SignatureError::Mismatch
        };
        prop_assert_eq!(verify(Some(&header), &body, &secrets, t), Err(without));
        secrets.insert(secret_at.index(secrets.len() + 1), Secret::new(secret));
        prop_assert_eq!(verify(Some(&header), &body, &secrets, t), Ok(t));
    }

    /// Any one-byte change to the body makes the signature fail.
    #[test]
    fn any_one_byte_change_to_the_body_fails(
        body in prop::collection::vec(any::<u8>(), 1..512),
        secret in secret_text(),
        t in timestamp(),
        at in any::<Index>(),
        bump in 1..=255u8,
    ) {
        let secret = Secret::new(secret);
        let header = sign(&body, &secret, t);
        let changed = byte_change(&body, at, bump);
        prop_assert_eq!(
            verify(Some(&header), &changed, std::slice::from_ref(&secret), t),
            Err(SignatureError::Mismatch)
        );
    }

    /// Any one-byte change to the header makes it fail (a header is text: changes that leave
    /// it invalid UTF-8 cannot reach `verify`).
    #[test]
    fn any_one_byte_change_to_the_header_fails(
        body in any::<Vec<u8>>(),
        secret in secret_text(),
        t in timestamp(),
        at in any::<Index>(),
        bump in 1..=255u8,
    ) {
        let secret = Secret::new(secret);
        let header = sign(&body, &secret, t);
        let changed = byte_change(header.as_bytes(), at, bump);
        if let Ok(changed) = std::str::from_utf8(&changed) {
            let got = verify(Some(changed), &body, std::slice::from_ref(&secret), t);
            prop_assert!(got.is_err(), "{header} → {changed} verified");
        }
    }
}

/// The last property exhaustively for a few headers: every position, every byte.
#[test]
fn every_one_byte_change_to_a_header_fails() {
    let secret = Secret::new("whsec_test_privacy_desk_fixture_secret");
    let body = br#"{"id":"evt_1","object":"event"}"#;
    for t in [NOW, -1, 0, i64::MIN, i64::MAX] {
        let header = sign(body, &secret, t);
        for i in 0..header.len() {
            for b in 0..=255u8 {
                let mut changed = header.clone().into_bytes();
                if changed[i] == b {
                    continue;
                }
                changed[i] = b;
                let Ok(changed) = String::from_utf8(changed) else {
                    continue;
                };
                assert!(
                    verify(Some(&changed), body, std::slice::from_ref(&secret), t).is_err(),
                    "{header} → {changed} verified"
                );
            }
        }
    }
}
