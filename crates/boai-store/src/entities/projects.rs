use sea_orm::entity::prelude::*;

/// A fund: the general fund, the management-cost fund, or a project. Its
/// running totals are kept here, updated in the transaction of each entry.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub kind: String,
    pub designated: bool,
    pub status: String,
    pub target_fen: Option<i64>,
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
    pub org_id: Uuid,
    pub management_rate_bp: i32,
    pub raised_fen: i64,
    pub allocated_fen: i64,
    pub spent_fen: i64,
    pub refunded_fen: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
