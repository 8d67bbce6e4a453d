use sea_orm::entity::prelude::*;

/// An online gift waiting for (or confirmed by) its provider's notification.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "payment_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub out_trade_no: String,
    pub provider: String,
    pub project_id: Uuid,
    pub org_id: Uuid,
    pub amount_fen: i64,
    pub currency: String,
    pub description: String,
    pub donor_kind: Option<String>,
    pub donor_name: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub donor_phone_enc: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub donor_id_card_enc: Option<String>,
    pub donor_credit_code: Option<String>,
    pub donor_public: bool,
    pub status: String,
    pub expires_at: DateTimeUtc,
    pub transaction_id: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
    pub gift_id: Option<Uuid>,
    pub refunded_fen: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
