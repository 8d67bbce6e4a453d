use sea_orm::entity::prelude::*;

/// A refund asked of a provider; applied when its notification arrives.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "payment_refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub out_refund_no: String,
    pub order_id: Uuid,
    pub gift_id: Uuid,
    pub org_id: Uuid,
    pub amount_fen: i64,
    pub reason: String,
    pub status: String,
    pub requested_by: String,
    pub created_at: DateTimeUtc,
    pub done_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
