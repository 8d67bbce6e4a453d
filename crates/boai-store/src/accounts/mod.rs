//! Accounts, sign-in, browser sessions and API tokens.
//!
//! Sign-in is the one place the store reads users without a scope (nobody is
//! acting yet); it is named for what it does. Passwords are hashed with
//! Argon2id; sessions and tokens are stored only as SHA-256 of their secret.
//! After `lockout.threshold` consecutive failures an account is locked for
//! `lockout.duration`, and even the right password is then refused.

mod token_cache;

pub(crate) use token_cache::TokenCache;
pub use token_cache::TOKEN_CACHE_TTL;

use crate::audit::{append, AuditChange};
use crate::entities::{api_tokens, orgs, sessions, users};
use crate::idempotency::Responder;
use crate::{Actor, Page, ScopedStore, Store, StoreError, StoreResult};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use boai_domain::accounts::{Permission, Role, User, UserForCreate};
use boai_domain::audit::AuditAction;
use boai_domain::ids::{ApiTokenId, OrgId, UserId};
use boai_domain::scope::Scope;
use boai_domain::validation::FieldErrors;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;

crate::scoped::org_owned!(users);

/// Hashes a password with Argon2id and a random salt.
pub fn hash_password(password: &str) -> StoreResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Corrupt(format!("password hashing failed: {e}")))
}

fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// How many failures lock an account, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub threshold: i32,
    pub duration: Duration,
}

/// What a sign-in attempt came to.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    Success(Actor),
    /// Unknown user or wrong password (never told apart).
    BadCredentials,
    Locked {
        until: DateTime<Utc>,
    },
}

/// Browser-session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

/// A live browser session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub actor: Actor,
    pub csrf_token: String,
    pub display_name: String,
}

/// How much an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAccess {
    /// GET only.
    Read,
    /// Everything the user's role allows.
    Write,
}

impl TokenAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAccess::Read => "read",
            TokenAccess::Write => "write",
        }
    }

    /// The stored form read back: anything but `read` is a write token, as
    /// it was created.
    fn from_stored(access: &str) -> TokenAccess {
        if access == "read" {
            TokenAccess::Read
        } else {
            TokenAccess::Write
        }
    }
}

/// An API token as listed to its owner (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub name: String,
    pub access: TokenAccess,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn to_token(m: api_tokens::Model) -> ApiToken {
    ApiToken {
        id: ApiTokenId(m.id),
        name: m.name,
        access: TokenAccess::from_stored(&m.access),
        created_at: m.created_at,
        expires_at: m.expires_at,
        last_used_at: m.last_used_at,
        revoked_at: m.revoked_at,
    }
}

fn to_user(m: users::Model) -> StoreResult<User> {
    Ok(User {
        id: UserId(m.id),
        role: Role::parse(&m.role).ok_or_else(|| StoreError::Corrupt(format!("role {}", m.role)))?,
        username: m.username,
        display_name: m.display_name,
        org_id: OrgId(m.org_id),
        active: m.active,
        locked_until: m.locked_until,
        created_at: m.created_at,
    })
}

/// The audit view of a user: no password hash.
fn user_audit_value(user: &User) -> StoreResult<serde_json::Value> {
    serde_json::to_value(user).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    async fn actor_for(&self, user: &users::Model, ip: Option<String>) -> StoreResult<Actor> {
        let org = orgs::Entity::find_by_id(user.org_id)
            .one(&self.read)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("user {} has no organisation", user.username)))?;
        Ok(Actor {
            user_id: Some(UserId(user.id)),
            username: user.username.clone(),
            role: Role::parse(&user.role).ok_or_else(|| StoreError::Corrupt(format!("role {}", user.role)))?,
            org_id: OrgId(org.id),
            scope: Scope {
                org_id: OrgId(org.id),
                path: org.path,
            },
            ip,
        })
    }

    /// Checks a username and password, counting failures and locking out.
    ///
    /// The attempt is counted first, atomically (`UPDATE … SET failed_logins
    /// = failed_logins + 1 … RETURNING`), and only then is the password
    /// checked: attempt number `threshold` is the last one checked, a failure
    /// there locks the account, and every attempt past it is refused without
    /// a check and locks it too, so a burst of concurrent guesses checks at
    /// most `threshold` passwords. A success resets the count (or, when
    /// attempts were counted after it, takes back only itself) and only
    /// while the account is unlocked: a locked account refuses the right
    /// password.
    /// A user name without an account is counted and locked the same way (in
    /// `throttles`) and its password checked against a dummy hash, so the
    /// answers and their timing do not tell which accounts exist.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        ip: Option<String>,
        policy: LockoutPolicy,
    ) -> StoreResult<LoginOutcome> {
        let now = self.now();
        let username = username.trim().to_ascii_lowercase();
        let unlocked = sea_orm::Condition::any()
            .add(users::Column::LockedUntil.is_null())
            .add(users::Column::LockedUntil.lte(now));
        let counted = users::Entity::update_many()
            .col_expr(
                users::Column::FailedLogins,
                Expr::col(users::Column::FailedLogins).add(1),
            )
            .filter(users::Column::Username.eq(username.as_str()))
            .filter(unlocked.clone())
            .exec_with_returning(&self.write)
            .await?;
        let Some(user) = counted.into_iter().next() else {
            let existing = users::Entity::find()
                .filter(users::Column::Username.eq(username.as_str()))
                .one(&self.write)
                .await?;
            return match existing {
                Some(user) => Ok(LoginOutcome::Locked {
                    until: user.locked_until.unwrap_or(now),
                }),
                None => self.sign_in_unknown(&username, password, policy).await,
            };
        };
        let until = now + policy.duration;
        if user.failed_logins > policy.threshold {
            self.lock_user(&user, now, until, ip).await?;
            return Ok(LoginOutcome::Locked { until });
        }
        let password_ok = self.check_password(&user.password_hash, password);
        if !password_ok || !user.active {
            if user.failed_logins >= policy.threshold {
                self.lock_user(&user, now, until, ip).await?;
                return Ok(LoginOutcome::Locked { until });
            }
            return Ok(LoginOutcome::BadCredentials);
        }
        let actor = self.actor_for(&user, ip).await?;
        let txn = self.begin_write().await?;
        // The count starts afresh only if no attempt was counted after this
        // one; otherwise only this attempt is taken back, so a success in the
        // middle of a burst gives the burst no new guesses.
        let failed = Expr::col(users::Column::FailedLogins);
        let reset = users::Entity::update_many()
            .col_expr(
                users::Column::FailedLogins,
                SimpleExpr::Case(Box::new(
                    Expr::case(failed.clone().lte(user.failed_logins), Expr::value(0)).finally(failed.sub(1)),
                )),
            )
            .col_expr(users::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(users::Column::Id.eq(user.id))
            .filter(unlocked)
            .exec(&txn)
            .await?;
        if reset.rows_affected == 0 {
            // Locked by a concurrent attempt while this one was checked.
            txn.rollback().await?;
            let until = users::Entity::find_by_id(user.id)
                .one(&self.write)
                .await?
                .and_then(|u| u.locked_until)
                .unwrap_or(until);
            return Ok(LoginOutcome::Locked { until });
        }
        append(
            &txn,
            &actor,
            now,
            AuditChange {
                action: AuditAction::Login,
                entity: "user",
                entity_id: user.id.to_string(),
                org_id: actor.org_id,
                before: None,
                after: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(LoginOutcome::Success(actor))
    }

    /// How many passwords this store has checked against a hash (a real
    /// one or the dummy), for tests and metrics.
    pub fn password_checks(&self) -> u64 {
        self.password_checks.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn check_password(&self, hash: &str, password: &str) -> bool {
        self.password_checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        verify_password(hash, password)
    }

    /// Sign-in with a user name that has no account: counted and locked
    /// like an account, the password checked against a dummy hash.
    async fn sign_in_unknown(
        &self,
        username: &str,
        password: &str,
        policy: LockoutPolicy,
    ) -> StoreResult<LoginOutcome> {
        use crate::throttle::{count, hashed_key, lock, Counted, ThrottleKind};
        let now = self.now();
        let kind = ThrottleKind::UnknownLogin.as_str();
        let key = hashed_key(username);
        let hits = match count(&self.write, kind, &key, now, None).await? {
            Counted::Locked { until } => return Ok(LoginOutcome::Locked { until }),
            Counted::Hit { hits, .. } => hits,
        };
        let until = now + policy.duration;
        let threshold = i64::from(policy.threshold);
        if hits > threshold {
            lock(&self.write, kind, &key, now, until).await?;
            return Ok(LoginOutcome::Locked { until });
        }
        // Spend the same time as a real check, so timing tells nothing.
        let _ = self.check_password(DUMMY_HASH, password);
        if hits >= threshold {
            lock(&self.write, kind, &key, now, until).await?;
            return Ok(LoginOutcome::Locked { until });
        }
        Ok(LoginOutcome::BadCredentials)
    }

    /// Locks an account after too many failures (once: a second call while
    /// it is locked changes nothing), audited.
    async fn lock_user(
        &self,
        user: &users::Model,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        ip: Option<String>,
    ) -> StoreResult<()> {
        let txn = self.begin_write().await?;
        let done = users::Entity::update_many()
            .col_expr(users::Column::FailedLogins, Expr::value(0))
            .col_expr(users::Column::LockedUntil, Expr::value(Some(until)))
            .filter(users::Column::Id.eq(user.id))
            .filter(
                sea_orm::Condition::any()
                    .add(users::Column::LockedUntil.is_null())
                    .add(users::Column::LockedUntil.lte(now)),
            )
            .exec(&txn)
            .await?;
        if done.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(());
        }
        let actor = Actor {
            user_id: None,
            username: "sign-in".to_owned(),
            role: Role::Partner,
            org_id: OrgId(user.org_id),
            scope: Scope {
                org_id: OrgId(user.org_id),
                path: String::new(),
            },
            ip,
        };
        append(
            &txn,
            &actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "user",
                entity_id: user.id.to_string(),
                org_id: OrgId(user.org_id),
                before: None,
                after: Some(serde_json::json!({
                    "locked_until": until, "reason": "failed_logins", "username": user.username,
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Starts a browser session for a signed-in user.
    pub async fn session_start(&self, secret_hash: &str, user_id: UserId, csrf_token: &str) -> StoreResult<()> {
        let now = self.now();
        sessions::Entity::insert(sessions::ActiveModel {
            id: Set(secret_hash.to_owned()),
            user_id: Set(user_id.0),
            csrf_token: Set(csrf_token.to_owned()),
            created_at: Set(now),
            last_seen_at: Set(now),
        })
        .exec_without_returning(&self.write)
        .await?;
        Ok(())
    }

    /// The live session with this secret hash; expired ones are deleted.
    pub async fn session_resolve(
        &self,
        secret_hash: &str,
        ip: Option<String>,
        policy: SessionPolicy,
    ) -> StoreResult<Option<SessionInfo>> {
        let now = self.now();
        let Some(session) = sessions::Entity::find_by_id(secret_hash.to_owned())
            .one(&self.read)
            .await?
        else {
            return Ok(None);
        };
        if now - session.last_seen_at > policy.idle || now - session.created_at > policy.absolute {
            self.session_end(secret_hash).await?;
            return Ok(None);
        }
        let Some(user) = users::Entity::find_by_id(session.user_id).one(&self.read).await? else {
            return Ok(None);
        };
        if !user.active {
            return Ok(None);
        }
        if now - session.last_seen_at > Duration::seconds(30) {
            // Best effort: a full disk or a locked database must not turn
            // every signed-in read into an error.
            if let Err(e) = sessions::Entity::update_many()
                .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
                .filter(sessions::Column::Id.eq(secret_hash))
                .exec(&self.write)
                .await
            {
                tracing::warn!(error = %e, "could not note a session's last use");
            }
        }
        let actor = self.actor_for(&user, ip).await?;
        Ok(Some(SessionInfo {
            actor,
            csrf_token: session.csrf_token,
            display_name: user.display_name,
        }))
    }

    /// Ends a session (logout).
    pub async fn session_end(&self, secret_hash: &str) -> StoreResult<()> {
        sessions::Entity::delete_by_id(secret_hash.to_owned())
            .exec(&self.write)
            .await?;
        Ok(())
    }

    /// Issues an API token for a signed-in user.
    pub async fn token_issue(
        &self,
        actor: &Actor,
        secret_hash: &str,
        name: &str,
        access: TokenAccess,
        lifetime: Duration,
    ) -> StoreResult<ApiToken> {
        let user_id = actor.user_id.ok_or(StoreError::Forbidden)?;
        let now = self.now();
        let id = ApiTokenId::new();
        let txn = self.begin_write().await?;
        api_tokens::Entity::insert(api_tokens::ActiveModel {
            id: Set(id.0),
            user_id: Set(user_id.0),
            name: Set(name.to_owned()),
            token_hash: Set(secret_hash.to_owned()),
            access: Set(access.as_str().to_owned()),
            created_at: Set(now),
            expires_at: Set(now + lifetime),
            last_used_at: Set(None),
            revoked_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        let token = api_tokens::Entity::find_by_id(id.0)
            .one(&txn)
            .await?
            .map(to_token)
            .ok_or(StoreError::NotFound)?;
        append(
            &txn,
            actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "api_token",
                entity_id: id.to_string(),
                org_id: actor.org_id,
                before: None,
                after: Some(serde_json::to_value(&token).map_err(|e| StoreError::Corrupt(e.to_string()))?),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(token)
    }

    /// The actor and access of a live token with this secret hash.
    pub async fn token_resolve(
        &self,
        secret_hash: &str,
        ip: Option<String>,
    ) -> StoreResult<Option<(Actor, TokenAccess)>> {
        let now = self.now();
        let cache = &self.token_cache;
        let found = match cache.get(secret_hash) {
            Some(found) => found,
            None => {
                let generation = cache.generation();
                let Some(found) = self.token_holder(secret_hash).await? else {
                    return Ok(None);
                };
                cache.keep(secret_hash, generation, found.clone());
                found
            }
        };
        if found.revoked_at.is_some() || found.expires_at <= now || !found.active {
            return Ok(None);
        }
        if found.last_used_at.is_none_or(|at| now - at > Duration::seconds(60)) {
            let mut used = found.clone();
            used.last_used_at = Some(now);
            cache.keep(secret_hash, cache.generation(), used);
            // Best effort, as for sessions.
            if let Err(e) = api_tokens::Entity::update_many()
                .col_expr(api_tokens::Column::LastUsedAt, Expr::value(now))
                .filter(api_tokens::Column::Id.eq(found.token_id))
                .exec(&self.write)
                .await
            {
                tracing::warn!(error = %e, "could not note a token's last use");
            }
        }
        let access = TokenAccess::from_stored(&found.access);
        let actor = Actor {
            user_id: Some(UserId(found.user_id)),
            role: Role::parse(&found.role).ok_or_else(|| StoreError::Corrupt(format!("role {}", found.role)))?,
            username: found.username,
            org_id: OrgId(found.org_id),
            scope: Scope {
                org_id: OrgId(found.org_id),
                path: found.org_path,
            },
            ip,
        };
        Ok(Some((actor, access)))
    }
}

impl Store {
    /// A token with its user and organisation, in one statement (this runs
    /// on every API request the cache cannot answer).
    async fn token_holder(&self, secret_hash: &str) -> StoreResult<Option<TokenHolder>> {
        Ok(api_tokens::Entity::find()
            .select_only()
            .column_as(api_tokens::Column::Id, "token_id")
            .column(api_tokens::Column::Access)
            .column(api_tokens::Column::ExpiresAt)
            .column(api_tokens::Column::LastUsedAt)
            .column(api_tokens::Column::RevokedAt)
            .column_as(users::Column::Id, "user_id")
            .column(users::Column::Username)
            .column(users::Column::Role)
            .column(users::Column::Active)
            .column_as(orgs::Column::Id, "org_id")
            .column_as(orgs::Column::Path, "org_path")
            .join(
                JoinType::InnerJoin,
                api_tokens::Entity::belongs_to(users::Entity)
                    .from(api_tokens::Column::UserId)
                    .to(users::Column::Id)
                    .into(),
            )
            .join(
                JoinType::InnerJoin,
                users::Entity::belongs_to(orgs::Entity)
                    .from(users::Column::OrgId)
                    .to(orgs::Column::Id)
                    .into(),
            )
            .filter(api_tokens::Column::TokenHash.eq(secret_hash))
            .into_model::<TokenHolder>()
            .one(&self.read)
            .await?)
    }
}

/// A token with its user and the user's organisation, read in one statement.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub(crate) struct TokenHolder {
    token_id: uuid::Uuid,
    access: String,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    user_id: uuid::Uuid,
    username: String,
    role: String,
    active: bool,
    org_id: uuid::Uuid,
    org_path: String,
}

/// A valid Argon2 hash of a random string, for constant-time misses.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Yl5Q3wJ3pQ0WnZ0mNpjv2m3tZ2kF0o8yJ9w3aQq7v0E";

/// Filters for listing users.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub q: Option<String>,
    pub role: Option<Role>,
}

impl ScopedStore {
    /// The actor's own API tokens.
    pub async fn tokens_list(&self) -> StoreResult<Vec<ApiToken>> {
        let user_id = self.actor.user_id.ok_or(StoreError::NotFound)?;
        let rows = api_tokens::Entity::find()
            .filter(api_tokens::Column::UserId.eq(user_id.0))
            .order_by_desc(api_tokens::Column::CreatedAt)
            .all(&self.store.read)
            .await?;
        Ok(rows.into_iter().map(to_token).collect())
    }

    /// Revokes one of the actor's own tokens.
    pub async fn token_revoke(&self, id: ApiTokenId) -> StoreResult<ApiToken> {
        let user_id = self.actor.user_id.ok_or(StoreError::NotFound)?;
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        let before = api_tokens::Entity::find_by_id(id.0)
            .filter(api_tokens::Column::UserId.eq(user_id.0))
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        if before.revoked_at.is_some() {
            return Ok(to_token(before));
        }
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::RevokedAt, Expr::value(now))
            .filter(api_tokens::Column::Id.eq(id.0))
            .exec(&txn)
            .await?;
        let after = api_tokens::Entity::find_by_id(id.0)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        let (before, after) = (to_token(before), to_token(after));
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "api_token",
                entity_id: id.to_string(),
                org_id: self.actor.org_id,
                before: serde_json::to_value(&before).ok(),
                after: serde_json::to_value(&after).ok(),
            },
        )
        .await?;
        txn.commit().await?;
        self.store.token_cache.forget_all();
        Ok(after)
    }

    /// Users in scope.
    pub async fn users_list(&self, filter: &UserFilter, page: Page) -> StoreResult<(Vec<User>, u64)> {
        self.actor.require(Permission::ViewUsers)?;
        let mut query = self.select::<users::Entity>();
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            query = query.filter(
                sea_orm::Condition::any()
                    .add(users::Column::Username.contains(q))
                    .add(users::Column::DisplayName.contains(q)),
            );
        }
        if let Some(role) = filter.role {
            query = query.filter(users::Column::Role.eq(role.as_str()));
        }
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_asc(users::Column::Username)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        let items = rows.into_iter().map(to_user).collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total))
    }

    /// Creates an account in an organisation within scope.
    pub async fn user_create(
        &self,
        input: UserForCreate,
        idempotency: Option<Responder<'_, User>>,
    ) -> StoreResult<User> {
        self.actor.require(Permission::ManageUsers)?;
        let password_hash = hash_password(&input.password)?;
        let txn = self.store.begin_write().await?;
        if self.org_in_scope(&txn, input.org_id).await?.is_none() {
            let mut errors = FieldErrors::new();
            errors.add("org_id", "所属组织不存在或不在您的管辖范围内");
            return Err(errors.into());
        }
        let user = insert_user(&txn, &input, &password_hash, self.store.now())
            .await
            .map_err(|e| e.conflict_on("username", "该用户名已被使用"))?;
        append(
            &txn,
            &self.actor,
            user.created_at,
            AuditChange {
                action: AuditAction::Create,
                entity: "user",
                entity_id: user.id.to_string(),
                org_id: user.org_id,
                before: None,
                after: Some(user_audit_value(&user)?),
            },
        )
        .await?;
        if let Some((claim, render)) = idempotency {
            self.idempotency_record(&txn, claim, render(&user)).await?;
        }
        txn.commit().await?;
        Ok(user)
    }
}

impl ScopedStore {
    /// Changes the caller's own password: the current one must be right and
    /// the new one must follow the password rules (422 otherwise, nothing
    /// written). Every browser session of the account ends (sign in again)
    /// and every API token of it is revoked, the one this call came with
    /// included. Audited without any hash.
    pub async fn password_change(&self, current: &str, new: &str) -> StoreResult<()> {
        let user_id = self.actor.user_id.ok_or(StoreError::Forbidden)?;
        let mut errors = FieldErrors::new();
        boai_domain::accounts::check_password(&mut errors, &self.actor.username, new);
        if current == new {
            errors.add("new_password", "新密码不能与当前密码相同");
        }
        let row = users::Entity::find_by_id(user_id.0)
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !verify_password(&row.password_hash, current) {
            errors.add("current_password", "当前密码不正确");
        }
        if !errors.is_empty() {
            // The policy speaks of `password`; this form calls it `new_password`.
            let mut renamed = FieldErrors::new();
            for e in errors.0 {
                renamed.add(
                    if e.field == "password" {
                        "new_password"
                    } else {
                        &e.field
                    },
                    e.message,
                );
            }
            return Err(renamed.into());
        }
        let hash = hash_password(new)?;
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::value(hash))
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::Id.eq(user_id.0))
            .exec(&txn)
            .await?;
        sessions::Entity::delete_many()
            .filter(sessions::Column::UserId.eq(user_id.0))
            .exec(&txn)
            .await?;
        let revoked = revoke_tokens(&txn, user_id, now).await?;
        let user = to_user(row)?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "user",
                entity_id: user.id.to_string(),
                org_id: user.org_id,
                before: None,
                after: Some(serde_json::json!({
                    "password": "changed", "sessions": "ended", "tokens_revoked": revoked,
                })),
            },
        )
        .await?;
        txn.commit().await?;
        self.store.token_cache.forget_all();
        Ok(())
    }

    /// Sets a new password for an account in scope (administrators: a
    /// reset). The password rules apply (422, nothing written); the lock and
    /// failure count are cleared, every session of the account ends and
    /// every API token of it is revoked. Audited without any hash.
    pub async fn user_set_password(&self, id: UserId, password: &str) -> StoreResult<User> {
        self.actor.require(Permission::ManageUsers)?;
        let row = users::Entity::find_by_id(id.0)
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.require_org(&self.store.read, OrgId(row.org_id)).await?;
        let mut errors = FieldErrors::new();
        boai_domain::accounts::check_password(&mut errors, &row.username, password);
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let hash = hash_password(password)?;
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::value(hash))
            .col_expr(users::Column::FailedLogins, Expr::value(0))
            .col_expr(users::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::Id.eq(id.0))
            .exec(&txn)
            .await?;
        sessions::Entity::delete_many()
            .filter(sessions::Column::UserId.eq(id.0))
            .exec(&txn)
            .await?;
        let revoked = revoke_tokens(&txn, id, now).await?;
        let user = User {
            locked_until: None,
            ..to_user(row)?
        };
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "user",
                entity_id: id.to_string(),
                org_id: user.org_id,
                before: None,
                after: Some(serde_json::json!({
                    "password": "reset", "sessions": "ended", "tokens_revoked": revoked,
                })),
            },
        )
        .await?;
        txn.commit().await?;
        self.store.token_cache.forget_all();
        Ok(user)
    }

    /// Gives an account in scope another role (administrators). The change
    /// holds from the account's next request (roles are read per request).
    pub async fn user_set_role(&self, id: UserId, role: Role) -> StoreResult<User> {
        self.actor.require(Permission::ManageUsers)?;
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        let row = users::Entity::find_by_id(id.0)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.require_org(&txn, OrgId(row.org_id)).await?;
        if Some(id) == self.actor.user_id && role != self.actor.role {
            let mut errors = FieldErrors::new();
            errors.add("role", "不能修改自己的角色");
            return Err(errors.into());
        }
        let before = to_user(row)?;
        users::Entity::update_many()
            .col_expr(users::Column::Role, Expr::value(role.as_str()))
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::Id.eq(id.0))
            .exec(&txn)
            .await?;
        let after = User { role, ..before.clone() };
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "user",
                entity_id: id.to_string(),
                org_id: after.org_id,
                before: Some(user_audit_value(&before)?),
                after: Some(user_audit_value(&after)?),
            },
        )
        .await?;
        txn.commit().await?;
        self.store.token_cache.forget_all();
        Ok(after)
    }
}

/// Revokes every live API token of a user (a password change or reset):
/// how many were revoked.
pub(crate) async fn revoke_tokens<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let done = api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::RevokedAt, Expr::value(Some(now)))
        .filter(api_tokens::Column::UserId.eq(user_id.0))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(done.rows_affected)
}

pub(crate) async fn insert_user<C: ConnectionTrait>(
    conn: &C,
    input: &UserForCreate,
    password_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    let id = UserId::new();
    users::Entity::insert(users::ActiveModel {
        id: Set(id.0),
        username: Set(input.username.clone()),
        display_name: Set(input.display_name.clone()),
        role: Set(input.role.as_str().to_owned()),
        org_id: Set(input.org_id.0),
        password_hash: Set(password_hash.to_owned()),
        failed_logins: Set(0),
        locked_until: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(User {
        id,
        username: input.username.clone(),
        display_name: input.display_name.clone(),
        role: input.role,
        org_id: input.org_id,
        active: true,
        locked_until: None,
        created_at: now,
    })
}
