//! The public ledger over HTTP, exactly as CONTRACT.md says:
//! `/ledger/checkpoint` (signed note, never cached), `/ledger/key`,
//! `/ledger/tile/<L>/<N>[.p/<W>]` and `/ledger/tile/entries/<N>[.p/<W>]`
//! (full tiles immutable, cache forever; partial ones short-lived), plus a
//! JSON inclusion proof for pages (`/api/v1/ledger/proofs/{index}`).
//! A malformed or out-of-range tile is 400/404, never a panic. A background
//! signer signs a new checkpoint within half a second of new entries and
//! keeps the newest in the data folder, where `boai ledger check` finds it.

pub mod signer;

use crate::api::ApiPath;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use boai_ledger::TilePath;
use serde::Serialize;
use utoipa::ToSchema;

fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// The newest checkpoint, signing one first if entries arrived since.
#[utoipa::path(get, path = "/ledger/checkpoint", tag = "ledger",
    responses((status = 200, description = "C2SP tlog-checkpoint as a signed note", content_type = "text/plain")))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let signed = state.store.ledger_sign(&state.ledger_signer).await?;
    Ok(text(signed.note, "no-cache"))
}

/// The verifier key (`<name>+<hash>+<base64>`).
#[utoipa::path(get, path = "/ledger/key", tag = "ledger",
    responses((status = 200, description = "signed-note verifier key", content_type = "text/plain")))]
pub async fn key(State(state): State<AppState>) -> Response {
    text(
        format!("{}\n", state.ledger_signer.verifier_key()),
        "public, max-age=300",
    )
}

/// A hash tile or entry bundle.
#[utoipa::path(get, path = "/ledger/tile/{path}", tag = "ledger",
    params(("path" = String, Path, description = "e.g. `0/x001/234`, `1/000.p/7`, `entries/000`")),
    responses((status = 200, description = "tile bytes", content_type = "application/octet-stream"),
        (status = 400, description = "malformed path"), (status = 404, description = "not in the tree")))]
pub async fn tile(State(state): State<AppState>, ApiPath(path): ApiPath<String>) -> Result<Response, ApiError> {
    let tile = TilePath::parse(&format!("tile/{path}")).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let Some(bytes) = state.store.ledger_tile(tile).await? else {
        return Err(ApiError::NotFound);
    };
    let cache = if tile.is_full() {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=5"
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        bytes,
    )
        .into_response())
}

/// An entry's inclusion proof against the newest checkpoint (the signer's
/// latest, at most half a second behind the log).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofOut {
    pub index: u64,
    pub tree_size: u64,
    /// The entry, canonical JSON.
    pub entry: String,
    /// Base64 of SHA-256(0x00 ‖ entry).
    pub leaf_hash: String,
    /// Base64 hashes of the audit path, leaf to root.
    pub path: Vec<String>,
    /// Base64 root hash the path leads to.
    pub root: String,
    /// The signed checkpoint naming that root.
    pub checkpoint: String,
    pub verifier_key: String,
}

/// The inclusion proof of ledger entry `index`.
#[utoipa::path(get, path = "/api/v1/ledger/proofs/{index}", tag = "ledger",
    params(("index" = u64, Path, description = "0-based ledger index")),
    responses((status = 200, body = ProofOut), (status = 404, description = "no such entry yet")))]
pub async fn proof(State(state): State<AppState>, ApiPath(index): ApiPath<u64>) -> Result<Json<ProofOut>, ApiError> {
    Ok(Json(proof_of(&state, index).await?))
}

pub(crate) async fn proof_of(state: &AppState, index: u64) -> Result<ProofOut, ApiError> {
    // The checkpoint the signer made last covers all but the newest half
    // second of entries; only for those is one signed (or read) now.
    let signed = match state.store.ledger_checkpoint_recent() {
        Some(recent) if index < recent.size => recent,
        _ => state.store.ledger_sign(&state.ledger_signer).await?,
    };
    if index >= signed.size {
        return Err(ApiError::NotFound);
    }
    let entry = state.store.ledger_entry(index).await?.ok_or(ApiError::NotFound)?;
    let proof = state.store.ledger_inclusion_in(index, signed.size, signed.root).await?;
    Ok(ProofOut {
        index,
        tree_size: signed.size,
        entry: String::from_utf8_lossy(&entry).into_owned(),
        leaf_hash: proof.leaf.to_base64(),
        path: proof.path.iter().map(|h| h.to_base64()).collect(),
        root: proof.root.to_base64(),
        checkpoint: signed.note,
        verifier_key: state.ledger_signer.verifier_key().to_owned(),
    })
}

/// The portal's published totals, with the ledger size they were read at.
#[utoipa::path(get, path = "/transparency/totals.json", tag = "ledger",
    responses((status = 200, description = "per-project totals and the ledger size of their snapshot")))]
pub async fn totals(State(state): State<AppState>) -> Result<Response, ApiError> {
    let totals = state.store.ledger_published_totals().await?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        Json(totals),
    )
        .into_response())
}
