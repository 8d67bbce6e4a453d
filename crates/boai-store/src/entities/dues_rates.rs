use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "dues_rates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub type_code: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i32,
    pub amount_fen: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
