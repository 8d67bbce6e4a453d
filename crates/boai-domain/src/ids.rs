//! One id type per entity, so that an organisation's id can never be passed
//! where a user's is expected. Ids are UUIDs (v7: time-ordered, index-friendly),
//! shown to the outside as strings.

/// Declares a typed UUID id.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                Self(id)
            }
        }
    };
}

typed_id!(
    /// An organisation: the city society, a district branch or a grassroots unit.
    OrgId
);
typed_id!(
    /// A staff or partner account.
    UserId
);
typed_id!(
    /// An API token.
    ApiTokenId
);
typed_id!(
    /// A fund: the general fund, the management-cost fund, or a project.
    ProjectId
);
typed_id!(
    /// A journal entry.
    JournalEntryId
);
typed_id!(
    /// A donor (person or organisation).
    DonorId
);
typed_id!(
    /// A gift of money or goods.
    GiftId
);
