//! The organisation tree everything is scoped by: the city society (市红十字会)
//! at the root, district/county branches under it, grassroots units under
//! those. A child is always exactly one level below its parent, and its kind
//! must suit its level. Codes are unique, 1–32 of `A–Z a–z 0–9 -`.

use crate::ids::OrgId;
use crate::validation::{optional_text, required_text, FieldErrors};
use serde::{Deserialize, Serialize};

/// The level of an organisation in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgLevel {
    City,
    District,
    Unit,
}

impl OrgLevel {
    pub const ALL: [OrgLevel; 3] = [OrgLevel::City, OrgLevel::District, OrgLevel::Unit];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgLevel::City => "city",
            OrgLevel::District => "district",
            OrgLevel::Unit => "unit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The level a child of this one has, if any.
    pub fn child(self) -> Option<OrgLevel> {
        match self {
            OrgLevel::City => Some(OrgLevel::District),
            OrgLevel::District => Some(OrgLevel::Unit),
            OrgLevel::Unit => None,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            OrgLevel::City => "市级",
            OrgLevel::District => "区县",
            OrgLevel::Unit => "基层组织",
        }
    }
}

/// What kind of body an organisation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Society,
    District,
    County,
    Community,
    Village,
    School,
    University,
    Enterprise,
    Hospital,
    Government,
    SocialOrganisation,
}

impl OrgKind {
    pub const ALL: [OrgKind; 11] = [
        OrgKind::Society,
        OrgKind::District,
        OrgKind::County,
        OrgKind::Community,
        OrgKind::Village,
        OrgKind::School,
        OrgKind::University,
        OrgKind::Enterprise,
        OrgKind::Hospital,
        OrgKind::Government,
        OrgKind::SocialOrganisation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Society => "society",
            OrgKind::District => "district",
            OrgKind::County => "county",
            OrgKind::Community => "community",
            OrgKind::Village => "village",
            OrgKind::School => "school",
            OrgKind::University => "university",
            OrgKind::Enterprise => "enterprise",
            OrgKind::Hospital => "hospital",
            OrgKind::Government => "government",
            OrgKind::SocialOrganisation => "social_organisation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            OrgKind::Society => "红十字会",
            OrgKind::District => "区",
            OrgKind::County => "县",
            OrgKind::Community => "社区",
            OrgKind::Village => "村",
            OrgKind::School => "学校",
            OrgKind::University => "高校",
            OrgKind::Enterprise => "企业",
            OrgKind::Hospital => "医院",
            OrgKind::Government => "机关",
            OrgKind::SocialOrganisation => "社会组织",
        }
    }

    /// The level this kind of body sits at.
    pub fn level(self) -> OrgLevel {
        match self {
            OrgKind::Society => OrgLevel::City,
            OrgKind::District | OrgKind::County => OrgLevel::District,
            _ => OrgLevel::Unit,
        }
    }
}

/// The raw fields of a new organisation, as typed by a user.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrgInput {
    pub name: Option<String>,
    pub code: Option<String>,
    pub parent_id: Option<String>,
    pub level: Option<String>,
    pub kind: Option<String>,
}

/// A validated new organisation (its parent still to be checked against the
/// tree, see [`check_parent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgForCreate {
    pub name: String,
    pub code: Option<String>,
    pub parent_id: OrgId,
    pub level: OrgLevel,
    pub kind: OrgKind,
}

impl OrgForCreate {
    /// Validates every field, collecting all broken rules.
    pub fn parse(input: &OrgInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = required_text(&mut errors, "name", "名称", input.name.as_deref(), 100);
        let code = optional_text(&mut errors, "code", "代码", input.code.as_deref(), 32);
        if let Some(code) = &code {
            if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                errors.add("code", "代码只能包含字母、数字和连字符");
            }
        }
        let parent_id = match input.parent_id.as_deref().map(str::trim) {
            None | Some("") => {
                errors.add("parent_id", "请选择上级组织");
                None
            }
            Some(raw) => match raw.parse::<OrgId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.add("parent_id", "上级组织编号格式不正确");
                    None
                }
            },
        };
        let level = match input.level.as_deref().map(str::trim) {
            None | Some("") => {
                errors.add("level", "请选择层级");
                None
            }
            Some(raw) => match OrgLevel::parse(raw) {
                Some(OrgLevel::City) => {
                    errors.add("level", "不能新建市级组织");
                    None
                }
                Some(level) => Some(level),
                None => {
                    errors.add("level", "层级应为 district 或 unit");
                    None
                }
            },
        };
        let kind = match input.kind.as_deref().map(str::trim) {
            None | Some("") => {
                errors.add("kind", "请选择类型");
                None
            }
            Some(raw) => match OrgKind::parse(raw) {
                Some(kind) => Some(kind),
                None => {
                    errors.add("kind", "类型无效");
                    None
                }
            },
        };
        if let (Some(level), Some(kind)) = (level, kind) {
            if kind.level() != level {
                errors.add(
                    "kind",
                    format!("{}不能作为{}组织的类型", kind.label_zh(), level.label_zh()),
                );
            }
        }
        match (name, parent_id, level, kind) {
            (Some(name), Some(parent_id), Some(level), Some(kind)) if errors.is_empty() => Ok(OrgForCreate {
                name,
                code,
                parent_id,
                level,
                kind,
            }),
            _ => Err(errors),
        }
    }
}

/// Checks that a new organisation of `level` may sit under a parent of
/// `parent_level`.
pub fn check_parent(parent_level: OrgLevel, level: OrgLevel) -> Result<(), FieldErrors> {
    if parent_level.child() == Some(level) {
        Ok(())
    } else {
        let mut errors = FieldErrors::new();
        errors.add(
            "parent_id",
            format!("{}组织不能设在{}组织之下", level.label_zh(), parent_level.label_zh()),
        );
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> OrgInput {
        OrgInput {
            name: Some("燕山街道社区".into()),
            code: Some("LX-001".into()),
            parent_id: Some(OrgId::new().to_string()),
            level: Some("unit".into()),
            kind: Some("community".into()),
        }
    }

    #[test]
    fn accepts_a_valid_unit() {
        let org = OrgForCreate::parse(&input());
        assert!(matches!(
            org,
            Ok(OrgForCreate {
                level: OrgLevel::Unit,
                kind: OrgKind::Community,
                ..
            })
        ));
    }

    #[test]
    fn collects_every_missing_field() {
        let errors = OrgForCreate::parse(&OrgInput::default()).err().unwrap_or_default();
        for field in ["name", "parent_id", "level", "kind"] {
            assert!(errors.for_field(field).is_some(), "{field}");
        }
    }

    #[test]
    fn rejects_kind_that_does_not_fit_level() {
        let mut bad = input();
        bad.kind = Some("county".into());
        let errors = OrgForCreate::parse(&bad).err().unwrap_or_default();
        assert!(errors.for_field("kind").is_some());
    }

    #[test]
    fn rejects_bad_code_and_city_level() {
        let mut bad = input();
        bad.code = Some("a b".into());
        bad.level = Some("city".into());
        let errors = OrgForCreate::parse(&bad).err().unwrap_or_default();
        assert!(errors.for_field("code").is_some());
        assert!(errors.for_field("level").is_some());
    }

    #[test]
    fn children_sit_one_level_down() {
        assert!(check_parent(OrgLevel::City, OrgLevel::District).is_ok());
        assert!(check_parent(OrgLevel::District, OrgLevel::Unit).is_ok());
        assert!(check_parent(OrgLevel::City, OrgLevel::Unit).is_err());
        assert!(check_parent(OrgLevel::Unit, OrgLevel::Unit).is_err());
    }
}

/// An organisation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Org {
    pub id: OrgId,
    pub code: String,
    pub name: String,
    pub level: OrgLevel,
    pub kind: OrgKind,
    pub parent_id: Option<OrgId>,
    /// Materialised path of ids; see [`crate::scope`].
    #[serde(skip)]
    pub path: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Org {
    /// Depth in the tree: 0 for the city.
    pub fn depth(&self) -> usize {
        crate::scope::depth(&self.path)
    }
}
