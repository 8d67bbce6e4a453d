use sea_orm::entity::prelude::*;

/// A donor. Phone and ID number are stored encrypted (`*_enc`), searchable by
/// keyed hash (`*_hash`) and shown masked (`*_masked`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "donors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub phone_enc: Option<String>,
    pub phone_hash: Option<String>,
    pub phone_masked: Option<String>,
    pub id_card_enc: Option<String>,
    pub id_card_hash: Option<String>,
    pub id_card_masked: Option<String>,
    pub credit_code: Option<String>,
    pub public: bool,
    pub merged_into: Option<Uuid>,
    pub org_id: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
