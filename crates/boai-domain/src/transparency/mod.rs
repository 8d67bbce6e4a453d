//! Disclosures (信息公开) and their deadlines.
//!
//! A society publishes, for each fundraising project, announcements and
//! progress reports; society-wide, yearly work and finance reports and audit
//! reports (optionally about one project). The rule of when a project's next
//! disclosure is due (defaults, both settings of [`DisclosureRules`]):
//! - a draft project owes nothing yet;
//! - an open project discloses at least every `ongoing_months` months, counted
//!   from its latest disclosure, or from its start (`starts_on`, else the day
//!   it was created) when it has none since;
//! - a closed project discloses within `after_end_months` months of its end
//!   (the earlier of `ends_on` and the day it was closed); once a disclosure
//!   dated on or after the end exists, nothing more is due.
//!
//! Months are calendar months (`checked_add_months`): a deadline that lands
//! past a month's last day moves back to it (30 Nov + 3 months = 28/29 Feb).
//! Attachments are PDF, Excel (.xlsx), Word (.docx) or an image (PNG, JPEG,
//! GIF, WebP), at most [`MAX_FILE_BYTES`]; their type is decided from the
//! name's extension and must match the file's first bytes, so what is served
//! is what it says it is.

use crate::ids::ProjectId;
use crate::validation::{required_text, FieldErrors};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

crate::typed_id!(
    /// A published disclosure.
    DisclosureId
);

/// The largest attachment: 10 MiB.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// The longest body text, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;

/// What a disclosure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisclosureKind {
    /// 项目公告: a project's launch, terms or result.
    ProjectAnnouncement,
    /// 项目进展报告: how a project's money was raised and used so far.
    ProgressReport,
    /// 年度工作报告.
    WorkReport,
    /// 年度财务报告.
    FinanceReport,
    /// 审计报告.
    AuditReport,
}

impl DisclosureKind {
    pub const ALL: [DisclosureKind; 5] = [
        DisclosureKind::ProjectAnnouncement,
        DisclosureKind::ProgressReport,
        DisclosureKind::WorkReport,
        DisclosureKind::FinanceReport,
        DisclosureKind::AuditReport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DisclosureKind::ProjectAnnouncement => "project_announcement",
            DisclosureKind::ProgressReport => "progress_report",
            DisclosureKind::WorkReport => "work_report",
            DisclosureKind::FinanceReport => "finance_report",
            DisclosureKind::AuditReport => "audit_report",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            DisclosureKind::ProjectAnnouncement => "项目公告",
            DisclosureKind::ProgressReport => "项目进展报告",
            DisclosureKind::WorkReport => "年度工作报告",
            DisclosureKind::FinanceReport => "年度财务报告",
            DisclosureKind::AuditReport => "审计报告",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            DisclosureKind::ProjectAnnouncement => "Project announcement",
            DisclosureKind::ProgressReport => "Progress report",
            DisclosureKind::WorkReport => "Yearly work report",
            DisclosureKind::FinanceReport => "Yearly finance report",
            DisclosureKind::AuditReport => "Audit report",
        }
    }

    /// Whether a disclosure of this kind must name a project.
    pub fn needs_project(self) -> bool {
        matches!(
            self,
            DisclosureKind::ProjectAnnouncement | DisclosureKind::ProgressReport
        )
    }
}

/// How often projects must disclose (settings; defaults 3 and 3 months).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosureRules {
    /// An open project discloses at least every this many months.
    pub ongoing_months: u32,
    /// A closed project discloses within this many months of its end.
    pub after_end_months: u32,
}

impl Default for DisclosureRules {
    fn default() -> Self {
        DisclosureRules {
            ongoing_months: 3,
            after_end_months: 3,
        }
    }
}

/// Where a project stands, as far as disclosure goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectPhase {
    Draft,
    Open,
    Closed,
}

/// The dates of a project the deadline depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectDates {
    pub phase: ProjectPhase,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    /// The day the project was created.
    pub created_on: NaiveDate,
    /// The day it was closed, when known.
    pub closed_on: Option<NaiveDate>,
}

impl ProjectDates {
    /// The day ongoing disclosure is counted from when there is none.
    pub fn start(&self) -> NaiveDate {
        self.starts_on.unwrap_or(self.created_on)
    }

    /// The day a closed project ended: the earlier of its planned end and
    /// the day it was closed; its start if neither is known.
    pub fn end(&self) -> NaiveDate {
        match (self.ends_on, self.closed_on) {
            (Some(e), Some(c)) => e.min(c),
            (Some(d), None) | (None, Some(d)) => d,
            (None, None) => self.start(),
        }
    }
}

/// Why a deadline is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DueBasis {
    /// A draft project: nothing is due yet.
    NotStarted,
    /// An open project: periodic disclosure.
    Ongoing,
    /// A closed project: its final disclosure.
    AfterEnd,
    /// A closed project whose final disclosure is published.
    Done,
}

impl DueBasis {
    pub fn label_zh(self) -> &'static str {
        match self {
            DueBasis::NotStarted => "未启动",
            DueBasis::Ongoing => "定期公开",
            DueBasis::AfterEnd => "结项公开",
            DueBasis::Done => "已完成结项公开",
        }
    }
}

/// When a project's next disclosure is due, seen from `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub basis: DueBasis,
    /// The last day the next disclosure may be published; `None` when
    /// nothing is due.
    pub due_on: Option<NaiveDate>,
    /// Days past `due_on` (0 when not overdue).
    pub overdue_days: i64,
    /// Days left until `due_on` (0 when due today or overdue, or nothing is due).
    pub days_left: i64,
}

impl Deadline {
    pub fn overdue(&self) -> bool {
        self.overdue_days > 0
    }

    fn at(basis: DueBasis, due: NaiveDate, today: NaiveDate) -> Deadline {
        let diff = (today - due).num_days();
        Deadline {
            basis,
            due_on: Some(due),
            overdue_days: diff.max(0),
            days_left: (-diff).max(0),
        }
    }

    fn nothing(basis: DueBasis) -> Deadline {
        Deadline {
            basis,
            due_on: None,
            overdue_days: 0,
            days_left: 0,
        }
    }
}

/// `date` plus `months` calendar months, clamped to the month's last day
/// (the latest date there is if it would overflow).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// The next disclosure a project owes: `last_disclosed` is the publication
/// date of its latest disclosure, `today` the caller's (China) date.
pub fn next_due(
    rules: &DisclosureRules,
    project: &ProjectDates,
    last_disclosed: Option<NaiveDate>,
    today: NaiveDate,
) -> Deadline {
    match project.phase {
        ProjectPhase::Draft => Deadline::nothing(DueBasis::NotStarted),
        ProjectPhase::Open => {
            let from = last_disclosed.map_or(project.start(), |last| last.max(project.start()));
            Deadline::at(DueBasis::Ongoing, add_months(from, rules.ongoing_months), today)
        }
        ProjectPhase::Closed => {
            let end = project.end();
            if last_disclosed.is_some_and(|last| last >= end) {
                Deadline::nothing(DueBasis::Done)
            } else {
                Deadline::at(DueBasis::AfterEnd, add_months(end, rules.after_end_months), today)
            }
        }
    }
}

/// An attachment's type: decided from its name, checked against its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Pdf,
    Xlsx,
    Docx,
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl FileKind {
    pub const ALL: [FileKind; 7] = [
        FileKind::Pdf,
        FileKind::Xlsx,
        FileKind::Docx,
        FileKind::Png,
        FileKind::Jpeg,
        FileKind::Gif,
        FileKind::Webp,
    ];

    /// The extensions (lower case) that name this kind.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FileKind::Pdf => &["pdf"],
            FileKind::Xlsx => &["xlsx"],
            FileKind::Docx => &["docx"],
            FileKind::Png => &["png"],
            FileKind::Jpeg => &["jpg", "jpeg"],
            FileKind::Gif => &["gif"],
            FileKind::Webp => &["webp"],
        }
    }

    /// The MIME type it is stored and served as.
    pub fn mime(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileKind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Gif => "image/gif",
            FileKind::Webp => "image/webp",
        }
    }

    /// The kind a file name's extension names.
    pub fn from_name(name: &str) -> Option<FileKind> {
        let (_, ext) = name.rsplit_once('.')?;
        let ext = ext.to_ascii_lowercase();
        Self::ALL.into_iter().find(|k| k.extensions().contains(&ext.as_str()))
    }

    /// The kind a stored MIME type names.
    pub fn from_mime(mime: &str) -> Option<FileKind> {
        Self::ALL.into_iter().find(|k| k.mime() == mime)
    }

    /// Whether `bytes` start the way a file of this kind does.
    pub fn matches(self, bytes: &[u8]) -> bool {
        match self {
            FileKind::Pdf => bytes.starts_with(b"%PDF-"),
            // Office Open XML files are ZIP archives.
            FileKind::Xlsx | FileKind::Docx => bytes.starts_with(b"PK\x03\x04"),
            FileKind::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            FileKind::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            FileKind::Gif => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
            FileKind::Webp => bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP",
        }
    }

    /// Whether browsers may show it inline (else it is downloaded).
    pub fn inline(self) -> bool {
        !matches!(self, FileKind::Xlsx | FileKind::Docx)
    }
}

/// A raw attachment as it arrived.
#[derive(Clone, Default)]
pub struct FileInput {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for FileInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileInput")
            .field("name", &self.name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A validated attachment.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub kind: FileKind,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The raw fields of a new disclosure.
#[derive(Debug, Clone, Default)]
pub struct DisclosureInput {
    pub kind: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    /// `YYYY-MM-DD`; default today.
    pub published_on: Option<String>,
    pub project_id: Option<String>,
    pub file: Option<FileInput>,
}

/// A validated new disclosure (the project still to be checked in scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureForCreate {
    pub kind: DisclosureKind,
    pub title: String,
    pub body: Option<String>,
    pub published_on: NaiveDate,
    pub project_id: Option<ProjectId>,
    pub file: Option<Attachment>,
}

/// A multi-line text: lines kept, trimmed at both ends, no control
/// characters other than line breaks and tabs; empty means absent.
fn optional_long_text(errors: &mut FieldErrors, field: &str, label: &str, raw: Option<&str>) -> Option<String> {
    let value = raw.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return None;
    }
    if value.chars().count() > MAX_BODY_CHARS {
        errors.add(field, format!("{label}不能超过 {MAX_BODY_CHARS} 个字符"));
        return None;
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.add(field, format!("{label}不能包含控制字符"));
        return None;
    }
    Some(value.replace("\r\n", "\n"))
}

/// A file name as stored: its last path component, at most 200 characters,
/// no control characters or quotes, spoofing characters (a right-to-left
/// override, zero-width characters) stripped.
fn clean_file_name(raw: &str) -> Option<String> {
    let raw = crate::validation::strip_spoofing(raw);
    let name = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if name.is_empty()
        || name.chars().count() > 200
        || name.chars().any(|c| c.is_control() || c == '"')
        || name.starts_with('.')
    {
        return None;
    }
    Some(name.to_owned())
}

/// Validates an attachment, or records why it is refused under `file`.
pub fn parse_file(errors: &mut FieldErrors, file: &FileInput) -> Option<Attachment> {
    let Some(name) = clean_file_name(&file.name) else {
        errors.add("file", "附件文件名无效");
        return None;
    };
    let Some(kind) = FileKind::from_name(&name) else {
        errors.add(
            "file",
            "附件须为 PDF、Excel (.xlsx)、Word (.docx) 或图片 (PNG、JPEG、GIF、WebP)",
        );
        return None;
    };
    if file.bytes.is_empty() {
        errors.add("file", "附件为空");
        return None;
    }
    if file.bytes.len() > MAX_FILE_BYTES {
        errors.add("file", "附件不能超过 10 MB");
        return None;
    }
    if !kind.matches(&file.bytes) {
        errors.add("file", "附件内容与文件类型不符");
        return None;
    }
    Some(Attachment {
        name,
        kind,
        bytes: file.bytes.clone(),
    })
}

impl DisclosureForCreate {
    /// Validates every field; `today` is the default and latest publication date.
    pub fn parse(input: &DisclosureInput, today: NaiveDate) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let kind = match input.kind.as_deref().map(str::trim) {
            None | Some("") => {
                errors.add("kind", "请选择公开类型");
                None
            }
            Some(raw) => {
                let kind = DisclosureKind::parse(raw);
                if kind.is_none() {
                    errors.add("kind", "公开类型无效");
                }
                kind
            }
        };
        let title = required_text(&mut errors, "title", "标题", input.title.as_deref(), 200);
        let body = optional_long_text(&mut errors, "body", "正文", input.body.as_deref());
        let published_on = match input.published_on.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Some(today),
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) if d > today => {
                    errors.add("published_on", "公开日期不能晚于今天");
                    None
                }
                Ok(d) => Some(d),
                Err(_) => {
                    errors.add("published_on", "日期格式应为 YYYY-MM-DD");
                    None
                }
            },
        };
        let project_id = match input.project_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => {
                if kind.is_some_and(DisclosureKind::needs_project) {
                    errors.add("project_id", "项目公告和进展报告须选择项目");
                }
                None
            }
            Some(raw) => match raw.parse::<ProjectId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.add("project_id", "项目不存在");
                    None
                }
            },
        };
        let file = input.file.as_ref().and_then(|f| parse_file(&mut errors, f));
        if body.is_none() && input.file.is_none() && errors.for_field("body").is_none() {
            errors.add("body", "请填写正文或上传附件");
        }
        match (kind, title, published_on) {
            (Some(kind), Some(title), Some(published_on)) if errors.is_empty() => Ok(DisclosureForCreate {
                kind,
                title,
                body,
                published_on,
                project_id,
                file,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    fn open(starts: NaiveDate) -> ProjectDates {
        ProjectDates {
            phase: ProjectPhase::Open,
            starts_on: Some(starts),
            ends_on: None,
            created_on: d(2020, 1, 1),
            closed_on: None,
        }
    }

    const RULES: DisclosureRules = DisclosureRules {
        ongoing_months: 3,
        after_end_months: 3,
    };

    #[test]
    fn kinds_round_trip_with_labels() {
        for k in DisclosureKind::ALL {
            assert_eq!(DisclosureKind::parse(k.as_str()), Some(k));
            assert!(!k.label_zh().is_empty() && !k.label_en().is_empty());
        }
        assert_eq!(DisclosureKind::parse("press_release"), None);
        assert_eq!(DisclosureKind::FinanceReport.label_zh(), "年度财务报告");
        assert!(DisclosureKind::ProgressReport.needs_project());
        assert!(!DisclosureKind::AuditReport.needs_project());
        assert_eq!(DisclosureRules::default(), RULES);
    }

    #[test]
    fn month_end_arithmetic_clamps_to_the_last_day() {
        assert_eq!(add_months(d(2025, 11, 30), 3), d(2026, 2, 28));
        assert_eq!(add_months(d(2027, 11, 30), 3), d(2028, 2, 29));
        assert_eq!(add_months(d(2026, 8, 31), 3), d(2026, 11, 30));
        assert_eq!(add_months(d(2026, 1, 31), 1), d(2026, 2, 28));
        assert_eq!(add_months(d(2026, 10, 31), 3), d(2027, 1, 31));
        assert_eq!(add_months(d(2026, 12, 15), 3), d(2027, 3, 15));
        assert_eq!(add_months(d(2026, 5, 20), 0), d(2026, 5, 20));
        assert_eq!(add_months(NaiveDate::MAX, 3), NaiveDate::MAX);
    }

    #[test]
    fn an_open_project_discloses_every_three_months() {
        let p = open(d(2026, 1, 10));
        // Never disclosed: counted from the start.
        let fresh = next_due(&RULES, &p, None, d(2026, 2, 1));
        assert_eq!(fresh.basis, DueBasis::Ongoing);
        assert_eq!(fresh.due_on, Some(d(2026, 4, 10)));
        assert!(!fresh.overdue());
        assert_eq!(fresh.days_left, 68);
        // Due today is not overdue yet.
        let today = next_due(&RULES, &p, None, d(2026, 4, 10));
        assert!(!today.overdue());
        assert_eq!((today.overdue_days, today.days_left), (0, 0));
        // One day late.
        let late = next_due(&RULES, &p, None, d(2026, 4, 11));
        assert!(late.overdue());
        assert_eq!(late.overdue_days, 1);
        // A disclosure moves the clock.
        let after = next_due(&RULES, &p, Some(d(2026, 3, 31)), d(2026, 7, 1));
        assert_eq!(after.due_on, Some(d(2026, 6, 30)));
        assert_eq!(after.overdue_days, 1);
        // One published before the start does not count against it.
        let early = next_due(&RULES, &p, Some(d(2025, 12, 1)), d(2026, 2, 1));
        assert_eq!(early.due_on, Some(d(2026, 4, 10)));
    }

    #[test]
    fn an_open_project_without_a_start_counts_from_its_creation() {
        let p = ProjectDates {
            starts_on: None,
            created_on: d(2025, 11, 30),
            ..open(d(2000, 1, 1))
        };
        let due = next_due(&RULES, &p, None, d(2026, 3, 1));
        assert_eq!(due.due_on, Some(d(2026, 2, 28)));
        assert_eq!(due.overdue_days, 1);
    }

    #[test]
    fn settings_change_the_periods() {
        let rules = DisclosureRules {
            ongoing_months: 1,
            after_end_months: 6,
        };
        let p = open(d(2026, 1, 31));
        assert_eq!(next_due(&rules, &p, None, d(2026, 2, 1)).due_on, Some(d(2026, 2, 28)));
        let closed = ProjectDates {
            phase: ProjectPhase::Closed,
            ends_on: Some(d(2026, 8, 31)),
            ..p
        };
        assert_eq!(
            next_due(&rules, &closed, None, d(2026, 9, 1)).due_on,
            Some(d(2027, 2, 28))
        );
    }

    #[test]
    fn a_closed_project_discloses_once_after_its_end() {
        let p = ProjectDates {
            phase: ProjectPhase::Closed,
            starts_on: Some(d(2025, 11, 1)),
            ends_on: Some(d(2026, 2, 28)),
            created_on: d(2025, 10, 1),
            closed_on: Some(d(2026, 3, 5)),
        };
        let owed = next_due(&RULES, &p, Some(d(2026, 1, 15)), d(2026, 4, 1));
        assert_eq!(owed.basis, DueBasis::AfterEnd);
        assert_eq!(owed.due_on, Some(d(2026, 5, 28)));
        assert!(!owed.overdue());
        let late = next_due(&RULES, &p, Some(d(2026, 1, 15)), d(2026, 6, 1));
        assert_eq!(late.overdue_days, 4);
        let done = next_due(&RULES, &p, Some(d(2026, 2, 28)), d(2027, 1, 1));
        assert_eq!(done.basis, DueBasis::Done);
        assert_eq!(done.due_on, None);
        assert!(!done.overdue());
    }

    #[test]
    fn a_project_closed_early_ends_when_it_was_closed() {
        let p = ProjectDates {
            phase: ProjectPhase::Closed,
            starts_on: Some(d(2026, 1, 1)),
            ends_on: Some(d(2026, 12, 31)),
            created_on: d(2026, 1, 1),
            closed_on: Some(d(2026, 3, 31)),
        };
        assert_eq!(p.end(), d(2026, 3, 31));
        assert_eq!(next_due(&RULES, &p, None, d(2026, 4, 1)).due_on, Some(d(2026, 6, 30)));
        let unknown = ProjectDates {
            ends_on: None,
            closed_on: None,
            ..p
        };
        assert_eq!(unknown.end(), d(2026, 1, 1));
    }

    #[test]
    fn drafts_owe_nothing() {
        let p = ProjectDates {
            phase: ProjectPhase::Draft,
            ..open(d(2020, 1, 1))
        };
        let due = next_due(&RULES, &p, None, d(2026, 1, 1));
        assert_eq!(due.basis, DueBasis::NotStarted);
        assert_eq!(due.due_on, None);
        assert!(!due.overdue());
    }

    fn input(kind: &str, title: &str, body: &str) -> DisclosureInput {
        DisclosureInput {
            kind: Some(kind.to_owned()),
            title: Some(title.to_owned()),
            body: Some(body.to_owned()),
            ..DisclosureInput::default()
        }
    }

    #[test]
    fn a_valid_disclosure() {
        let today = d(2026, 5, 1);
        let mut raw = input("finance_report", " 2025 年度财务报告 ", "收入…\r\n支出…");
        raw.file = Some(FileInput {
            name: "C:\\docs\\财务报告.PDF".to_owned(),
            bytes: b"%PDF-1.4\n...".to_vec(),
        });
        let parsed = DisclosureForCreate::parse(&raw, today).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.title, "2025 年度财务报告");
        assert_eq!(parsed.body.as_deref(), Some("收入…\n支出…"));
        assert_eq!(parsed.published_on, today);
        assert_eq!(parsed.project_id, None);
        let file = parsed.file.unwrap_or_else(|| panic!("file"));
        assert_eq!(file.name, "财务报告.PDF");
        assert_eq!(file.kind.mime(), "application/pdf");
        assert!(!format!("{file:?}").contains("PDF-1.4"));
    }

    #[test]
    fn bad_disclosures_are_field_errors() {
        let today = d(2026, 5, 1);
        let errs = |raw: &DisclosureInput| DisclosureForCreate::parse(raw, today).err().unwrap_or_default();
        assert!(errs(&input("", "t", "b")).for_field("kind").is_some());
        assert!(errs(&input("memo", "t", "b")).for_field("kind").is_some());
        assert!(errs(&input("work_report", "  ", "b")).for_field("title").is_some());
        assert!(errs(&input("work_report", "t", "")).for_field("body").is_some());
        assert!(errs(&input("work_report", "t", &"字".repeat(MAX_BODY_CHARS + 1)))
            .for_field("body")
            .is_some());
        assert!(errs(&input("progress_report", "t", "b"))
            .for_field("project_id")
            .is_some());
        let mut bad_project = input("progress_report", "t", "b");
        bad_project.project_id = Some("not-a-uuid".to_owned());
        assert_eq!(errs(&bad_project).for_field("project_id"), Some("项目不存在"));
        let mut future = input("work_report", "t", "b");
        future.published_on = Some("2026-05-02".to_owned());
        assert!(errs(&future).for_field("published_on").is_some());
        let mut malformed = input("work_report", "t", "b");
        malformed.published_on = Some("2026/05/01".to_owned());
        assert!(errs(&malformed).for_field("published_on").is_some());
        let mut past = input("work_report", "t", "b");
        past.published_on = Some("2026-04-30".to_owned());
        assert!(DisclosureForCreate::parse(&past, today).is_ok());
    }

    #[test]
    fn attachments_are_checked_by_name_size_and_content() {
        let check = |name: &str, bytes: &[u8]| {
            let mut errors = FieldErrors::new();
            let file = parse_file(
                &mut errors,
                &FileInput {
                    name: name.to_owned(),
                    bytes: bytes.to_vec(),
                },
            );
            (file.map(|f| f.kind), errors.for_field("file").map(str::to_owned))
        };
        assert_eq!(check("a.pdf", b"%PDF-1.7").0, Some(FileKind::Pdf));
        assert_eq!(check("a.xlsx", b"PK\x03\x04rest").0, Some(FileKind::Xlsx));
        assert_eq!(check("a.docx", b"PK\x03\x04rest").0, Some(FileKind::Docx));
        assert_eq!(check("a.png", b"\x89PNG\r\n\x1a\nIHDR").0, Some(FileKind::Png));
        assert_eq!(check("a.JPG", &[0xFF, 0xD8, 0xFF, 0xE0]).0, Some(FileKind::Jpeg));
        assert_eq!(check("a.gif", b"GIF89a..").0, Some(FileKind::Gif));
        assert_eq!(check("a.webp", b"RIFF\0\0\0\0WEBPVP8 ").0, Some(FileKind::Webp));
        // Wrong type, disguised type, empty, too big, bad names.
        assert!(check("a.html", b"<html>").1.is_some());
        assert!(check("a.exe", b"MZ").1.is_some());
        assert!(check("noextension", b"%PDF-").1.is_some());
        assert_eq!(check("a.pdf", b"<html>").1.as_deref(), Some("附件内容与文件类型不符"));
        assert_eq!(check("a.png", b"%PDF-1.4").1.as_deref(), Some("附件内容与文件类型不符"));
        assert_eq!(check("a.pdf", b"").1.as_deref(), Some("附件为空"));
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_FILE_BYTES + 1, b' ');
        assert_eq!(check("a.pdf", &big).1.as_deref(), Some("附件不能超过 10 MB"));
        let mut exact = b"%PDF-".to_vec();
        exact.resize(MAX_FILE_BYTES, b' ');
        assert!(check("a.pdf", &exact).0.is_some());
        assert!(check("../", b"%PDF-").1.is_some());
        assert!(check("a\".pdf", b"%PDF-").1.is_some());
        assert!(check(".pdf", b"%PDF-").1.is_some());
        assert_eq!(FileKind::from_mime("image/png"), Some(FileKind::Png));
        assert!(!FileKind::Docx.inline() && FileKind::Pdf.inline());
    }
}
