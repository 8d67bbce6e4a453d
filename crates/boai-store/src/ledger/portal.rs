//! What the public "find my gift" page (查询我的捐赠) needs beyond the
//! certificate lookup: the second factor (the donor's phone, which is stored
//! encrypted, is compared here and never leaves the store) and the salt that
//! opens the gift's commitment in the ledger, shown only once the holder has
//! proven they hold the certificate.

use crate::entities::{donors, gifts};
use crate::{Store, StoreResult};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Compares two short strings without an early exit on the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Store {
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
