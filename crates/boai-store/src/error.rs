//! Store errors: what the web layer needs to pick a status, with the database
//! error kept as the cause for the log.

use boai_domain::validation::FieldErrors;
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Absent, or outside the caller's scope (the two are never told apart).
    #[error("记录不存在")]
    NotFound,
    /// The caller's role may not do this.
    #[error("无权执行此操作")]
    Forbidden,
    /// Input broke a rule that needed the database to check.
    #[error("输入有误: {0}")]
    Invalid(FieldErrors),
    /// A uniqueness or state conflict.
    #[error("{0}")]
    Conflict(String),
    /// The database could not be reached or failed.
    #[error("数据库暂不可用")]
    Unavailable(#[source] DbErr),
    /// The stored data broke an invariant (a bug or tampering).
    #[error("数据不一致: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A uniqueness conflict reported as a field error (e.g. a taken code).
    pub(crate) fn conflict_on(self, field: &str, message: &str) -> StoreError {
        match self {
            StoreError::Conflict(_) => {
                let mut errors = FieldErrors::new();
                errors.add(field, message);
                StoreError::Invalid(errors)
            }
            other => other,
        }
    }
}

impl StoreError {
    /// Whether the failure is a full disk (or a database at its size limit):
    /// writes are refused until space is freed, reads still work.
    pub fn is_storage_full(&self) -> bool {
        match self {
            StoreError::Unavailable(err) => is_storage_full(err),
            _ => false,
        }
    }

    /// A failed file operation (data folder): the service is unavailable,
    /// and a full disk is recognised as such.
    pub(crate) fn io(context: &str, err: std::io::Error) -> StoreError {
        StoreError::Unavailable(DbErr::Custom(format!("{context}: {err}")))
    }
}

/// The sqlx error inside a SeaORM error, if there is one.
fn sqlx_error(err: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    match err {
        DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

/// SQLite `SQLITE_FULL` (13), PostgreSQL `53100 disk_full`, or an I/O error
/// `ENOSPC` / quota (also when only its text survived, e.g. a group-commit
/// batch answering every gift with the COMMIT's failure).
fn is_storage_full(err: &DbErr) -> bool {
    if let Some(sea_orm::sqlx::Error::Database(db)) = sqlx_error(err) {
        if matches!(db.code().as_deref(), Some("13") | Some("53100")) {
            return true;
        }
    }
    if let Some(sea_orm::sqlx::Error::Io(io)) = sqlx_error(err) {
        if io.kind() == std::io::ErrorKind::StorageFull || io.kind() == std::io::ErrorKind::QuotaExceeded {
            return true;
        }
    }
    let text = err.to_string();
    [
        "database or disk is full",
        "No space left on device",
        "could not extend file",
        "Disk quota exceeded",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        if is_unique_violation(&err) {
            return StoreError::Conflict("记录已存在".to_owned());
        }
        StoreError::Unavailable(err)
    }
}

impl From<FieldErrors> for StoreError {
    fn from(errors: FieldErrors) -> Self {
        StoreError::Invalid(errors)
    }
}

fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}
