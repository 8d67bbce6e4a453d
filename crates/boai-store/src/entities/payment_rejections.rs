use sea_orm::entity::prelude::*;

/// A notification refused or ignored, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "payment_rejections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider: String,
    pub notification_id: Option<String>,
    pub out_trade_no: Option<String>,
    pub reason: String,
    pub detail: String,
    pub received_at: DateTimeUtc,
    /// The owning organisation: the order's, or the city's when none is known.
    pub org_id: Option<Uuid>,
    /// How many notifications this row stands for (unverified ones are
    /// aggregated per provider, reason and day).
    pub hits: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
