//! Idempotency keys for writes that create records: the same key from the same
//! user with the same body gets the first answer back and creates nothing; a
//! different body under the same key is refused. The answer is stored in the
//! same transaction as the records it describes, so a crash can never leave a
//! key without its records or records without their key.

use crate::entities::idempotency_keys;
use crate::{ScopedStore, StoreError, StoreResult};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use sha2::{Digest, Sha256};

/// A key a client sent with a write, and the hash of what it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub key: String,
    pub request_hash: String,
}

impl IdempotencyClaim {
    /// A claim for `key` over the request's method, path and body.
    pub fn new(key: &str, method: &str, path: &str, body: &[u8]) -> IdempotencyClaim {
        let mut hasher = Sha256::new();
        hasher.update(method.as_bytes());
        hasher.update([0]);
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(body);
        IdempotencyClaim {
            key: key.to_owned(),
            request_hash: hex::encode(hasher.finalize()),
        }
    }
}

/// The first answer given under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// What an earlier request under the same key says about this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prior {
    /// No earlier request: go ahead.
    None,
    /// The same request: answer this.
    Replay(StoredResponse),
    /// A different request under the same key.
    Mismatch,
}

impl ScopedStore {
    /// Looks up an earlier request under the claim's key.
    pub async fn idempotency_prior(&self, claim: &IdempotencyClaim) -> StoreResult<Prior> {
        let Some(user_id) = self.actor.user_id else {
            return Ok(Prior::None);
        };
        // A read connection sees every committed key; a key being written
        // right now is caught by the insert's conflict in the write itself.
        let found = idempotency_keys::Entity::find_by_id((user_id.0, claim.key.clone()))
            .one(&self.store.read)
            .await?;
        Ok(match found {
            None => Prior::None,
            Some(row) if row.request_hash == claim.request_hash => Prior::Replay(StoredResponse {
                status: u16::try_from(row.status).unwrap_or(500),
                body: row.body,
            }),
            Some(_) => Prior::Mismatch,
        })
    }

    /// Records the answer under the claim, inside the write's transaction.
    pub(crate) async fn idempotency_record<C: ConnectionTrait>(
        &self,
        conn: &C,
        claim: &IdempotencyClaim,
        response: StoredResponse,
    ) -> StoreResult<()> {
        let Some(row) = self.idempotency_row(claim, response) else {
            return Ok(());
        };
        record_rows(conn, vec![row]).await
    }

    /// The row recording `response` under `claim` (none for an actor that is
    /// not a user: nothing to key it by).
    pub(crate) fn idempotency_row(
        &self,
        claim: &IdempotencyClaim,
        response: StoredResponse,
    ) -> Option<idempotency_keys::ActiveModel> {
        let user_id = self.actor.user_id?;
        Some(idempotency_keys::ActiveModel {
            user_id: Set(user_id.0),
            key: Set(claim.key.clone()),
            request_hash: Set(claim.request_hash.clone()),
            status: Set(i32::from(response.status)),
            body: Set(response.body),
            created_at: Set(self.store.now()),
        })
    }
}

/// Inserts idempotency rows in one statement (group commit: a batch's keys
/// at once); a key already taken is a conflict and fails them all.
pub(crate) async fn record_rows<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<idempotency_keys::ActiveModel>,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    crate::insert::insert_chunked(conn, rows).await.map_err(|e| match e {
        StoreError::Conflict(_) => StoreError::Conflict("同一幂等键的请求正在处理或已处理".to_owned()),
        other => other,
    })
}

/// A claim together with how to render the answer to store under it, given
/// the record the write created.
pub type Responder<'a, T> = (&'a IdempotencyClaim, &'a (dyn Fn(&T) -> StoredResponse + Sync));
