//! What the public "find my gift" page (查询我的捐赠) needs beyond the
//! certificate lookup: the second factor (the donor's phone, which is stored
//! encrypted, is compared here and never leaves the store) and the salt that
//! opens the gift's commitment in the ledger, shown only once the holder has
//! proven they hold the certificate.

use crate::audit::{append, AuditChange};
use crate::entities::{donors, gifts};
use crate::throttle::{count, forgive, Counted, ThrottleKind};
use crate::{Actor, Store, StoreResult};
use boai_domain::accounts::Role;
use boai_domain::audit::AuditAction;
use boai_domain::ids::OrgId;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Find-my-gift guesses a certificate number takes in [`FIND_WINDOW_MINUTES`]
/// before further ones are refused unchecked (successes are not counted).
pub const FIND_FAILURES_PER_CERTIFICATE: i64 = 5;
/// The window of [`FIND_FAILURES_PER_CERTIFICATE`].
pub const FIND_WINDOW_MINUTES: i64 = 60;

/// A find-my-gift guess, counted before it is checked.
#[derive(Debug)]
pub enum FindAttempt {
    /// Check it; report a success with [`Store::find_gift_found`].
    Go(FindGuess),
    /// Too many failed guesses at this certificate: refused until `until`.
    Refused { until: DateTime<Utc> },
    /// No gift has this certificate number (nothing is counted).
    NoSuchGift,
}

/// A counted guess.
#[derive(Debug)]
pub struct FindGuess {
    certificate_no: String,
    since: DateTime<Utc>,
}

/// Compares two short strings without an early exit on the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Store {
    /// Counts a find-my-gift guess at a certificate number *before* its
    /// second factor is checked (one statement, so concurrent guesses each
    /// get their own number): past [`FIND_FAILURES_PER_CERTIFICATE`] in the
    /// window it is refused unchecked, whichever client asks. The first
    /// refusal of a window is written to the audit trail (the counter row is
    /// the failure log). Numbers without a gift are not counted (sequential
    /// numbers are no secret, and junk numbers must not grow a table).
    pub async fn find_gift_attempt(&self, certificate_no: &str, ip: Option<String>) -> StoreResult<FindAttempt> {
        let Some(gift) = self.gift_row(certificate_no).await? else {
            return Ok(FindAttempt::NoSuchGift);
        };
        let now = self.now();
        let window = Duration::minutes(FIND_WINDOW_MINUTES);
        let kind = ThrottleKind::FindGift.as_str();
        let (hits, since) = match count(&self.write, kind, certificate_no, now, Some(window)).await? {
            Counted::Locked { until } => return Ok(FindAttempt::Refused { until }),
            Counted::Hit { hits, since } => (hits, since),
        };
        if hits <= FIND_FAILURES_PER_CERTIFICATE {
            return Ok(FindAttempt::Go(FindGuess {
                certificate_no: certificate_no.to_owned(),
                since,
            }));
        }
        let until = since + window;
        if hits == FIND_FAILURES_PER_CERTIFICATE + 1 {
            let org = OrgId(gift.org_id);
            let actor = Actor {
                user_id: None,
                username: "public".to_owned(),
                role: Role::Partner,
                org_id: org,
                scope: boai_domain::scope::Scope {
                    org_id: org,
                    path: String::new(),
                },
                ip,
            };
            let txn = self.begin_write().await?;
            append(
                &txn,
                &actor,
                now,
                AuditChange {
                    action: AuditAction::Refuse,
                    entity: "gift_lookup",
                    entity_id: certificate_no.to_owned(),
                    org_id: org,
                    before: None,
                    after: Some(serde_json::json!({
                        "failures": FIND_FAILURES_PER_CERTIFICATE, "since": since, "refused_until": until,
                    })),
                },
            )
            .await?;
            txn.commit().await?;
        }
        Ok(FindAttempt::Refused { until })
    }

    /// A counted guess held: it is taken back, so only failures count.
    pub async fn find_gift_found(&self, guess: FindGuess) -> StoreResult<()> {
        forgive(
            &self.write,
            ThrottleKind::FindGift.as_str(),
            &guess.certificate_no,
            guess.since,
        )
        .await
    }

    async fn gift_row(&self, certificate_no: &str) -> StoreResult<Option<gifts::Model>> {
        Ok(gifts::Entity::find()
            .filter(gifts::Column::CertificateNo.eq(certificate_no))
            .one(&self.read)
            .await?)
    }

    /// Whether the donor of the gift with this certificate number has a
    /// phone number ending in `tail` (4 digits). The phone is decrypted here
    /// and neither returned nor logged; an anonymous gift, a donor without a
    /// phone or a `tail` that is not 4 digits never match.
    pub async fn gift_phone_tail_matches(&self, certificate_no: &str, tail: &str) -> StoreResult<bool> {
        if tail.len() != 4 || !tail.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(false);
        }
        let Some(donor_id) = self.gift_row(certificate_no).await?.and_then(|g| g.donor_id) else {
            return Ok(false);
        };
        let Some(sealed) = donors::Entity::find_by_id(donor_id)
            .one(&self.read)
            .await?
            .and_then(|d| d.phone_enc)
        else {
            return Ok(false);
        };
        let Some(phone) = self.secrets.decrypt(&sealed) else {
            return Ok(false);
        };
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let end = digits.get(digits.len().saturating_sub(4)..).unwrap_or_default();
        Ok(digits.len() >= 4 && same(end, tail))
    }

    /// The salt of the gift's ledger commitment (32 hex characters), for the
    /// certificate holder only: the caller must have checked a second factor.
    pub async fn gift_commitment_salt(&self, certificate_no: &str) -> StoreResult<Option<String>> {
        Ok(self.gift_row(certificate_no).await?.and_then(|g| g.commitment_salt))
    }
}
