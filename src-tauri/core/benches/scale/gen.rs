//! A shop's Stripe event stream, as webhook bodies: many customers (one per 200 events), who
//! sign up, buy through Checkout, subscribe and renew monthly, fail a payment now and then,
//! get refunds, change their phone or (rarely) their email, and dispute a charge; guest
//! checkouts (an email, no customer); payouts and catalogue updates with nobody in them. A few
//! heavy subjects (business customers with thousands of renewals) and one light one (exactly
//! 10 events) for the data subject requests. Deterministic (a seeded xorshift).
//!
//! The bodies are Stripe-shaped (the fields Stripe sends, personal data where Stripe puts it,
//! plus fields the allow-list drops), so that parsing and minimising keep what they would
//! keep of real events.

use std::fmt::Write as _;

pub const LIGHT_EMAIL: &str = "light.subject@example.org";

/// The heavy subjects' emails and how many events each gets (scaled down for small logs).
pub fn heavy(n: u64) -> Vec<(String, u64)> {
    let cap = (n / 20).max(10);
    [10_000u64, 10_000, 3_000]
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("heavy{i}.buyer@business.example"), (*t).min(cap)))
        .collect()
}

const FIRST: &[&str] = &[
    "Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Greta", "Hugo", "Inès", "Jonas", "Karin",
    "Léo", "Maya", "Nils", "Olga", "Paul", "Quentin", "Rosa", "Sami", "Théa", "Ugo", "Vera", "Wim",
    "Xavier", "Yasmin", "Zoé", "Anna", "Ben", "Clara", "Dario",
];
const LAST: &[&str] = &[
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "Andre", "Mercier", "Dupont", "Lambert", "Bonnet",
    "Francois", "Martinez", "Legrand", "Schmidt", "Müller", "Rossi", "Jansen",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Lyon", "69002", "FR"),
    ("Paris", "75011", "FR"),
    ("Berlin", "10115", "DE"),
    ("Amsterdam", "1012", "NL"),
    ("Milano", "20121", "IT"),
    ("Bruxelles", "1000", "BE"),
    ("Wien", "1010", "AT"),
    ("Madrid", "28004", "ES"),
];
const STREETS: &[&str] = &[
    "rue de la République",
    "Hauptstraße",
    "Keizersgracht",
    "Via Roma",
    "avenue Louise",
    "Calle Mayor",
];

pub struct Body {
    pub json: String,
    pub occurred_at: i64,
}

struct Customer {
    /// The current email's generation (an email change makes a new address).
    email_gen: u32,
    subscribed: bool,
    /// The last order's number (its charge and payment intent ids derive from it).
    last_order: u64,
    events: u64,
}

pub struct Gen {
    rng: u64,
    n: u64,
    k: u64,
    start_s: i64,
    span_s: i64,
    customers: Vec<Customer>,
    /// Customers 0..heavy.len() are heavy, the next one light; regular ones from there.
    heavy: Vec<(String, u64)>,
    introduced: usize,
    orders: u64,
    invoices: u64,
    light_done: u32,
    prefix: &'static str,
}

const LIGHT: usize = 3;
const FIRST_REGULAR: usize = 4;

impl Gen {
    /// `n` events between `start_s` and `start_s + span_s` (unix seconds).
    pub fn new(n: u64, start_s: i64, span_s: i64, seed: u64, prefix: &'static str) -> Gen {
        let count = FIRST_REGULAR + (n / 200).max(50) as usize;
        Gen {
            rng: seed | 1,
            n,
            k: 0,
            start_s,
            span_s,
            customers: (0..count)
                .map(|_| Customer {
                    email_gen: 0,
                    subscribed: false,
                    last_order: 0,
                    events: 0,
                })
                .collect(),
            heavy: heavy(n),
            introduced: FIRST_REGULAR,
            orders: 0,
            invoices: 0,
            light_done: 0,
            prefix,
        }
    }

    /// Makes (and drops) the first `n` events, as a fill would have: the stream then goes on
    /// where a fill of `n` left it.
    pub fn skip(&mut self, n: u64) {
        let mut out = Vec::new();
        let mut made = 0;
        while made < n {
            out.clear();
            self.episode(&mut out);
            made += out.len() as u64;
        }
    }

    pub fn customers(&self) -> usize {
        self.customers.len()
    }

    fn next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// The time of the next event, unix seconds (events arrive in order).
    fn now_s(&self) -> i64 {
        self.start_s + (self.k as i128 * self.span_s as i128 / self.n.max(1) as i128) as i64
    }

    pub fn email(&self, c: usize) -> String {
        if c < LIGHT {
            return self.heavy[c].0.clone();
        }
        if c == LIGHT {
            return LIGHT_EMAIL.into();
        }
        let (f, l) = self.name_parts(c);
        let g = self.customers[c].email_gen;
        let f = f.to_lowercase().replace(['é', 'è'], "e").replace('ï', "i");
        let l = l.to_lowercase().replace('ü', "u");
        match g {
            0 => format!("{f}.{l}{c}@example.com"),
            g => format!("{f}.{l}{c}.{g}@mail.example.net"),
        }
    }

    fn name_parts(&self, c: usize) -> (&'static str, &'static str) {
        let h = (c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (
            FIRST[(h % FIRST.len() as u64) as usize],
            LAST[((h >> 20) % LAST.len() as u64) as usize],
        )
    }

    pub fn name(&self, c: usize) -> String {
        let (f, l) = self.name_parts(c);
        format!("{f} {l}")
    }

    pub fn customer_id(c: usize) -> String {
        format!("cus_{:014X}", c as u64 * 7_919 + 1_000_003)
    }

    fn address(&self, c: usize) -> String {
        let (city, zip, country) = CITIES[c % CITIES.len()];
        let street = STREETS[(c / 7) % STREETS.len()];
        format!(
            r#"{{"city":"{city}","country":"{country}","line1":"{} {street}","line2":null,"postal_code":"{zip}","state":null}}"#,
            c % 180 + 1
        )
    }

    /// The next episode's events (one to six), in order.
    pub fn episode(&mut self, out: &mut Vec<Body>) {
        let progress = self.k as f64 / self.n.max(1) as f64;
        // The light subject: signs up at 30 %, orders twice, updates a phone number.
        let light_at = [0.3, 0.4, 0.6, 0.8];
        if (self.light_done as usize) < light_at.len()
            && progress >= light_at[self.light_done as usize]
        {
            let step = self.light_done;
            self.light_done += 1;
            return match step {
                0 => self.customer_event(LIGHT, "customer.created", out),
                3 => self.customer_event(LIGHT, "customer.updated", out),
                _ => self.order(Some(LIGHT), out),
            };
        }
        for h in 0..self.heavy.len() {
            let target = self.heavy[h].1;
            let got = self.customers[h].events;
            if got == 0 && progress > 0.01 * h as f64 {
                return self.customer_event(h, "customer.created", out);
            }
            if got > 0 && got + 6 <= target && (got as f64) < target as f64 * progress {
                return if self.chance(150) {
                    self.order(Some(h), out)
                } else {
                    self.renewal(h, out)
                };
            }
        }
        // New customers join until 80 % of the time span; each signs up first.
        let want = FIRST_REGULAR
            + ((self.customers.len() - FIRST_REGULAR) as f64 * (progress * 1.25).min(1.0)).ceil()
                as usize;
        if self.introduced < want.min(self.customers.len()) {
            let c = self.introduced;
            self.introduced += 1;
            // Stripe delivers out of order: now and then a first order arrives before the
            // customer's own event (its events wait `unlinked`, then are linked).
            if self.chance(30) {
                self.order(Some(c), out);
            }
            return self.customer_event(c, "customer.created", out);
        }
        if self.introduced == FIRST_REGULAR {
            return self.no_subject(out);
        }
        let roll = self.below(1000);
        let span = (self.introduced - FIRST_REGULAR) as u64;
        let c = FIRST_REGULAR + self.below(span) as usize;
        match roll {
            0..=329 => {
                // A guest checkout one time in ten: an email, no customer object.
                if self.chance(100) {
                    self.order(None, out)
                } else {
                    self.order(Some(c), out)
                }
            }
            330..=729 => {
                if self.customers[c].subscribed {
                    self.renewal(c, out)
                } else {
                    self.customers[c].subscribed = true;
                    self.subscription(c, "customer.subscription.created", out)
                }
            }
            730..=779 => self.failed_payment(c, out),
            780..=819 => self.refund(c, out),
            820..=879 => self.customer_event(c, "customer.updated", out),
            880..=929 => self.subscription(c, "customer.subscription.updated", out),
            930..=934 => self.dispute(c, out),
            935..=939 => {
                // A payment for a customer this app never hears about: stays `unlinked`.
                let stranger = self.customers.len() + self.below(1_000) as usize;
                let order = self.orders + 1;
                let pi =
                    self.payment_intent(Some(stranger), order, "requires_payment_method", None);
                self.push(None, "payment_intent.created", pi, None, out)
            }
            _ => self.no_subject(out),
        }
    }

    fn push(
        &mut self,
        c: Option<usize>,
        ty: &str,
        object: String,
        previous: Option<String>,
        out: &mut Vec<Body>,
    ) {
        let created = self.now_s();
        self.k += 1;
        if let Some(c) = c {
            self.customers[c].events += 1;
        }
        let mut json = String::with_capacity(object.len() + 400);
        let _ = write!(
            json,
            r#"{{"id":"{}{:020}","object":"event","api_version":"2025-10-29.clover","created":{created},"livemode":false,"type":"{ty}","pending_webhooks":1,"request":{{"id":"req_{:014}","idempotency_key":"{:08x}-{:04x}"}},"data":{{"object":{object}"#,
            self.prefix,
            self.k,
            self.k * 13,
            self.k,
            self.k % 65_536
        );
        if let Some(p) = previous {
            let _ = write!(json, r#","previous_attributes":{p}"#);
        }
        json.push_str("}}");
        randomise_ids(&mut json);
        out.push(Body {
            json,
            occurred_at: created * 1000,
        });
    }

    fn customer_event(&mut self, c: usize, ty: &str, out: &mut Vec<Body>) {
        let mut previous = None;
        if ty == "customer.updated" {
            if c >= FIRST_REGULAR && self.chance(80) {
                let old = self.email(c);
                self.customers[c].email_gen += 1;
                previous = Some(format!(r#"{{"email":"{old}"}}"#));
            } else {
                previous = Some(format!(
                    r#"{{"phone":"+3361234{:04}"}}"#,
                    self.below(10_000)
                ));
            }
        }
        let t = self.now_s();
        let object = format!(
            r#"{{"id":"{}","object":"customer","address":{},"balance":0,"created":{t},"currency":"eur","default_source":null,"delinquent":false,"description":null,"discount":null,"email":"{}","invoice_prefix":"{:08X}","invoice_settings":{{"custom_fields":null,"default_payment_method":null,"footer":null}},"livemode":false,"metadata":{{}},"name":"{}","phone":"+336{:08}","preferred_locales":["fr"],"shipping":null,"tax_exempt":"none","test_clock":null}}"#,
            Self::customer_id(c),
            self.address(c),
            self.email(c),
            c * 31 + 7,
            self.name(c),
            c * 97 % 100_000_000
        );
        self.push(Some(c), ty, object, previous, out);
    }

    fn subscription(&mut self, c: usize, ty: &str, out: &mut Vec<Body>) {
        let t = self.now_s();
        let object = format!(
            r#"{{"id":"sub_{:024}","object":"subscription","cancel_at":null,"cancel_at_period_end":false,"canceled_at":null,"collection_method":"charge_automatically","created":{t},"currency":"eur","customer":"{}","ended_at":null,"items":{{"object":"list","data":[{{"id":"si_{:014}","price":{{"id":"price_1PrintClubMonthly","unit_amount":1900,"recurring":{{"interval":"month"}}}},"quantity":1}}]}},"latest_invoice":"in_{:024}","start_date":{t},"status":"active"}}"#,
            c,
            Self::customer_id(c),
            c,
            self.invoices
        );
        self.push(Some(c), ty, object, None, out);
    }

    fn charge(
        &self,
        c: Option<usize>,
        order: u64,
        status: &str,
        refunded: bool,
        (email, name, address): (&str, &str, &str),
    ) -> String {
        let t = self.now_s();
        let customer = c.map_or("null".to_owned(), |c| {
            format!("\"{}\"", Self::customer_id(c))
        });
        let amount = 1500 + order % 40 * 250;
        format!(
            r#"{{"id":"ch_{order:024}","object":"charge","amount":{amount},"amount_captured":{},"amount_refunded":{},"balance_transaction":"txn_{order:024}","billing_details":{{"address":{address},"email":"{email}","name":"{name}","phone":null,"tax_id":null}},"calculated_statement_descriptor":"FERNHILL PRINTS","captured":true,"created":{t},"currency":"eur","customer":{customer},"description":"Order FP-{order}","disputed":false,"failure_code":{},"livemode":false,"metadata":{{"order_id":"FP-{order}"}},"outcome":{{"network_status":"approved_by_network","reason":null,"risk_level":"normal","seller_message":"Payment complete.","type":"authorized"}},"paid":{},"payment_intent":"pi_{order:024}","payment_method":"pm_{order:024}","payment_method_details":{{"card":{{"brand":"visa","country":"FR","exp_month":4,"exp_year":2029,"fingerprint":"Sr{:014X}","funding":"credit","last4":"{:04}"}},"type":"card"}},"receipt_email":"{email}","refunded":{refunded},"status":"{status}"}}"#,
            if status == "succeeded" { amount } else { 0 },
            if refunded { amount } else { 0 },
            if status == "failed" {
                "\"card_declined\""
            } else {
                "null"
            },
            status == "succeeded",
            order * 131,
            order % 10_000
        )
    }

    fn payment_intent(
        &self,
        c: Option<usize>,
        order: u64,
        status: &str,
        email: Option<&str>,
    ) -> String {
        let t = self.now_s();
        let customer = c.map_or("null".to_owned(), |c| {
            format!("\"{}\"", Self::customer_id(c))
        });
        let amount = 1500 + order % 40 * 250;
        let receipt = email.map_or("null".to_owned(), |e| format!("\"{e}\""));
        let error = if status == "requires_payment_method" {
            r#"{"code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}"#
        } else {
            "null"
        };
        format!(
            r#"{{"id":"pi_{order:024}","object":"payment_intent","amount":{amount},"amount_received":{},"canceled_at":null,"capture_method":"automatic","client_secret":"pi_{order:024}_secret_x","created":{t},"currency":"eur","customer":{customer},"description":"Order FP-{order}","last_payment_error":{error},"latest_charge":"ch_{order:024}","livemode":false,"metadata":{{"order_id":"FP-{order}"}},"payment_method":"pm_{order:024}","payment_method_types":["card"],"receipt_email":{receipt},"status":"{status}"}}"#,
            if status == "succeeded" { amount } else { 0 },
        )
    }

    fn order(&mut self, c: Option<usize>, out: &mut Vec<Body>) {
        self.orders += 1;
        let order = self.orders;
        let (email, name, address) = match c {
            Some(c) => {
                self.customers[c].last_order = order;
                (self.email(c), self.name(c), self.address(c))
            }
            None => {
                let g = self.below((self.customers.len() / 2) as u64 + 1) as usize;
                (
                    format!("guest{g}@shopper.example"),
                    self.name(g + 100_000),
                    self.address(g),
                )
            }
        };
        let t = self.now_s();
        let customer = c.map_or("null".to_owned(), |c| {
            format!("\"{}\"", Self::customer_id(c))
        });
        let amount = 1500 + order % 40 * 250;
        let session = format!(
            r#"{{"id":"cs_test_{order:058}","object":"checkout.session","amount_subtotal":{amount},"amount_total":{amount},"created":{t},"currency":"eur","customer":{customer},"customer_details":{{"address":{address},"email":"{email}","name":"{name}","phone":null,"tax_exempt":"none","tax_ids":[]}},"invoice":null,"livemode":false,"metadata":{{"order_id":"FP-{order}"}},"mode":"payment","payment_intent":"pi_{order:024}","payment_status":"paid","status":"complete","subscription":null,"success_url":"https://shop.example/thanks"}}"#
        );
        self.push(c, "checkout.session.completed", session, None, out);
        let pi = self.payment_intent(c, order, "requires_payment_method", None);
        self.push(c, "payment_intent.created", pi, None, out);
        let pi = self.payment_intent(c, order, "succeeded", Some(&email));
        self.push(c, "payment_intent.succeeded", pi, None, out);
        let ch = self.charge(c, order, "succeeded", false, (&email, &name, &address));
        self.push(c, "charge.succeeded", ch, None, out);
    }

    fn invoice(&self, c: usize, number: u64, status: &str) -> String {
        let t = self.now_s();
        let paid = if status == "paid" { 1900 } else { 0 };
        format!(
            r#"{{"id":"in_{number:024}","object":"invoice","account_country":"FR","amount_due":1900,"amount_paid":{paid},"amount_remaining":{},"billing_reason":"subscription_cycle","collection_method":"charge_automatically","created":{t},"currency":"eur","customer":"{}","customer_address":{},"customer_email":"{}","customer_name":"{}","customer_phone":null,"due_date":null,"hosted_invoice_url":"https://invoice.stripe.com/i/acct_1/test_{number}","lines":{{"object":"list","data":[{{"id":"il_{number:024}","amount":1900,"description":"1 × Print club (monthly)"}}]}},"number":"{:08X}-{:04}","parent":{{"subscription_details":{{"subscription":"sub_{c:024}"}},"type":"subscription_details"}},"period_end":{t},"period_start":{},"status":"{status}","total":1900}}"#,
            1900 - paid,
            Self::customer_id(c),
            self.address(c),
            self.email(c),
            self.name(c),
            c * 31 + 7,
            number % 10_000,
            t - 30 * 86_400
        )
    }

    fn renewal(&mut self, c: usize, out: &mut Vec<Body>) {
        self.invoices += 1;
        self.orders += 1;
        let (n, order) = (self.invoices, self.orders);
        self.customers[c].last_order = order;
        let (email, name, address) = (self.email(c), self.name(c), self.address(c));
        for (ty, st) in [("invoice.created", "draft"), ("invoice.finalized", "open")] {
            let inv = self.invoice(c, n, st);
            self.push(Some(c), ty, inv, None, out);
        }
        let pi = self.payment_intent(Some(c), order, "succeeded", None);
        self.push(Some(c), "payment_intent.succeeded", pi, None, out);
        let ch = self.charge(
            Some(c),
            order,
            "succeeded",
            false,
            (&email, &name, &address),
        );
        self.push(Some(c), "charge.succeeded", ch, None, out);
        for ty in ["invoice.paid", "invoice.payment_succeeded"] {
            let inv = self.invoice(c, n, "paid");
            self.push(Some(c), ty, inv, None, out);
        }
    }

    fn failed_payment(&mut self, c: usize, out: &mut Vec<Body>) {
        self.orders += 1;
        self.invoices += 1;
        let (order, n) = (self.orders, self.invoices);
        let (email, name, address) = (self.email(c), self.name(c), self.address(c));
        let pi = self.payment_intent(Some(c), order, "requires_payment_method", None);
        self.push(Some(c), "payment_intent.payment_failed", pi, None, out);
        let ch = self.charge(Some(c), order, "failed", false, (&email, &name, &address));
        self.push(Some(c), "charge.failed", ch, None, out);
        let inv = self.invoice(c, n, "open");
        self.push(Some(c), "invoice.payment_failed", inv, None, out);
    }

    fn refund(&mut self, c: usize, out: &mut Vec<Body>) {
        let order = self.customers[c].last_order;
        if order == 0 {
            return self.customer_event(c, "customer.updated", out);
        }
        let (email, name, address) = (self.email(c), self.name(c), self.address(c));
        let ch = self.charge(Some(c), order, "succeeded", true, (&email, &name, &address));
        self.push(Some(c), "charge.refunded", ch, None, out);
        let t = self.now_s();
        let re = format!(
            r#"{{"id":"re_{order:024}","object":"refund","amount":{},"balance_transaction":"txn_re_{order:020}","charge":"ch_{order:024}","created":{t},"currency":"eur","metadata":{{}},"payment_intent":"pi_{order:024}","reason":"requested_by_customer","status":"succeeded"}}"#,
            1500 + order % 40 * 250
        );
        // A refund names no customer: found through its charge.
        self.push(Some(c), "refund.created", re, None, out);
    }

    fn dispute(&mut self, c: usize, out: &mut Vec<Body>) {
        let order = self.customers[c].last_order;
        if order == 0 {
            return self.no_subject(out);
        }
        let t = self.now_s();
        let dp = format!(
            r#"{{"id":"dp_{order:024}","object":"dispute","amount":{},"charge":"ch_{order:024}","created":{t},"currency":"eur","evidence":{{"customer_email_address":null,"customer_name":null,"product_description":null}},"is_charge_refundable":false,"livemode":false,"metadata":{{}},"payment_intent":"pi_{order:024}","reason":"fraudulent","status":"needs_response"}}"#,
            1500 + order % 40 * 250
        );
        self.push(Some(c), "charge.dispute.created", dp, None, out);
    }

    fn no_subject(&mut self, out: &mut Vec<Body>) {
        let t = self.now_s();
        let k = self.k;
        if self.chance(500) {
            let po = format!(
                r#"{{"id":"po_{k:024}","object":"payout","amount":{},"arrival_date":{},"created":{t},"currency":"eur","destination":"ba_1Bank","method":"standard","status":"paid","type":"bank_account"}}"#,
                100_000 + k % 50_000,
                t + 86_400
            );
            self.push(None, "payout.paid", po, None, out);
        } else {
            let pr = format!(
                r#"{{"id":"prod_{:014}","object":"product","active":true,"created":{t},"description":"Giclée print on cotton paper","images":[],"livemode":false,"metadata":{{}},"name":"Art print {}","updated":{t}}}"#,
                k % 300,
                k % 300
            );
            self.push(None, "product.updated", pr, None, out);
        }
    }
}

/// Stripe's ids are random base62 (`ch_3SRzkwLw7QmR2xNclOQVC6SS`), which neither SQLite nor a
/// compressor can shorten: each run of 12 or more hex digits after an `_` (the counters the
/// bodies are built from) becomes base62 digits of the same length, the same for the same
/// id wherever it appears.
fn randomise_ids(s: &mut String) {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut b = std::mem::take(s).into_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'_' {
            let run = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
                .count();
            if run >= 12 {
                // The id's kind (the letters before the `_`) and its digits name it.
                let kind_start = b[..i]
                    .iter()
                    .rposition(|c| !c.is_ascii_alphanumeric())
                    .map_or(0, |p| p + 1);
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for c in &b[kind_start..i + 1 + run] {
                    h = (h ^ u64::from(*c)).wrapping_mul(0x0100_0000_01b3);
                }
                for c in &mut b[i + 1..i + 1 + run] {
                    h ^= h >> 29;
                    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    h ^= h >> 32;
                    *c = B62[(h % 62) as usize];
                }
                i += run;
            }
        }
        i += 1;
    }
    *s = String::from_utf8(b).expect("ASCII replaced by ASCII");
}
