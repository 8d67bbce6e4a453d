//! Counters of attempts (issue 24), one row per (kind, key) in `throttles`.
//!
//! An attempt is counted *before* whatever it tries is checked, in one
//! statement (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, the same on
//! SQLite and PostgreSQL), so concurrent attempts each get their own number
//! and no more than a limit of them are ever checked: a read-then-write
//! counter lets a burst through. A row may be locked until a time; a locked
//! row counts nothing and the attempt is refused unchecked.

use crate::entities::throttles;
use crate::{Store, StoreError, StoreResult};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

/// What kind of attempt a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleKind {
    /// Failed sign-ins of a user name that has no account (keyed by the
    /// SHA-256 of the name: a password typed in the wrong field is not kept).
    UnknownLogin,
    /// Find-my-gift guesses per certificate number.
    FindGift,
    /// Unverified payment notifications per provider and day.
    NotifyJunk,
}

impl ThrottleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleKind::UnknownLogin => "login",
            ThrottleKind::FindGift => "find_gift",
            ThrottleKind::NotifyJunk => "notify_junk",
        }
    }
}

/// The hex SHA-256 of a text (keys that must not be kept in clear).
pub(crate) fn hashed_key(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// One attempt, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// This attempt is number `hits` of the window that began `since`.
    Hit { hits: i64, since: DateTime<Utc> },
    /// The key is locked until `until`: not counted, refuse unchecked.
    Locked { until: DateTime<Utc> },
}

fn col(c: throttles::Column) -> Expr {
    Expr::col((throttles::Entity, c))
}

fn unlocked(now: DateTime<Utc>) -> SimpleExpr {
    col(throttles::Column::LockedUntil)
        .is_null()
        .or(col(throttles::Column::LockedUntil).lte(now))
}

/// Counts one attempt of `kind` for `key` at `now`. A window of `None`
/// never restarts by itself (only a lock's end restarts it).
pub(crate) async fn count<C: ConnectionTrait>(
    conn: &C,
    kind: &str,
    key: &str,
    now: DateTime<Utc>,
    window: Option<Duration>,
) -> StoreResult<Counted> {
    use throttles::Column as T;
    // A lock that has ended, or a window that has passed, starts afresh.
    let mut restart = col(T::LockedUntil).is_not_null();
    if let Some(w) = window {
        restart = restart.or(col(T::WindowStart).lte(now - w));
    }
    let hits = Expr::case(restart.clone(), Expr::value(1i64)).finally(col(T::Hits).add(1i64));
    let since = Expr::case(restart, Expr::value(now)).finally(col(T::WindowStart));
    let mut stmt = Query::insert();
    stmt.into_table(throttles::Entity).columns([
        T::Kind,
        T::Key,
        T::WindowStart,
        T::Hits,
        T::LockedUntil,
        T::UpdatedAt,
    ]);
    stmt.values([
        kind.into(),
        key.into(),
        now.into(),
        1i64.into(),
        Option::<DateTime<Utc>>::None.into(),
        now.into(),
    ])
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    stmt.on_conflict(
        OnConflict::columns([T::Kind, T::Key])
            .values([
                (T::Hits, SimpleExpr::Case(Box::new(hits))),
                (T::WindowStart, SimpleExpr::Case(Box::new(since))),
                (T::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None)),
                (T::UpdatedAt, Expr::value(now)),
            ])
            .action_and_where(unlocked(now))
            .to_owned(),
    )
    .returning(Query::returning().columns([T::Hits, T::WindowStart]));
    let backend = conn.get_database_backend();
    if let Some(row) = conn.query_one(backend.build(&stmt)).await? {
        let hits: i64 = row.try_get("", "hits")?;
        let since: DateTime<Utc> = row.try_get("", "window_start")?;
        return Ok(Counted::Hit { hits, since });
    }
    let until = throttles::Entity::find_by_id((kind.to_owned(), key.to_owned()))
        .one(conn)
        .await?
        .and_then(|r| r.locked_until)
        .unwrap_or(now);
    Ok(Counted::Locked { until })
}

/// Locks `key` until `until` (its count starts afresh then). `true` when
/// this call locked it, `false` when it was locked already.
pub(crate) async fn lock<C: ConnectionTrait>(
    conn: &C,
    kind: &str,
    key: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<bool> {
    let done = throttles::Entity::update_many()
        .col_expr(throttles::Column::LockedUntil, Expr::value(Some(until)))
        .col_expr(throttles::Column::Hits, Expr::value(0i64))
        .col_expr(throttles::Column::UpdatedAt, Expr::value(now))
        .filter(throttles::Column::Kind.eq(kind))
        .filter(throttles::Column::Key.eq(key))
        .filter(unlocked(now))
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Takes back one attempt of the window that began `since` (it succeeded:
/// only failures should stay counted).
pub(crate) async fn forgive<C: ConnectionTrait>(
    conn: &C,
    kind: &str,
    key: &str,
    since: DateTime<Utc>,
) -> StoreResult<()> {
    throttles::Entity::update_many()
        .col_expr(throttles::Column::Hits, col(throttles::Column::Hits).sub(1i64))
        .filter(throttles::Column::Kind.eq(kind))
        .filter(throttles::Column::Key.eq(key))
        .filter(throttles::Column::WindowStart.eq(since))
        .filter(throttles::Column::Hits.gt(0i64))
        .exec(conn)
        .await?;
    Ok(())
}

impl Store {
    /// Forgets counters untouched for longer than `age` and not locked
    /// (housekeeping; a counter that old has no window left).
    pub async fn throttles_prune(&self, age: Duration) -> StoreResult<u64> {
        let now = self.now();
        let done = throttles::Entity::delete_many()
            .filter(throttles::Column::UpdatedAt.lt(now - age))
            .filter(unlocked(now))
            .exec(&self.write)
            .await?;
        Ok(done.rows_affected)
    }
}
