//! The processing activities and processor details Privacy Desk proposes for Stripe. A DPO
//! reviews and edits them; they are a starting point, not legal advice.

use super::{ActivityFields, ProcessorDetails};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

const STRIPE_TRANSFERS: &str = "United States (Stripe, Inc. and its sub-processors)";
const STRIPE_SAFEGUARDS: &str = "EU-US Data Privacy Framework (Stripe, Inc. is certified, with \
     the UK Extension and the Swiss-US DPF); Standard Contractual Clauses (and the UK \
     Addendum) in Stripe's Data Processing Agreement";
const STRIPE_DPA: &str = "https://stripe.com/legal/dpa";
const LOCAL_SECURITY: &str = "Stripe: PCI DSS Level 1 service provider, encryption in transit \
     and at rest, access controls. Locally: webhook signatures verified (HMAC-SHA256), only an \
     allow-listed minimum of each event is kept (no card numbers), secrets in the OS keychain, \
     data on the business's own device.";

/// (default key, fields) of the proposed Stripe activities.
pub(crate) fn stripe_activities() -> Vec<(&'static str, ActivityFields)> {
    vec![
        (
            "stripe:payments",
            ActivityFields {
                business_function: "Sales and billing".into(),
                purpose: "Taking payments for orders and subscriptions".into(),
                description: "Checkout, card and other payments, invoices, refunds and \
                              disputes processed through Stripe."
                    .into(),
                lawful_basis: "Art. 6(1)(b) contract".into(),
                joint_controller: String::new(),
                data_subjects: strings(&["Customers", "Payers at checkout"]),
                data_categories: strings(&[
                    "email",
                    "name",
                    "postal_address",
                    "payment_card",
                    "transaction_history",
                ]),
                special_categories: false,
                special_categories_condition: String::new(),
                criminal_offence_data: false,
                source: "The data subject, at checkout (collected by Stripe)".into(),
                recipients: strings(&[
                    "Stripe (payment processor)",
                    "Card networks and issuing banks",
                    "Fraud prevention (Stripe Radar)",
                ]),
                transfers: STRIPE_TRANSFERS.into(),
                transfer_safeguards: STRIPE_SAFEGUARDS.into(),
                retention: "For the customer relationship, then as long as accounting and \
                            tax law requires (see accounting records); disputes: until closed."
                    .into(),
                security_measures: LOCAL_SECURITY.into(),
                dpa_link: STRIPE_DPA.into(),
                dpia_required: false,
                dpia_reference: "Screening: no high risk (no large-scale special category \
                                 data, no profiling with legal effects)."
                    .into(),
                last_review: None,
            },
        ),
        (
            "stripe:accounting",
            ActivityFields {
                business_function: "Finance".into(),
                purpose: "Keeping accounting and tax records".into(),
                description: "Invoices, payments and refunds kept as accounting records.".into(),
                lawful_basis: "Art. 6(1)(c) legal obligation (accounting and tax law)".into(),
                joint_controller: String::new(),
                data_subjects: strings(&["Customers"]),
                data_categories: strings(&[
                    "name",
                    "email",
                    "postal_address",
                    "tax_id",
                    "transaction_history",
                ]),
                special_categories: false,
                special_categories_condition: String::new(),
                criminal_offence_data: false,
                source: "Payments and invoices (Stripe)".into(),
                recipients: strings(&[
                    "Stripe (payment processor)",
                    "Accountants and auditors",
                    "Tax authorities",
                ]),
                transfers: STRIPE_TRANSFERS.into(),
                transfer_safeguards: STRIPE_SAFEGUARDS.into(),
                retention: "As accounting and tax law requires (e.g. 6 years in the UK, 10 \
                            years in France and Germany), then erased."
                    .into(),
                security_measures: LOCAL_SECURITY.into(),
                dpa_link: STRIPE_DPA.into(),
                dpia_required: false,
                dpia_reference: "Screening: no high risk.".into(),
                last_review: None,
            },
        ),
    ]
}

pub(crate) fn stripe_processor() -> ProcessorDetails {
    ProcessorDetails {
        service: "Payment processing, invoicing, fraud prevention".into(),
        contact: "Stripe Payments Europe, Ltd., 1 Grand Canal Street Lower, Dublin 2, Ireland \
                  (dpo@stripe.com)"
            .into(),
        location: "Ireland, United States".into(),
        dpa_link: STRIPE_DPA.into(),
        dpa_signed_on: None,
        transfer_safeguards: STRIPE_SAFEGUARDS.into(),
    }
}
