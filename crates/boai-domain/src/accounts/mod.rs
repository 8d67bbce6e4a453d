//! Accounts and what each role may do. A role grants permissions; where a
//! permission applies is the user's data scope (their organisation's
//! subtree), decided by the store. Passwords: 8–128 characters, at least two of
//! letters / digits / symbols, not containing the username, and not a common
//! password ([`is_common_password`]). The rules apply where a person sets a
//! password (account creation, change, reset through the UI or API); the demo
//! seeding sets `BOAI_DEMO_PASSWORD` (default `boai-demo`) as CONTRACT.md says.

use crate::validation::{required_text, FieldErrors};
use serde::{Deserialize, Serialize};

/// A user's role (PRODUCT.md, "Who uses it").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 系统管理员: accounts, roles, settings; whole city.
    Admin,
    /// 市会工作人员: fundraising, final approvals; whole city.
    CityStaff,
    /// 财务: accounts and gifts.
    Finance,
    /// 区县工作人员: everything of their branch.
    DistrictStaff,
    /// 基层操作员: their own unit.
    GrassrootsOperator,
    /// 监事/审计: every record, read-only.
    Supervisor,
    /// 合作系统: a partner system using the API.
    Partner,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::CityStaff,
        Role::Finance,
        Role::DistrictStaff,
        Role::GrassrootsOperator,
        Role::Supervisor,
        Role::Partner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::CityStaff => "city_staff",
            Role::Finance => "finance",
            Role::DistrictStaff => "district_staff",
            Role::GrassrootsOperator => "grassroots_operator",
            Role::Supervisor => "supervisor",
            Role::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::CityStaff => "市会工作人员",
            Role::Finance => "财务",
            Role::DistrictStaff => "区县工作人员",
            Role::GrassrootsOperator => "基层操作员",
            Role::Supervisor => "监事/审计",
            Role::Partner => "合作系统",
        }
    }

    /// Whether this role is granted `permission`.
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match permission {
            ViewOrgs => true,
            ManageOrgs => matches!(self, Admin | CityStaff | DistrictStaff),
            ManageUsers | ManageSettings => matches!(self, Admin),
            ViewAudit => matches!(self, Admin | Supervisor),
            ViewUsers => matches!(self, Admin | Supervisor),
            RecordGifts => matches!(self, CityStaff | Finance),
            ManageFunds => matches!(self, CityStaff | Finance),
            ManageProjects => matches!(self, CityStaff | Finance | DistrictStaff),
            ViewFunds => matches!(self, CityStaff | Finance | Supervisor | DistrictStaff),
            ViewMembers => matches!(
                self,
                Admin | CityStaff | Finance | Supervisor | DistrictStaff | GrassrootsOperator
            ),
            ManageMembers => matches!(self, CityStaff | Finance | DistrictStaff | GrassrootsOperator),
            ManageDues => matches!(self, Admin | CityStaff),
            ViewGifts => matches!(
                self,
                CityStaff | Finance | Supervisor | DistrictStaff | GrassrootsOperator
            ),
            ViewRelief => matches!(
                self,
                CityStaff | Finance | Supervisor | DistrictStaff | GrassrootsOperator
            ),
            HandleRelief => matches!(self, CityStaff | DistrictStaff | GrassrootsOperator),
            ManagePrivacy => matches!(self, Admin | CityStaff | DistrictStaff),
        }
    }

    /// Whether this role may change anything at all.
    pub fn read_only(self) -> bool {
        matches!(self, Role::Supervisor)
    }
}

/// Something a role may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    ViewOrgs,
    ManageOrgs,
    ViewUsers,
    ManageUsers,
    ManageSettings,
    ViewAudit,
    RecordGifts,
    ManageFunds,
    ManageProjects,
    ViewFunds,
    ViewGifts,
    /// Relief programmes and cases (人道救助), read.
    ViewRelief,
    /// File relief applications for people and review them at one's level.
    HandleRelief,
    /// Members (会员) and their dues: lists, pages (ID numbers masked).
    ViewMembers,
    /// Add members, record dues, send reminders, lapse, import.
    ManageMembers,
    /// Member types, dues rates and the lapse rule (city settings).
    ManageDues,
    /// Personal-information requests (PIPL): export what is held about a
    /// person, anonymise it; within the caller's scope.
    ManagePrivacy,
}

/// A login name: 2–32 of `a–z 0–9 . _ -`, starting with a letter.
pub fn parse_username(errors: &mut FieldErrors, raw: Option<&str>) -> Option<String> {
    let name = required_text(errors, "username", "用户名", raw, 32)?.to_ascii_lowercase();
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    let starts_with_letter = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if name.chars().count() < 2 || !ok_chars || !starts_with_letter {
        errors.add("username", "用户名为 2–32 位字母、数字、点、下划线或连字符, 以字母开头");
        return None;
    }
    Some(name)
}

/// Checks a new password against the password rules.
pub fn check_password(errors: &mut FieldErrors, username: &str, password: &str) {
    let chars = password.chars().count();
    if chars < 8 {
        errors.add("password", "密码至少 8 位");
        return;
    }
    if chars > 128 {
        errors.add("password", "密码不能超过 128 位");
        return;
    }
    let classes = [
        password.chars().any(|c| c.is_alphabetic()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ]
    .into_iter()
    .filter(|present| *present)
    .count();
    if classes < 2 {
        errors.add("password", "密码须包含字母、数字、符号中的至少两类");
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        errors.add("password", "密码不能包含用户名");
        return;
    }
    if is_common_password(password) {
        errors.add("password", "该密码过于常见, 容易被猜中, 请换一个");
    }
}

/// The most common passwords (lower case, one a line), and this platform's
/// own guessable ones (`boai-demo`, the society's name…).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Whether a password is on the common list, ignoring case, or is a common
/// word (4+ characters) with only digits and symbols added after it
/// (`Summer2026!`).
pub fn is_common_password(password: &str) -> bool {
    let lower = password.trim().to_lowercase();
    let base = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .any(|w| w == lower || (w == base && base.chars().count() >= 4 && w.chars().any(|c| c.is_alphabetic())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supervisor_reads_but_never_writes() {
        assert!(Role::Supervisor.can(Permission::ViewAudit));
        assert!(Role::Supervisor.can(Permission::ViewOrgs));
        assert!(!Role::Supervisor.can(Permission::ManageOrgs));
        assert!(!Role::Supervisor.can(Permission::ManageUsers));
        assert!(!Role::Supervisor.can(Permission::RecordGifts));
        assert!(!Role::Supervisor.can(Permission::ManageFunds));
        assert!(Role::Supervisor.can(Permission::ViewFunds));
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn password_rules() {
        let check = |user: &str, pw: &str| {
            let mut errors = FieldErrors::new();
            check_password(&mut errors, user, pw);
            errors.is_empty()
        };
        assert!(check("lixia", "Spring2026"));
        assert!(check("lixia", "Autumn-2026"));
        // Common passwords, whatever their case, and common words with a tail.
        for common in [
            "boai-demo",
            "Password1",
            "qwerty12",
            "P@ssw0rd",
            "woaini1314",
            "Summer2026!",
            "1qaz2wsx",
        ] {
            assert!(!check("lixia", common), "{common}");
        }
        assert!(!check("lixia", "short1"));
        assert!(!check("lixia", "onlyletters"));
        assert!(!check("lixia", "lixia-2026!"));
        assert!(!check("lixia", &"a1".repeat(65)));
    }

    #[test]
    fn the_common_list_is_long_enough() {
        assert!(COMMON_PASSWORDS.lines().filter(|l| !l.trim().is_empty()).count() >= 500);
        assert!(COMMON_PASSWORDS.lines().all(|l| l == l.to_lowercase()));
    }

    #[test]
    fn usernames() {
        let parse = |raw: &str| parse_username(&mut FieldErrors::new(), Some(raw));
        assert_eq!(parse(" LiXia "), Some("lixia".into()));
        assert_eq!(parse("1abc"), None);
        assert_eq!(parse("a b"), None);
        assert_eq!(parse("x"), None);
    }
}

/// A user account as shown (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: crate::ids::UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: crate::ids::OrgId,
    pub active: bool,
    pub locked_until: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The raw fields of a new account.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserInput {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub org_id: Option<String>,
    pub password: Option<String>,
}

/// A validated new account. Debug never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct UserForCreate {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: crate::ids::OrgId,
    pub password: String,
}

impl std::fmt::Debug for UserForCreate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserForCreate")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

impl UserForCreate {
    pub fn parse(input: &UserInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let username = parse_username(&mut errors, input.username.as_deref());
        let display_name = required_text(&mut errors, "display_name", "姓名", input.display_name.as_deref(), 100);
        let role = match input.role.as_deref().map(str::trim).and_then(Role::parse) {
            Some(role) => Some(role),
            None => {
                errors.add("role", "请选择有效的角色");
                None
            }
        };
        let org_id = match input
            .org_id
            .as_deref()
            .map(str::trim)
            .map(str::parse::<crate::ids::OrgId>)
        {
            Some(Ok(id)) => Some(id),
            _ => {
                errors.add("org_id", "请选择所属组织");
                None
            }
        };
        let password = input.password.clone().unwrap_or_default();
        check_password(&mut errors, username.as_deref().unwrap_or_default(), &password);
        match (username, display_name, role, org_id) {
            (Some(username), Some(display_name), Some(role), Some(org_id)) if errors.is_empty() => Ok(UserForCreate {
                username,
                display_name,
                role,
                org_id,
                password,
            }),
            _ => Err(errors),
        }
    }
}
