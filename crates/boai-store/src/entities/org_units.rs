use sea_orm::entity::prelude::*;

/// A grassroots unit's particulars (one row per organisation at level `unit`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "org_units")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    pub credit_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub leader: Option<String>,
    pub founded_on: Option<Date>,
    pub status: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
