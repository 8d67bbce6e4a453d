use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub member_no: String,
    pub kind: String,
    pub type_code: String,
    pub name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub id_card_enc: Option<String>,
    pub id_card_hash: Option<String>,
    pub id_card_masked: Option<String>,
    pub credit_code: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub phone_enc: Option<String>,
    pub phone_masked: Option<String>,
    pub joined_on: Date,
    pub status: String,
    pub lapsed_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
