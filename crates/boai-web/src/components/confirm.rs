//! The confirmation step of a money action (a refund, a relief payment, and
//! the fund operations to come): what will happen, with the amounts, before
//! anything changes. The form posts the same fields again with
//! `confirmed=1`; only then does the handler act.

use crate::pages::{render, Layout};
use askama::Template;
use axum::response::Response;

/// What a confirmation page shows and sends back.
pub struct Confirm {
    pub heading: String,
    /// What happens and that it is recorded (who, when, why).
    pub warning: String,
    /// The facts a person checks: (label, value).
    pub facts: Vec<(String, String)>,
    /// Where the confirmed form posts.
    pub action: String,
    /// The fields to send again: (name, value).
    pub fields: Vec<(String, String)>,
    pub confirm_label: String,
    /// Where 取消 leads.
    pub cancel: String,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage<'a> {
    layout: Layout,
    c: &'a Confirm,
}

impl Confirm {
    /// Whether a posted form carries the confirmation.
    pub fn given(confirmed: Option<&str>) -> bool {
        confirmed == Some("1")
    }

    pub fn render(&self, layout: Layout) -> Response {
        render(&ConfirmPage { layout, c: self })
    }
}
