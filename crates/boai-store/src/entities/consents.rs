use sea_orm::entity::prelude::*;

/// A separate consent to process sensitive personal information: what for,
/// the text shown (and its version), and when it was given.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "consents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// The table of the record it belongs to (`relief_cases`).
    pub subject: String,
    pub subject_id: Uuid,
    /// `health`.
    pub purpose: String,
    pub version: String,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    /// `online` or `staff`.
    pub channel: String,
    pub given_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
