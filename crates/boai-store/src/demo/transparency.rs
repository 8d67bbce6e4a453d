//! The demo's disclosures: each open or closed project's launch announcement
//! and quarterly progress reports, so that most projects are up to date;
//! 爱眼护眼工程 (EYECARE) stopped reporting half a year ago and 历下区社区助老助残
//! (LX-CARE) is a few days late, so the deadlines page has something to
//! flag; the closed winter campaign has its closing report. Society-wide:
//! last year's work report, finance report and audit report, the last two
//! with a small PDF. Dates follow the demo's clock, like the rest of the demo.

use super::{org_id, CITY};
use crate::audit::{append, AuditChange};
use crate::entities::{disclosures, projects};
use crate::{Actor, Store, StoreResult};
use boai_domain::accounts::Role;
use boai_domain::audit::AuditAction;
use boai_domain::ids::OrgId;
use boai_domain::scope::{root_path, Scope};
use boai_domain::transparency::{add_months, DisclosureId, DisclosureKind};
use chrono::{Datelike, Duration, NaiveDate};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The project that stopped reporting long ago.
pub const LONG_OVERDUE: &str = "EYECARE";
/// The project a few days late.
pub const JUST_OVERDUE: &str = "LX-CARE";

/// A small, valid one-page PDF (PDF 1.4, Helvetica, one line per entry of
/// `lines`, ASCII) with a correct cross-reference table.
pub fn tiny_pdf(lines: &[&str]) -> Vec<u8> {
    let mut text = String::from("BT /F1 14 Tf 56 780 Td 18 TL\n");
    for line in lines {
        let escaped: String = line
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .flat_map(|c| match c {
                '(' | ')' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        text.push_str(&format!("({escaped}) Tj T*\n"));
    }
    text.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{text}endstream", text.len()),
    ];
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (n, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", n + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

struct Planned {
    kind: DisclosureKind,
    title: String,
    body: String,
    on: NaiveDate,
    project: Option<Uuid>,
    org: OrgId,
    file: Option<(String, Vec<u8>)>,
}

/// Seeds the demo's disclosures (one transaction, audited as `system`).
pub async fn seed_disclosures(store: &Store) -> StoreResult<()> {
    let now = store.now();
    let today = store.china_today();
    let city = org_id(CITY.0);
    let projects = projects::Entity::find()
        .filter(projects::Column::Kind.is_not_in(["general", "management"]))
        .filter(projects::Column::Status.ne("draft"))
        .order_by_asc(projects::Column::Code)
        .all(&store.read)
        .await?;
    let mut planned: Vec<Planned> = Vec::new();
    for p in &projects {
        let start = p.starts_on.unwrap_or(today - Duration::days(365));
        let project = |kind, title: String, body: String, on| Planned {
            kind,
            title,
            body,
            on,
            project: Some(p.id),
            org: OrgId(p.org_id),
            file: None,
        };
        planned.push(project(
            DisclosureKind::ProjectAnnouncement,
            format!("{}启动公告", p.name),
            format!(
                "{}自 {} 起面向社会公开募捐, 善款专款专用, 募集和使用情况按季度公开, 接受社会监督。",
                p.name,
                start.format("%Y 年 %-m 月 %-d 日")
            ),
            start,
        ));
        let reports: Vec<NaiveDate> = match p.code.as_str() {
            LONG_OVERDUE => vec![add_months(start, 3) - Duration::days(7)],
            JUST_OVERDUE => vec![
                add_months(start, 3) - Duration::days(7),
                add_months(start, 6) - Duration::days(7),
                today - Duration::days(100),
            ],
            _ => (1..=4).map(|k| add_months(start, 3 * k) - Duration::days(7)).collect(),
        };
        let mut last = start;
        for (n, on) in reports.into_iter().enumerate() {
            if on <= last || on > today {
                continue;
            }
            last = on;
            planned.push(project(
                DisclosureKind::ProgressReport,
                format!("{}第 {} 期进展报告", p.name, n + 1),
                format!(
                    "截至 {}, 本项目累计募集、分配和支出情况见资金公开页面; 本期救助对象已按隐私规定化名公开。",
                    on.format("%Y-%m-%d")
                ),
                on,
            ));
        }
        if p.status == "closed" {
            planned.push(project(
                DisclosureKind::ProjectAnnouncement,
                format!("{}结项公告", p.name),
                format!("{}已结束募集, 剩余资金按捐赠协议转入同类项目使用。", p.name),
                today,
            ));
        }
    }
    let report_year = if today.month() >= 4 {
        today.year() - 1
    } else {
        today.year() - 2
    };
    let published = NaiveDate::from_ymd_opt(report_year + 1, 3, 31).unwrap_or(today);
    let society = |kind, title: String, body: &str, file: Option<(String, Vec<u8>)>| Planned {
        kind,
        title,
        body: body.to_owned(),
        on: published,
        project: None,
        org: city,
        file,
    };
    planned.push(society(
        DisclosureKind::WorkReport,
        format!("{}{report_year} 年度工作报告", CITY.1),
        "一年来, 全市红十字系统围绕\"三救三献\"核心业务, 开展人道救助、应急救护培训、无偿献血和造血干细胞捐献宣传动员。",
        None,
    ));
    planned.push(society(
        DisclosureKind::FinanceReport,
        format!("{}{report_year} 年度财务报告", CITY.1),
        "年度捐赠收入、项目支出、管理费用及净资产变动情况详见附件。",
        Some((
            format!("finance-report-{report_year}.pdf"),
            tiny_pdf(&[
                "Jinan Red Cross Society",
                &format!("Finance report {report_year} (demo)"),
                "Income, expenses and net assets: see the public ledger.",
            ]),
        )),
    ));
    planned.push(society(
        DisclosureKind::AuditReport,
        format!("{}{report_year} 年度审计报告", CITY.1),
        "会计师事务所对本会年度财务报表出具标准无保留意见审计报告。",
        Some((
            format!("audit-report-{report_year}.pdf"),
            tiny_pdf(&[
                "Jinan Red Cross Society",
                &format!("Independent audit report {report_year} (demo)"),
                "Opinion: unqualified.",
            ]),
        )),
    ));

    let system = Actor {
        user_id: None,
        username: "system".to_owned(),
        role: Role::Admin,
        org_id: city,
        scope: Scope {
            org_id: city,
            path: root_path(city),
        },
        ip: None,
    };
    let txn = store.begin_write().await?;
    for (n, d) in planned.into_iter().enumerate() {
        // Deterministic ids, like the rest of the demo.
        let id = DisclosureId(Uuid::new_v5(
            &super::DEMO_NAMESPACE,
            format!("disclosure-{n}-{}", d.title).as_bytes(),
        ));
        let file_meta = d.file.as_ref().map(|(name, bytes)| {
            serde_json::json!({
                "name": name, "mime": "application/pdf", "size": bytes.len(),
                "sha256": hex::encode(Sha256::digest(bytes)),
            })
        });
        disclosures::Entity::insert(disclosures::ActiveModel {
            id: Set(id.0),
            org_id: Set(d.org.0),
            project_id: Set(d.project),
            kind: Set(d.kind.as_str().to_owned()),
            title: Set(d.title.clone()),
            body: Set(Some(d.body.clone())),
            published_on: Set(d.on),
            file_name: Set(d.file.as_ref().map(|(name, _)| name.clone())),
            file_mime: Set(d.file.as_ref().map(|_| "application/pdf".to_owned())),
            file_bytes: Set(d.file.map(|(_, bytes)| bytes)),
            created_by: Set(system.username.clone()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        append(
            &txn,
            &system,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "disclosure",
                entity_id: id.to_string(),
                org_id: d.org,
                before: None,
                after: Some(serde_json::json!({
                    "kind": d.kind, "title": d.title, "body": d.body, "published_on": d.on,
                    "project_id": d.project, "org_id": d.org, "file": file_meta,
                })),
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tiny_pdf;

    #[test]
    fn the_demo_pdf_is_well_formed() {
        let pdf = tiny_pdf(&["Hello (world)", "second line"]);
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(text.ends_with("%%EOF\n"));
        assert!(text.contains("(Hello \\(world\\)) Tj"));
        // startxref points at the xref table, and every entry at its object.
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|s| s.lines().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        assert!(pdf[start..].starts_with(b"xref\n0 6\n"));
        let table = String::from_utf8_lossy(&pdf[start..]).into_owned();
        for (n, line) in table.lines().skip(3).take(5).enumerate() {
            let offset: usize = line[..10].parse().unwrap_or_default();
            assert!(
                pdf[offset..].starts_with(format!("{} 0 obj", n + 1).as_bytes()),
                "object {}",
                n + 1
            );
        }
        // The stream's length is its content's.
        let stream = text.split(">>\nstream\n").nth(1).unwrap_or_default();
        let content = stream.split("endstream").next().unwrap_or_default();
        assert!(text.contains(&format!("/Length {}", content.len())));
    }
}
