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
