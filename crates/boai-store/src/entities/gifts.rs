use sea_orm::entity::prelude::*;

/// A gift of money or goods.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "gifts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub certificate_no: String,
    pub donor_id: Option<Uuid>,
    pub project_id: Uuid,
    pub org_id: Uuid,
    pub channel: String,
    pub amount_fen: i64,
    pub status: String,
    pub refunded_fen: i64,
    pub goods_item: Option<String>,
    pub goods_quantity: Option<i64>,
    pub goods_unit: Option<String>,
    pub goods_lot: Option<String>,
    pub goods_expires_on: Option<Date>,
    pub received_on: Date,
    pub note: Option<String>,
    pub journal_entry_id: Uuid,
    pub ledger_index: Option<i64>,
    pub commitment_salt: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
