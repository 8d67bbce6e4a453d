//! Humanitarian relief over HTTP: an online application (phone form,
//! multipart, CSRF cookie) through three review levels to payment, seen in
//! the journal, the public ledger and the trace of a gift; every bad input
//! of the issue answered with a clear error and nothing changed; figures
//! equal to direct sums over the cases; the rule form; scope.

use base64::Engine;
use boai_domain::validation::identity::id_card_check_char;
use boai_testkit::api::multipart_files as multipart;
use boai_testkit::{hidden_field, TestApp};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR demo";
const PDF: &[u8] = b"%PDF-1.4\n% demo\n";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A valid ID number of someone born on `birth` (YYYYMMDD), `n` making it unique.
fn id_card(birth: &str, n: u32) -> String {
    let body = format!("370102{birth}{:03}", n % 1000);
    format!("{body}{}", id_card_check_char(&body).unwrap_or('0'))
}

/// A birth date `years` ago (minus a month), as YYYYMMDD.
fn born_years_ago(years: i32) -> String {
    let today = chrono::Utc::now().date_naive();
    let d = chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&today) - years, 1, 15).unwrap_or(today);
    d.format("%Y%m%d").to_string()
}

async fn programme(app: &TestApp, token: &str, name: &str) -> anyhow::Result<Value> {
    let list = app.get_json(token, "/api/v1/relief/programmes").await?;
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|p| p["name"] == name))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no programme {name}"))
}

async fn case_total(app: &TestApp, token: &str) -> anyhow::Result<u64> {
    let list = app.get_json(token, "/api/v1/relief/cases?per_page=1").await?;
    list["total"].as_u64().ok_or_else(|| anyhow::anyhow!("no total"))
}

/// Audit rows about relief records and journal entries (sign-ins excluded).
async fn audit_total(app: &TestApp) -> anyhow::Result<u64> {
    let token = app.token("supervisor").await?;
    let mut total = 0;
    for entity in ["relief_case", "relief_programme", "journal_entry"] {
        let list = app
            .get_json(&token, &format!("/api/v1/audit?entity={entity}&per_page=1"))
            .await?;
        total += list["total"]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("no audit total"))?;
    }
    Ok(total)
}

async fn money_of(app: &TestApp, token: &str, project_id: &str) -> anyhow::Result<i64> {
    let list = app.get_json(token, "/api/v1/funds/balances").await?;
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|b| b["project"]["id"] == project_id))
        .and_then(|b| b["money_fen"].as_i64())
        .ok_or_else(|| anyhow::anyhow!("no balance for {project_id}"))
}

async fn ledger_size(app: &TestApp) -> anyhow::Result<i64> {
    let conn = app.db.raw().await?;
    let row = conn
        .query_one(Statement::from_string(
            conn.get_database_backend(),
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ledger_entries",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no count"))?;
    Ok(row.try_get::<i64>("", "n")?)
}

/// What must not move when a request is refused.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    cases: u64,
    audit: u64,
    ledger: i64,
}

async fn snapshot(app: &TestApp, token: &str) -> anyhow::Result<Snapshot> {
    Ok(Snapshot {
        cases: case_total(app, token).await?,
        audit: audit_total(app).await?,
        ledger: ledger_size(app).await?,
    })
}

fn text_between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let s = html.find(start)? + start.len();
    let e = html[s..].find(end)? + s;
    Some(&html[s..e])
}

/// A staff application body for a programme (documents: PNG for each).
fn application(programme: &Value, id: &str, diagnosis: &str, amount_fen: i64) -> Value {
    let docs: Vec<Value> = programme["documents"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|_| json!({"name": "doc.png", "content_base64": b64(PNG)}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "programme_id": programme["id"], "applicant_name": "测试申请人", "id_card": id,
        "phone": "13912345678", "district": "历下区", "household_size": 3,
        "household_income_fen": 240_000, "hardship": "低保", "diagnosis": diagnosis,
        "hospital": "山东省立医院", "bank_name": "工商银行", "bank_account": "6222020200112233445",
        "amount_fen": amount_fen, "documents": docs, "health_consent": true,
    })
}

async fn file_case(app: &TestApp, token: &str, body: &Value) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .client()
        .post(app.url("/api/v1/relief/cases"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?)
}

async fn decide(
    app: &TestApp,
    token: &str,
    case: &str,
    decision: &str,
    reason: Option<&str>,
) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .client()
        .post(app.url(&format!("/api/v1/relief/cases/{case}/reviews")))
        .bearer_auth(token)
        .json(&json!({"decision": decision, "reason": reason}))
        .send()
        .await?)
}

async fn problem(res: reqwest::Response, status: StatusCode) -> anyhow::Result<Value> {
    let got = res.status();
    let body: Value = res.json().await?;
    anyhow::ensure!(got == status, "expected {status}, got {got}: {body}");
    Ok(body)
}

fn field_error(problem: &Value, field: &str) -> String {
    problem["errors"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["field"] == field))
        .and_then(|e| e["message"].as_str())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn online_application_through_three_levels_is_paid_on_the_ledger_and_the_trace() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let shi = app.token("shi").await?;
    let caiwu = app.token("caiwu").await?;
    let uremia = programme(&app, &shi, "尿毒症救助").await?;
    let project_id = uremia["project_id"].as_str().unwrap().to_owned();
    // A gift to the programme, so the fund holds enough and a gift's trace reaches the payment.
    let gift = app
        .client()
        .post(app.url("/api/v1/donations"))
        .bearer_auth(&caiwu)
        .json(
            &json!({"project_id": project_id, "amount_fen": 5_000_000, "channel": "bank_transfer",
            "donor": {"kind": "person", "name": "李善人", "phone": "13800138000"}}),
        )
        .send()
        .await?;
    assert_eq!(gift.status(), StatusCode::CREATED);

    // The public form, on a phone: the cookie and the form's token.
    let phone = app.client();
    let form = phone
        .get(app.url(&format!("/relief/apply?programme={}", uremia["id"].as_str().unwrap())))
        .send()
        .await?;
    assert_eq!(form.status(), StatusCode::OK);
    let form = form.text().await?;
    assert!(form.contains("透析记录"), "the programme's documents are asked for");
    let csrf = hidden_field(&form, "csrf").ok_or_else(|| anyhow::anyhow!("no csrf"))?;
    let id = id_card(&born_years_ago(52), 1);
    let fields = [
        ("csrf", csrf.as_str()),
        ("programme_id", uremia["id"].as_str().unwrap()),
        ("applicant_name", "王建国"),
        ("id_card", id.as_str()),
        ("phone", "13700001111"),
        ("district", "历下区"),
        ("household_size", "4"),
        ("household_income", "3200"),
        ("hardship", "因病致贫"),
        ("diagnosis", "尿毒症, 维持性血液透析"),
        ("hospital", "山东省立医院"),
        ("bank_name", "建设银行"),
        ("bank_account", "6217 0000 1234 5678 901"),
        ("amount", "20000"),
        ("health_consent", "health-2026-11"),
    ];
    let files: [(&str, &str, &[u8]); 3] = [
        ("doc_0", "身份证.png", PNG),
        ("doc_1", "诊断.pdf", PDF),
        ("doc_2", "透析.pdf", PDF),
    ];
    // Without the cookie's token: refused, nothing filed.
    let before = case_total(&app, &shi).await?;
    let (ct, body) = multipart(&[("csrf", "forged")], &files);
    let forged = phone
        .post(app.url("/relief/apply"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await?;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(case_total(&app, &shi).await?, before);
    let (ct, body) = multipart(&fields, &files);
    let res = phone
        .post(app.url("/relief/apply"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await?;
    let case_no = text_between(&page, "id=\"case-no\">", "<")
        .unwrap_or_default()
        .to_owned();
    let code = text_between(&page, "id=\"lookup-code\">", "<")
        .unwrap_or_default()
        .to_owned();
    assert!(case_no.starts_with("JZ") && code.len() == 8, "{case_no} {code}");
    assert_eq!(case_total(&app, &shi).await?, before + 1);
    let status: Value = app
        .client()
        .post(app.url("/api/v1/relief/status"))
        .json(&json!({"case_no": case_no, "lookup_code": code}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(status["status"], "pending");
    let wrong = app
        .client()
        .post(app.url("/api/v1/relief/status"))
        .json(&json!({"case_no": case_no, "lookup_code": "00000000"}))
        .send()
        .await?;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);

    // The grassroots unit sees it, with the ID number masked.
    let jiceng = app.token("jiceng").await?;
    let list = app
        .get_json(&jiceng, "/api/v1/relief/cases?status=pending&per_page=100")
        .await?;
    let case = list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["case_no"] == case_no.as_str()))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the unit does not see the case"))?;
    assert!(!list.to_string().contains(&id), "no full ID number in the list");
    assert_eq!(case["id_card_masked"].as_str().map(|m| m.contains("****")), Some(true));
    assert_eq!(case["bank_account_masked"], "**** **** **** 8901");
    let case_id = case["id"].as_str().unwrap().to_owned();
    let detail = app
        .get_json(&jiceng, &format!("/api/v1/relief/cases/{case_id}"))
        .await?;
    assert_eq!(detail["attachments"].as_array().map(Vec::len), Some(3));

    // Unit → district → city.
    let lixia = app.token("lixia").await?;
    let early = problem(
        decide(&app, &lixia, &case_id, "approve", None).await?,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await?;
    assert!(field_error(&early, "decision").contains("基层单位"), "{early}");
    let step1: Value = decide(&app, &jiceng, &case_id, "approve", Some("材料齐全"))
        .await?
        .json()
        .await?;
    assert_eq!(
        (step1["status"].as_str(), step1["step"].as_i64()),
        (Some("pending"), Some(1))
    );
    let step2: Value = decide(&app, &lixia, &case_id, "approve", None).await?.json().await?;
    assert_eq!(
        (step2["status"].as_str(), step2["step"].as_i64()),
        (Some("pending"), Some(2))
    );
    let step3: Value = decide(&app, &shi, &case_id, "approve", None).await?.json().await?;
    assert_eq!(step3["status"], "approved");
    let detail = app.get_json(&shi, &format!("/api/v1/relief/cases/{case_id}")).await?;
    let levels: Vec<&str> = detail["reviews"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["level"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(levels, ["unit", "district", "city"]);

    // The bank's file lists it with the full account.
    let (web, _) = app.sign_in("caiwu").await?;
    let xlsx = web.get(app.url("/relief/payments.xlsx")).send().await?;
    assert_eq!(xlsx.status(), StatusCode::OK);
    assert!(xlsx.bytes().await?.starts_with(b"PK"));

    // Payment.
    let money_before = money_of(&app, &caiwu, &project_id).await?;
    let paid = app
        .client()
        .post(app.url("/api/v1/relief/payments"))
        .bearer_auth(&caiwu)
        .json(&json!({"case_ids": [case_id]}))
        .send()
        .await?;
    assert_eq!(paid.status(), StatusCode::OK);
    let paid: Value = paid.json().await?;
    let paid = &paid["items"][0];
    assert_eq!(paid["status"], "paid");
    let index = paid["ledger_index"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no ledger index"))?;
    let pseudonym = paid["pseudonym"].as_str().unwrap().to_owned();
    assert_eq!(money_of(&app, &caiwu, &project_id).await?, money_before - 2_000_000);

    // The journal: the case page's entry.
    let detail = app.get_json(&shi, &format!("/api/v1/relief/cases/{case_id}")).await?;
    assert_eq!(detail["entry"]["kind"], "disbursement");
    assert_eq!(detail["entry"]["amount"], 2_000_000);
    assert_eq!(detail["entry"]["project_id"], project_id.as_str());
    assert_eq!(detail["entry"]["ledger_index"], index);
    let (staff_web, _) = app.sign_in("shi").await?;
    let page = staff_web
        .get(app.url(&format!("/relief/cases/{case_id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("资金来源") && page.contains(&format!("第 {index} 条")));

    // The public ledger: kind, amount, pseudonym, no name.
    let proof = app.get_json(&shi, &format!("/api/v1/ledger/proofs/{index}")).await?;
    let entry: Value = serde_json::from_str(proof["entry"].as_str().unwrap())?;
    assert_eq!(entry["kind"], "disbursement");
    assert_eq!(entry["amount_fen"], 2_000_000);
    assert_eq!(entry["project_id"], project_id.as_str());
    assert_eq!(entry["recipient"], pseudonym.as_str());
    assert!(!proof["entry"].as_str().unwrap().contains("王建国"));

    // The trace of a gift that paid for it reaches the case.
    let checkpoint = app.client().get(app.url("/ledger/checkpoint")).send().await?;
    assert_eq!(checkpoint.status(), StatusCode::OK);
    let size = u64::try_from(ledger_size(&app).await?)?;
    let entries = app.store.ledger_entries_parsed(size).await?;
    let gift_index = (0..entries.len())
        .filter(|i| entries[*i].kind == "gift")
        .find(|i| {
            boai_ledger::trace::trace_gift(&entries, *i as u64).is_ok_and(|t| {
                t.flows
                    .iter()
                    .any(|f| matches!(&f.end, boai_ledger::trace::End::Spent { step } if step.index == index as u64))
            })
        })
        .ok_or_else(|| anyhow::anyhow!("no gift's trace reaches the payment"))?;
    let trace = app
        .get_json(&shi, &format!("/api/v1/ledger/trace/{gift_index}"))
        .await?;
    let text = trace.to_string();
    assert!(text.contains(&pseudonym), "the trace names the case's pseudonym");
    let cases = trace["relief_cases"].as_array().cloned().unwrap_or_default();
    let found = cases
        .iter()
        .find(|c| c["ledger_index"] == index)
        .ok_or_else(|| anyhow::anyhow!("the trace lists the case: {text}"))?;
    assert_eq!(found["programme"], "尿毒症救助");
    assert_eq!(found["pseudonym"], pseudonym.as_str());
    assert!(!text.contains("王建国"));
    let public = app
        .client()
        .get(app.url(&format!("/relief/aided/{index}")))
        .send()
        .await?;
    assert_eq!(public.status(), StatusCode::OK);
    let public = public.text().await?;
    assert!(public.contains(&pseudonym) && public.contains("¥20,000.00") && !public.contains("王建国"));

    // After payment nothing more happens to it.
    let again = problem(
        decide(&app, &shi, &case_id, "approve", None).await?,
        StatusCode::CONFLICT,
    )
    .await?;
    assert!(again["detail"].as_str().unwrap().contains("已有最终决定"));
    let status: Value = app
        .client()
        .post(app.url("/api/v1/relief/status"))
        .json(&json!({"case_no": case_no, "lookup_code": code}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(status["status"], "paid");
    // Notifications: filed, approved, paid.
    let conn = app.db.raw().await?;
    let wanted: uuid::Uuid = case_id.parse()?;
    let rows = conn
        .query_all(Statement::from_string(
            conn.get_database_backend(),
            "SELECT case_id FROM relief_notifications".to_owned(),
        ))
        .await?;
    let mut n = 0;
    for r in rows {
        if r.try_get::<uuid::Uuid>("", "case_id")? == wanted {
            n += 1;
        }
    }
    assert_eq!(n, 3);
    Ok(())
}

#[tokio::test]
async fn bad_applications_are_refused_and_change_nothing() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let shi = app.token("shi").await?;
    let jiceng = app.token("jiceng").await?;
    let uremia = programme(&app, &shi, "尿毒症救助").await?;
    let angel = programme(&app, &shi, "红十字天使计划").await?;
    let before = snapshot(&app, &shi).await?;

    // Incomplete: every missing field named.
    let res = file_case(&app, &jiceng, &json!({"programme_id": uremia["id"], "documents": []})).await?;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await?;
    assert_eq!(p["title"], "输入有误");
    for field in [
        "applicant_name",
        "id_card",
        "phone",
        "district",
        "household_size",
        "household_income",
        "diagnosis",
        "bank_account",
        "documents[0]",
    ] {
        assert!(!field_error(&p, field).is_empty(), "{field} not named: {p}");
    }
    assert_eq!(field_error(&p, "documents[1]"), "请上传诊断证明");

    // Ineligible: the failing rule in words.
    let adult = id_card(&born_years_ago(67), 2);
    let res = file_case(&app, &jiceng, &application(&angel, &adult, "急性白血病", 2_000_000)).await?;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await?;
    let why = field_error(&p, "eligibility");
    assert!(why.starts_with("不符合") && why.contains("本项目要求 0–18 岁"), "{why}");
    let res = file_case(&app, &jiceng, &application(&uremia, &adult, "高血压", 1_000_000)).await?;
    let why = field_error(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await?, "eligibility");
    assert!(why.contains("诊断「高血压」不在本项目救助病种"), "{why}");

    // A file whose content is not its type, and one too large.
    let mut body = application(&uremia, &id_card(&born_years_ago(40), 3), "尿毒症", 1_000_000);
    body["documents"][1] = json!({"name": "诊断.pdf", "content_base64": b64(PNG)});
    let mut big = PDF.to_vec();
    big.resize(5 * 1024 * 1024 + 1, b'x');
    body["documents"][2] = json!({"name": "透析.pdf", "content_base64": b64(&big)});
    let p = problem(file_case(&app, &jiceng, &body).await?, StatusCode::UNPROCESSABLE_ENTITY).await?;
    assert_eq!(field_error(&p, "documents[1]"), "诊断证明: 附件内容与文件类型不符");
    assert!(field_error(&p, "documents[2]").contains("不能超过 5 MB"), "{p}");
    // Over the programme's maximum grant.
    let body = application(&uremia, &id_card(&born_years_ago(40), 3), "尿毒症", 9_000_000);
    let p = problem(file_case(&app, &jiceng, &body).await?, StatusCode::UNPROCESSABLE_ENTITY).await?;
    assert!(field_error(&p, "amount").contains("最高救助额"));
    assert_eq!(
        snapshot(&app, &shi).await?,
        before,
        "nothing written by refused applications"
    );

    // A good one, then a duplicate for the same person.
    let person = id_card(&born_years_ago(45), 4);
    let res = file_case(&app, &jiceng, &application(&uremia, &person, "尿毒症", 1_000_000)).await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let filed: Value = res.json().await?;
    let after_one = snapshot(&app, &shi).await?;
    let mut dup = application(&uremia, &person, "慢性肾衰竭", 500_000);
    dup["applicant_name"] = json!("同一人");
    let p = problem(file_case(&app, &jiceng, &dup).await?, StatusCode::UNPROCESSABLE_ENTITY).await?;
    assert!(
        field_error(&p, "id_card").contains(filed["case_no"].as_str().unwrap_or("?")),
        "{p}"
    );
    assert_eq!(snapshot(&app, &shi).await?, after_one);

    // Staff of another unit's district file nothing for 历下区 units.
    app.add_user("shizhong", boai_domain::accounts::Role::DistrictStaff, "JN-SZ")
        .await?;
    let shizhong = app.token("shizhong").await?;
    let mut other = application(&uremia, &id_card(&born_years_ago(50), 5), "尿毒症", 500_000);
    other["unit_id"] = json!(boai_store::demo::org_id("JN-LX-001").to_string());
    let p = problem(
        file_case(&app, &shizhong, &other).await?,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await?;
    assert!(!field_error(&p, "unit_id").is_empty());
    // The supervisor reads but may not file (checked before the body).
    let sup = app.token("supervisor").await?;
    let res = app
        .client()
        .post(app.url("/api/v1/relief/cases"))
        .bearer_auth(&sup)
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(snapshot(&app, &shi).await?, after_one);
    Ok(())
}

#[tokio::test]
async fn reviews_refuse_wrong_level_scope_own_case_double_approval_and_late_actions() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let shi = app.token("shi").await?;
    let jiceng = app.token("jiceng").await?;
    let lixia = app.token("lixia").await?;
    let uremia = programme(&app, &shi, "尿毒症救助").await?;
    // Filed by jiceng: jiceng may not review it.
    let res = file_case(
        &app,
        &jiceng,
        &application(&uremia, &id_card(&born_years_ago(44), 10), "尿毒症", 2_000_000),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let own: Value = res.json().await?;
    let own_id = own["id"].as_str().unwrap().to_owned();
    let before = snapshot(&app, &shi).await?;
    let p = problem(
        decide(&app, &jiceng, &own_id, "approve", None).await?,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await?;
    assert_eq!(field_error(&p, "decision"), "不能审核自己经办提交的申请");
    // Wrong level: the city at the unit's step.
    let p = problem(
        decide(&app, &shi, &own_id, "approve", None).await?,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await?;
    assert!(field_error(&p, "decision").contains("基层单位审核"), "{p}");
    // Outside the subtree: another district's staff get not found.
    app.add_user("shizhong", boai_domain::accounts::Role::DistrictStaff, "JN-SZ")
        .await?;
    let shizhong = app.token("shizhong").await?;
    let res = decide(&app, &shizhong, &own_id, "approve", None).await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .client()
        .get(app.url(&format!("/api/v1/relief/cases/{own_id}")))
        .bearer_auth(&shizhong)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Rejecting needs a reason the applicant sees.
    let p = problem(
        decide(&app, &lixia, &own_id, "reject", Some(" ")).await?,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await?;
    assert!(!field_error(&p, "reason").is_empty() || !field_error(&p, "decision").is_empty());
    assert_eq!(
        snapshot(&app, &shi).await?,
        Snapshot {
            cases: before.cases,
            audit: before.audit,
            ledger: before.ledger
        }
    );

    // Filed online (no staff filer), approved at the unit by jiceng, who then
    // moves to the district branch: a second approval in the chain is refused.
    app.add_user(
        "zhanzhang",
        boai_domain::accounts::Role::GrassrootsOperator,
        "JN-LX-001",
    )
    .await?;
    let zhanzhang = app.token("zhanzhang").await?;
    let res = file_case(
        &app,
        &zhanzhang,
        &application(&uremia, &id_card(&born_years_ago(41), 11), "尿毒症", 2_000_000),
    )
    .await?;
    let case: Value = res.json().await?;
    let case_id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(
        decide(&app, &jiceng, &case_id, "approve", None).await?.status(),
        StatusCode::OK
    );
    let conn = app.db.raw().await?;
    let backend = conn.get_database_backend();
    let placeholder = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    conn.execute(Statement::from_sql_and_values(
        backend,
        format!("UPDATE users SET org_id = {placeholder} WHERE username = 'jiceng'"),
        [sea_orm::Value::Uuid(Some(Box::new(
            boai_store::demo::org_id("JN-LX").0,
        )))],
    ))
    .await?;
    // A change made behind the server's back (not through it) reaches a
    // token already in use within the token cache's lifetime.
    tokio::time::sleep(boai_store::accounts::TOKEN_CACHE_TTL).await;
    let before = snapshot(&app, &shi).await?;
    let p = problem(
        decide(&app, &jiceng, &case_id, "approve", None).await?,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await?;
    assert_eq!(field_error(&p, "decision"), "同一审核链中您已同意过一次, 不能重复审批");
    assert_eq!(snapshot(&app, &shi).await?, before);

    // Return for documents, resubmit, reject with a reason; then nothing more.
    let returned: Value = decide(&app, &lixia, &case_id, "return", Some("请补充透析记录原件"))
        .await?
        .json()
        .await?;
    assert_eq!(returned["status"], "returned");
    let p = problem(
        decide(&app, &lixia, &case_id, "approve", None).await?,
        StatusCode::CONFLICT,
    )
    .await?;
    assert!(p["detail"].as_str().unwrap().contains("补充材料"));
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/relief/cases/{case_id}/resubmit")))
        .bearer_auth(&zhanzhang)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let rejected: Value = decide(&app, &lixia, &case_id, "reject", Some("家庭收入超过标准"))
        .await?
        .json()
        .await?;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["public_reason"], "家庭收入超过标准");
    let before = snapshot(&app, &shi).await?;
    let p = problem(
        decide(&app, &shi, &case_id, "approve", None).await?,
        StatusCode::CONFLICT,
    )
    .await?;
    assert!(p["detail"].as_str().unwrap().contains("已有最终决定"));
    let caiwu = app.token("caiwu").await?;
    let res = app
        .client()
        .post(app.url("/api/v1/relief/payments"))
        .bearer_auth(&caiwu)
        .json(&json!({"case_ids": [case_id]}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(snapshot(&app, &shi).await?, before);
    Ok(())
}

/// Files and approves a case through every level it needs.
async fn approved_case(app: &TestApp, programme: &Value, n: u32, amount_fen: i64) -> anyhow::Result<String> {
    let zhanzhang = app.token("zhanzhang").await?;
    let res = file_case(
        app,
        &zhanzhang,
        &application(
            programme,
            &id_card(&born_years_ago(40 + (n % 20) as i32), n),
            "尿毒症",
            amount_fen,
        ),
    )
    .await?;
    anyhow::ensure!(res.status() == StatusCode::CREATED, "filing: {}", res.text().await?);
    let case: Value = res.json().await?;
    let id = case["id"].as_str().unwrap().to_owned();
    for user in ["jiceng", "lixia", "shi"] {
        let token = app.token(user).await?;
        let res: Value = decide(app, &token, &id, "approve", None).await?.json().await?;
        if res["status"] == "approved" {
            return Ok(id);
        }
    }
    anyhow::bail!("not approved")
}

#[tokio::test]
async fn payment_never_exceeds_the_fund_or_the_budget() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    app.add_user(
        "zhanzhang",
        boai_domain::accounts::Role::GrassrootsOperator,
        "JN-LX-001",
    )
    .await?;
    let shi = app.token("shi").await?;
    let caiwu = app.token("caiwu").await?;
    let uremia = programme(&app, &shi, "尿毒症救助").await?;
    let project_id = uremia["project_id"].as_str().unwrap().to_owned();
    let pid = uremia["id"].as_str().unwrap().to_owned();
    // Allow large grants, then ask for more than the fund holds.
    let money = money_of(&app, &caiwu, &project_id).await?;
    let mut settings = json!({
        "yearly_budget_fen": 10_000_000_000i64, "documents": uremia["documents"],
        "standard_grant_fen": 100_000, "max_grant_fen": 5_000_000_000i64, "payee": "person",
        "rule": uremia["rule"], "flow": uremia["flow"],
    });
    let res = app
        .client()
        .put(app.url(&format!("/api/v1/relief/programmes/{pid}")))
        .bearer_auth(&shi)
        .json(&settings)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let too_much = approved_case(&app, &uremia, 21, money + 100).await?;
    let before = snapshot(&app, &shi).await?;
    let res = app
        .client()
        .post(app.url("/api/v1/relief/payments"))
        .bearer_auth(&caiwu)
        .json(&json!({"case_ids": [too_much]}))
        .send()
        .await?;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await?;
    assert!(field_error(&p, "amount_fen").contains("余额不足"), "{p}");
    assert_eq!(snapshot(&app, &shi).await?, before);
    assert_eq!(money_of(&app, &caiwu, &project_id).await?, money);
    let case = app.get_json(&shi, &format!("/api/v1/relief/cases/{too_much}")).await?;
    assert_eq!(case["status"], "approved");

    // A budget with ¥100 left for the year: a ¥1,000 grant is refused.
    let paid_this_year: i64 = {
        let conn = app.db.raw().await?;
        let rows = conn
            .query_all(Statement::from_string(
                conn.get_database_backend(),
                "SELECT programme_id, amount_fen, paid_at FROM relief_cases WHERE status = 'paid'".to_owned(),
            ))
            .await?;
        let wanted: uuid::Uuid = pid.parse()?;
        let year = chrono::Datelike::year(&(chrono::Utc::now() + chrono::Duration::hours(8)));
        let mut sum = 0;
        for r in rows {
            if r.try_get::<uuid::Uuid>("", "programme_id")? != wanted {
                continue;
            }
            let at: chrono::DateTime<chrono::Utc> = r.try_get("", "paid_at")?;
            if chrono::Datelike::year(&(at + chrono::Duration::hours(8))) == year {
                sum += r.try_get::<i64>("", "amount_fen")?;
            }
        }
        sum
    };
    settings["yearly_budget_fen"] = json!(paid_this_year + 10_000);
    settings["max_grant_fen"] = json!(100_000);
    let res = app
        .client()
        .put(app.url(&format!("/api/v1/relief/programmes/{pid}")))
        .bearer_auth(&shi)
        .json(&settings)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await?);
    let small = approved_case(&app, &uremia, 22, 100_000).await?;
    let before = snapshot(&app, &shi).await?;
    let money = money_of(&app, &caiwu, &project_id).await?;
    let res = app
        .client()
        .post(app.url("/api/v1/relief/payments"))
        .bearer_auth(&caiwu)
        .json(&json!({"case_ids": [small]}))
        .send()
        .await?;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await?;
    let why = field_error(&p, "amount_fen");
    assert!(why.contains("剩余预算") && why.contains("¥100.00"), "{why}");
    assert_eq!(snapshot(&app, &shi).await?, before);
    assert_eq!(money_of(&app, &caiwu, &project_id).await?, money);
    // Bad settings are refused with the row named.
    settings["rule"] = json!({"combine": "all", "conditions": [{"field": "age", "op": "between", "value": "18-3"}]});
    let p = problem(
        app.client()
            .put(app.url(&format!("/api/v1/relief/programmes/{pid}")))
            .bearer_auth(&shi)
            .json(&settings)
            .send()
            .await?,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await?;
    assert!(!field_error(&p, "conditions[0]").is_empty());
    // Only those who may manage the programme's owner change it.
    let lixia = app.token("lixia").await?;
    let res = app
        .client()
        .put(app.url(&format!("/api/v1/relief/programmes/{pid}")))
        .bearer_auth(&lixia)
        .json(&settings)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    Ok(())
}

#[tokio::test]
async fn statistics_equal_direct_sums_over_the_cases() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let shi = app.token("shi").await?;
    let conn = app.db.raw().await?;
    let rows = conn
        .query_all(Statement::from_string(
            conn.get_database_backend(),
            "SELECT programme_id, status, district, id_hash, amount_fen, created_at FROM relief_cases".to_owned(),
        ))
        .await?;
    assert!(rows.len() >= 7 * 8, "the demo has cases in every state");
    #[derive(Default, Debug, PartialEq)]
    struct T {
        applications: u64,
        approved: u64,
        paid: u64,
        paid_fen: i64,
        people: BTreeSet<String>,
    }
    /// In all, by district, by month.
    type Tallies = (T, BTreeMap<String, T>, BTreeMap<String, T>);
    let mut per: HashMap<String, Tallies> = HashMap::new();
    let mut statuses = BTreeSet::new();
    for r in &rows {
        let programme: uuid::Uuid = r.try_get("", "programme_id")?;
        let status: String = r.try_get("", "status")?;
        let district: String = r.try_get("", "district")?;
        let person: String = r.try_get("", "id_hash")?;
        let amount: i64 = r.try_get("", "amount_fen")?;
        let at: chrono::DateTime<chrono::Utc> = r.try_get("", "created_at")?;
        let month = (at + chrono::Duration::hours(8)).format("%Y-%m").to_string();
        statuses.insert(status.clone());
        let e = per.entry(programme.to_string()).or_default();
        let add = |t: &mut T| {
            t.applications += 1;
            if status == "approved" || status == "paid" {
                t.approved += 1;
            }
            if status == "paid" {
                t.paid += 1;
                t.paid_fen += amount;
                t.people.insert(person.clone());
            }
        };
        add(&mut e.0);
        add(e.1.entry(district).or_default());
        add(e.2.entry(month).or_default());
    }
    assert_eq!(statuses.len(), 5, "every state: {statuses:?}");
    let check = |api: &Value, t: &T| {
        assert_eq!(api["applications"].as_u64(), Some(t.applications));
        assert_eq!(api["approved"].as_u64(), Some(t.approved));
        assert_eq!(api["paid"].as_u64(), Some(t.paid));
        assert_eq!(api["paid_fen"].as_i64(), Some(t.paid_fen));
        assert_eq!(api["people"].as_u64(), Some(t.people.len() as u64));
    };
    let (web, _) = app.sign_in("shi").await?;
    for (programme, (total, districts, months)) in &per {
        let stats = app
            .get_json(&shi, &format!("/api/v1/relief/stats?programme_id={programme}"))
            .await?;
        check(&stats["total"], total);
        assert_eq!(stats["by_district"].as_object().map(|o| o.len()), Some(districts.len()));
        for (d, t) in districts {
            check(&stats["by_district"][d], t);
        }
        for (m, t) in months {
            check(&stats["by_month"][m], t);
        }
        let page = web
            .get(app.url(&format!("/relief/programmes/{programme}")))
            .send()
            .await?
            .text()
            .await?;
        assert_eq!(
            text_between(&page, "id=\"p-applications\">", "<"),
            Some(total.applications.to_string().as_str())
        );
        assert_eq!(
            text_between(&page, "id=\"p-paid\">", "<"),
            Some(total.paid.to_string().as_str())
        );
        assert_eq!(
            text_between(&page, "id=\"p-people\">", "<"),
            Some(total.people.len().to_string().as_str())
        );
        assert_eq!(
            text_between(&page, "id=\"p-amount\">", "<").map(str::to_owned),
            Some(boai_domain::money::Fen(total.paid_fen).display_yuan())
        );
        assert!(page.contains("<svg"), "charts on the programme page");
    }
    // Every paid demo case owns a disbursement of its programme's fund, same amount.
    let paid = conn
        .query_all(Statement::from_string(
            conn.get_database_backend(),
            "SELECT c.amount_fen AS a, j.amount_fen AS b, j.kind AS k, c.ledger_index AS ci, j.ledger_index AS ji, \
             p.project_id AS pp, j.project_id AS jp FROM relief_cases c JOIN journal_entries j ON j.id = c.journal_entry_id \
             JOIN relief_programmes p ON p.id = c.programme_id WHERE c.status = 'paid'"
                .to_owned(),
        ))
        .await?;
    for r in &paid {
        assert_eq!(r.try_get::<i64>("", "a")?, r.try_get::<i64>("", "b")?);
        assert_eq!(r.try_get::<String>("", "k")?, "disbursement");
        assert_eq!(r.try_get::<Option<i64>>("", "ci")?, r.try_get::<Option<i64>>("", "ji")?);
        assert_eq!(r.try_get::<uuid::Uuid>("", "pp")?, r.try_get::<uuid::Uuid>("", "jp")?);
    }
    let relief_disbursements = conn
        .query_one(Statement::from_string(
            conn.get_database_backend(),
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM journal_entries j JOIN relief_programmes p ON p.project_id = j.project_id \
             WHERE j.kind = 'disbursement'"
                .to_owned(),
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?;
    assert_eq!(
        relief_disbursements,
        Some(paid.len() as i64),
        "every relief disbursement is a paid case"
    );
    Ok(())
}

#[tokio::test]
async fn the_rule_form_edits_rules_and_lists_are_scoped() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let shi = app.token("shi").await?;
    let angel = programme(&app, &shi, "红十字天使计划").await?;
    let id = angel["id"].as_str().unwrap().to_owned();
    let (web, csrf) = app.sign_in("shi").await?;
    let page = web
        .get(app.url(&format!("/relief/programmes/{id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("年龄 0–18 岁"));
    // A bad row is named and nothing changes.
    let audit = audit_total(&app).await?;
    let res = web
        .post(app.url(&format!("/relief/programmes/{id}")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("combine", "all"),
            ("field_0", "age"),
            ("value_0", "abc"),
        ])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await?.contains("须写成 最小-最大"));
    assert_eq!(audit_total(&app).await?, audit);
    let res = web
        .post(app.url(&format!("/relief/programmes/{id}")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("combine", "all"),
            ("field_0", "age"),
            ("value_0", "0-14"),
            ("field_1", "residence_district"),
            ("value_1", "历下区, 市中区"),
        ])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let after = programme(&app, &shi, "红十字天使计划").await?;
    assert_eq!(after["rule_text"], "年龄 0–14 岁, 且 居住在 历下区、市中区");
    assert_eq!(audit_total(&app).await?, audit + 1);
    // Without the form's token nothing changes.
    let res = web
        .post(app.url(&format!("/relief/programmes/{id}")))
        .form(&[("csrf", "forged"), ("combine", "any")])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // lixia sees 历下区's cases only; the city sees more.
    let lixia = app.token("lixia").await?;
    let mine = app.get_json(&lixia, "/api/v1/relief/cases?per_page=100").await?;
    let all = app.get_json(&shi, "/api/v1/relief/cases?per_page=100").await?;
    assert!(mine["total"].as_u64() < all["total"].as_u64());
    assert!(mine["items"]
        .as_array()
        .is_some_and(|i| !i.is_empty() && i.iter().all(|c| c["district"] == "历下区")));
    let foreign = all["items"]
        .as_array()
        .and_then(|i| i.iter().find(|c| c["district"] != "历下区"))
        .and_then(|c| c["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let res = app
        .client()
        .get(app.url(&format!("/api/v1/relief/cases/{foreign}")))
        .bearer_auth(&lixia)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Overdue cases are flagged.
    let overdue = app
        .get_json(&shi, "/api/v1/relief/cases?overdue=true&per_page=100")
        .await?;
    assert!(overdue["total"].as_u64().unwrap_or(0) > 0);
    let page = web.get(app.url("/relief/cases?overdue=1")).send().await?.text().await?;
    assert!(page.contains("overdue-flag"));
    let overview = web.get(app.url("/relief")).send().await?.text().await?;
    assert!(overview.contains("<svg") && overview.contains("尿毒症救助"));
    Ok(())
}
