//! The `Stripe-Signature` header: `t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=…]`.
//! `v1` is the lower-case hex HMAC-SHA256 of `"{t}.{raw body}"`, keyed by the UTF-8 bytes of
//! the whole `whsec_…` string. Several `v1` entries appear while a secret is rotated; `v0` is
//! not a signature to accept.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secrets::Secret;

/// Stripe's own default: a signed timestamp older than this is a replay.
pub(crate) const TOLERANCE_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Unparsable,
    NoV1,
    NoSecret,
    Mismatch,
    /// Valid signature, but `t` is further from now than the tolerance.
    OutsideTolerance {
        age_secs: i64,
    },
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::Missing => f.write_str("the Stripe-Signature header is missing"),
            SignatureError::Unparsable => {
                f.write_str("the Stripe-Signature header is not t=…,v1=… with a numeric t")
            }
            SignatureError::NoV1 => f.write_str("the Stripe-Signature header has no v1 signature"),
            SignatureError::NoSecret => f.write_str(
                "no signing secret is set for this processor: run `privacy-desk processor set-secret`",
            ),
            SignatureError::Mismatch => f.write_str(
                "no v1 signature matches the signing secret: re-copy the endpoint's signing secret",
            ),
            SignatureError::OutsideTolerance { age_secs } => write!(
                f,
                "the signature was made {}, beyond the {TOLERANCE_SECS} s tolerance: a \
                 replay, or a wrong clock",
                crate::time::age_in_words(*age_secs)
            ),
        }
    }
}

impl SignatureError {
    /// Short machine-readable outcome for the deliveries log.
    pub fn outcome(&self) -> &'static str {
        match self {
            SignatureError::OutsideTolerance { .. } => "stale_timestamp",
            _ => "bad_signature",
        }
    }
}

struct Parsed {
    t: i64,
    v1: Vec<[u8; 32]>,
}

fn parse(header: &str) -> Result<Parsed, SignatureError> {
    let mut t = None;
    let mut v1 = Vec::new();
    let mut saw_v1 = false;
    for item in header.split(',') {
        let Some((k, v)) = item.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" => {
                if t.is_some() {
                    return Err(SignatureError::Unparsable);
                }
                t = Some(v.parse::<i64>().map_err(|_| SignatureError::Unparsable)?);
            }
            "v1" => {
                saw_v1 = true;
                let mut sig = [0u8; 32];
                // Lower-case hex, as Stripe writes it and its libraries compare it: `A` for
                // `a` is another header, not another spelling. A malformed entry can never
                // match; the others still may.
                let lower = v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                if lower && hex::decode_to_slice(v, &mut sig).is_ok() {
                    v1.push(sig);
                }
            }
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Unparsable)?;
    if !saw_v1 {
        return Err(SignatureError::NoV1);
    }
    Ok(Parsed { t, v1 })
}

fn mac(secret: &Secret, t: i64, body: &[u8]) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Verifies `header` over `body` against any of `secrets`. Returns the signed timestamp.
/// Comparison is constant-time.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[Secret],
    now_secs: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let parsed = parse(header)?;
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let matched = secrets.iter().any(|secret| {
        let expected = mac(secret, parsed.t, body);
        parsed
            .v1
            .iter()
            .any(|sig| expected.clone().verify_slice(sig).is_ok())
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    // `t` comes from outside: plain `-` and `abs` wrap (or panic) far from now, and a
    // timestamp 2^63 s old would read as within the tolerance. Saturated, it is refused.
    let age = now_secs.saturating_sub(parsed.t);
    if age.saturating_abs() > TOLERANCE_SECS {
        return Err(SignatureError::OutsideTolerance { age_secs: age });
    }
    Ok(parsed.t)
}

/// The header Stripe would send for `body` at time `t` (for tests, the fake Stripe server and
/// benchmarks).
pub fn sign(body: &[u8], secret: &Secret, t: i64) -> String {
    let sig = mac(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(sig))
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_000_000;

    fn secret() -> Secret {
        Secret::new("whsec_test_privacy_desk_fixture_secret")
    }

    #[test]
    fn matches_the_known_vector() {
        // Computed with the fixture README's openssl one-liner:
        // printf '1763000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test_privacy_desk_fixture_secret
        let h = sign(br#"{"id":"evt_1"}"#, &secret(), NOW);
        assert_eq!(
            h,
            "t=1763000000,v1=54caec2a182af7ccb8120017759920c24a136b92d07b5702649634451d5fb8e4"
        );
    }

    #[test]
    fn accepts_own_signature_and_rotation_headers() {
        let body = b"{}";
        let good = sign(body, &secret(), NOW);
        assert_eq!(verify(Some(&good), body, &[secret()], NOW), Ok(NOW));
        let sig = good.split_once(",v1=").unwrap().1;
        let rotated = format!("t={NOW},v1={},v1={sig},v0=abc", "00".repeat(32));
        assert_eq!(verify(Some(&rotated), body, &[secret()], NOW + 10), Ok(NOW));
    }

    #[test]
    fn rejects_every_bad_header() {
        let body = b"{}";
        let good = sign(body, &secret(), NOW);
        let v0_only = good.replace("v1=", "v0=");
        let cases: Vec<(Option<&str>, SignatureError)> = vec![
            (None, SignatureError::Missing),
            (Some(""), SignatureError::Unparsable),
            (Some("garbage"), SignatureError::Unparsable),
            (Some("t=abc,v1=00"), SignatureError::Unparsable),
            (Some("t=1,t=2,v1=00"), SignatureError::Unparsable),
            (Some(&v0_only), SignatureError::NoV1),
            (Some("t=1763000000,v1=zz"), SignatureError::Mismatch),
        ];
        for (h, want) in cases {
            assert_eq!(verify(h, body, &[secret()], NOW), Err(want), "{h:?}");
        }
        // Upper-case hex is not Stripe's: a changed header.
        let upper = format!(
            "t={NOW},v1={}",
            good.split_once(",v1=").unwrap().1.to_uppercase()
        );
        assert_eq!(
            verify(Some(&upper), body, &[secret()], NOW),
            Err(SignatureError::Mismatch)
        );
        // Body changed after signing.
        assert_eq!(
            verify(Some(&good), b"{ }", &[secret()], NOW),
            Err(SignatureError::Mismatch)
        );
        // Another secret.
        assert_eq!(
            verify(Some(&good), body, &[Secret::new("whsec_other")], NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&good), body, &[], NOW),
            Err(SignatureError::NoSecret)
        );
    }

    #[test]
    fn rejects_timestamps_outside_the_tolerance() {
        let body = b"{}";
        let old = sign(body, &secret(), NOW - 301);
        assert_eq!(
            verify(Some(&old), body, &[secret()], NOW),
            Err(SignatureError::OutsideTolerance { age_secs: 301 })
        );
        let edge = sign(body, &secret(), NOW - 300);
        assert!(verify(Some(&edge), body, &[secret()], NOW).is_ok());
    }

    /// A validly signed `t` about 2^63 s from now is stale: the age saturates instead of
    /// wrapping round to something within the tolerance (or panicking).
    #[test]
    fn timestamps_at_the_ends_of_i64_are_stale_not_wrapped() {
        let body = b"{}";
        let stale = |t: i64, now: i64| {
            let header = sign(body, &secret(), t);
            let got = verify(Some(&header), body, &[secret()], now);
            let Err(e) = got else {
                panic!("t={t} accepted at now={now}: {got:?}")
            };
            assert_eq!(e.outcome(), "stale_timestamp", "t={t} now={now}");
            assert!(e.to_string().contains("tolerance"), "{e}");
            e
        };
        assert_eq!(
            stale(NOW + i64::MIN, NOW), // now − 2^63
            SignatureError::OutsideTolerance { age_secs: i64::MAX }
        );
        stale(i64::MIN, NOW);
        stale(i64::MAX, -1);
        stale(i64::MIN, i64::MAX);
        stale(i64::MAX, i64::MIN);
    }
}
