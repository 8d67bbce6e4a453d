//! Certificate data, its signature, and the PDF.

use crate::components::certificate::{render_certificate, CertificateData};
use crate::{ApiError, AppState};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use boai_domain::capitals::fen_to_capitals;
use boai_store::fundraising::Gift;
use serde::Deserialize;

/// The public facts a certificate's QR code carries.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Claim {
    pub no: String,
    pub amount: i64,
    pub date: String,
    pub name: String,
    #[serde(default)]
    pub sig: String,
}

impl Claim {
    pub fn of(gift: &Gift) -> Claim {
        Claim {
            no: gift.certificate_no.clone(),
            amount: gift.amount.0,
            date: gift.received_on.format("%Y-%m-%d").to_string(),
            name: gift.public_name.clone(),
            sig: String::new(),
        }
    }

    fn message(&self) -> String {
        format!(
            "boai-certificate-v1|{}|{}|{}|{}",
            self.no, self.amount, self.date, self.name
        )
    }

    pub fn signed(mut self, state: &AppState) -> Claim {
        self.sig = state.store.secrets().sign(self.message().as_bytes());
        self
    }

    pub fn signature_holds(&self, state: &AppState) -> bool {
        state.store.secrets().verify(self.message().as_bytes(), &self.sig)
    }

    /// The verification address for the QR code.
    pub fn url(&self, base: &str) -> String {
        use crate::components::list::urlencode as e;
        format!(
            "{}/certificates/verify?no={}&amount={}&date={}&name={}&sig={}",
            base.trim_end_matches('/'),
            e(&self.no),
            self.amount,
            e(&self.date),
            e(&self.name),
            e(&self.sig)
        )
    }
}

/// The PDF certificate of a gift.
pub async fn pdf_response(state: &AppState, gift: &Gift) -> Result<Response, ApiError> {
    let font = state
        .certificate_font()
        .map_err(|e| ApiError::Internal(format!("certificate font: {e}")))?;
    let society = state.store.society_name().await?;
    let claim = Claim::of(gift).signed(state);
    let data = CertificateData {
        society_name: society,
        certificate_no: gift.certificate_no.clone(),
        donor_name: gift.donor_name.clone().unwrap_or_else(|| gift.public_name.clone()),
        amount_fen: if gift.goods.is_some() { 0 } else { gift.amount.0 },
        amount_capitals: fen_to_capitals(gift.amount.0),
        project_name: gift.project_name.clone(),
        date: gift.received_on,
        goods: gift.goods.as_ref().map(|g| g.describe()),
        verify_url: claim.url(&state.config.public_url),
    };
    let font_for_render = font.clone();
    let bytes = tokio::task::spawn_blocking(move || render_certificate(&data, &font_for_render))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("certificate: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"certificate-{}.pdf\"", gift.certificate_no),
            ),
        ],
        bytes,
    )
        .into_response())
}
