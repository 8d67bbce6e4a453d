use sea_orm::entity::prelude::*;

/// One balanced journal entry. Never updated except to record its ledger index.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "journal_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub seq: i64,
    pub at: DateTimeUtc,
    pub kind: String,
    pub project_id: Uuid,
    pub amount_fen: i64,
    pub reverses_id: Option<Uuid>,
    pub gift_id: Option<Uuid>,
    pub counterparty: Option<String>,
    pub memo: Option<String>,
    pub decision_ref: Option<String>,
    pub org_id: Uuid,
    pub created_by: String,
    pub ledger_index: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
