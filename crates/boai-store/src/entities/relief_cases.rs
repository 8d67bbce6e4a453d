use sea_orm::entity::prelude::*;

/// A relief case (one application); personal numbers encrypted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "relief_cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_no: String,
    pub pseudonym: String,
    pub programme_id: Uuid,
    pub org_id: Uuid,
    pub district: String,
    pub channel: String,
    pub applicant_name: String,
    #[sea_orm(column_type = "Text")]
    pub id_enc: String,
    pub id_hash: String,
    pub id_masked: String,
    #[sea_orm(column_type = "Text")]
    pub phone_enc: String,
    pub phone_masked: String,
    pub household_size: i32,
    pub household_income_fen: i64,
    pub hardship: Option<String>,
    pub diagnosis: String,
    pub hospital: Option<String>,
    pub bank_name: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub bank_account_enc: Option<String>,
    pub bank_account_masked: Option<String>,
    pub amount_fen: i64,
    pub status: String,
    pub step: i32,
    pub step_since: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub public_reason: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub eligibility: String,
    pub lookup_hash: String,
    pub filed_by: Option<Uuid>,
    pub filed_by_name: String,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub paid_at: Option<DateTimeUtc>,
    pub journal_entry_id: Option<Uuid>,
    pub ledger_index: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
