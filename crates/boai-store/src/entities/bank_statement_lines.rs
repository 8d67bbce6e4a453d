use sea_orm::entity::prelude::*;

/// One line of an imported bank statement, keyed by its 流水号.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "bank_statement_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[sea_orm(unique)]
    pub reference: String,
    pub txn_date: Date,
    pub amount_fen: i64,
    pub counterparty: String,
    pub counterparty_account: Option<String>,
    pub memo: String,
    pub layout: String,
    pub batch_id: Uuid,
    pub status: String,
    pub gift_id: Option<Uuid>,
    pub proposed_gift_id: Option<Uuid>,
    pub imported_by: String,
    pub imported_at: DateTimeUtc,
    pub reconciled_by: Option<String>,
    pub reconciled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
