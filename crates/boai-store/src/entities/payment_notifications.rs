use sea_orm::entity::prelude::*;

/// A verified provider notification that was processed (once).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "payment_notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider: String,
    pub notification_id: String,
    pub kind: String,
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub out_refund_no: Option<String>,
    pub amount_fen: i64,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
