//! Members, dues and councils over real HTTP on the backend the testkit
//! picks: dues figures against direct counts, receipt numbers refused twice,
//! imports (.xlsx and GBK .csv, both modes), scope, ID numbers never shown in
//! full, reminders and lapsing idempotent, council minutes.

use boai_domain::validation::identity::id_card_check_char;
use boai_store::demo::org_id;
use boai_testkit::{backend, hidden_field, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A valid ID number, distinct per `n` (born 1980-01-01 + n days in 历下区).
fn id_card(n: u32) -> String {
    let born = chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap_or_default() + chrono::Duration::days(i64::from(n));
    let body = format!("370102{}{:03}", born.format("%Y%m%d"), 900 + n % 100);
    format!("{body}{}", id_card_check_char(&body).unwrap_or('0'))
}

/// The same number with a wrong check character.
fn bad_id_card(n: u32) -> String {
    let good = id_card(n);
    let last = good.chars().last().unwrap_or('0');
    format!("{}{}", &good[..17], if last == '1' { '2' } else { '1' })
}

fn yuan(fen: i64) -> String {
    boai_domain::money::Fen(fen).display_yuan()
}

/// Members of 历下区 (SQL condition on `m`).
const IN_LIXIA: &str =
    "m.org_id IN (SELECT o.id FROM orgs o WHERE o.path LIKE (SELECT d.path FROM orgs d WHERE d.code = 'JN-LX') || '%')";

/// The year `y` is due for member `m` (joined by then, not lapsed in or before it, a rate above zero).
fn due_sql(y: i64) -> String {
    format!(
        "EXISTS (SELECT 1 FROM dues_rates r WHERE r.type_code = m.type_code AND r.year = {y} AND r.amount_fen > 0) \
         AND m.joined_on <= '{y}-12-31' AND (m.status = 'active' OR m.lapsed_on >= '{}-01-01')",
        y + 1
    )
}

#[tokio::test]
async fn dues_figures_equal_direct_counts() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("lixia").await?;
    let (status, dues) = app.get(&token, "/api/v1/members/dues").await?;
    assert_eq!(status, StatusCode::OK, "{dues}");
    let y = dues["year"].as_i64().unwrap();
    assert!(y >= 2025);
    let collected = app.count(&format!(
            "SELECT CAST(COALESCE(SUM(p.amount_fen), 0) AS BIGINT) FROM dues_payments p JOIN members m ON m.id = p.member_id \
             WHERE p.year = {y} AND {IN_LIXIA}"
        ))
    .await?;
    let expected = app
        .count(&format!(
            "SELECT CAST(COALESCE(SUM(r.amount_fen), 0) AS BIGINT) FROM members m JOIN dues_rates r \
             ON r.type_code = m.type_code AND r.year = {y} WHERE {IN_LIXIA} AND {}",
            due_sql(y)
        ))
        .await?;
    let due = app
        .count(&format!(
            "SELECT COUNT(*) FROM members m WHERE {IN_LIXIA} AND {}",
            due_sql(y)
        ))
        .await?;
    let paid = app
        .count(&format!(
            "SELECT COUNT(*) FROM members m WHERE {IN_LIXIA} AND {} AND EXISTS \
             (SELECT 1 FROM dues_payments p WHERE p.member_id = m.id AND p.year = {y})",
            due_sql(y)
        ))
        .await?;
    assert!(collected > 0 && expected > collected && due > paid && paid > 0);
    assert_eq!(dues["collected_fen"], collected);
    assert_eq!(dues["expected_fen"], expected);
    assert_eq!(dues["members_due"], due);
    assert_eq!(dues["members_paid"], paid);
    assert_eq!(dues["in_arrears"], due - paid);
    // Past years too, and the same figures for city staff asking about 历下区.
    let shi = app.token("shi").await?;
    let (_, last) = app
        .get(
            &shi,
            &format!("/api/v1/members/dues?year={}&org_id={}", y - 1, org_id("JN-LX")),
        )
        .await?;
    let collected_last = app.count(&format!(
            "SELECT CAST(COALESCE(SUM(p.amount_fen), 0) AS BIGINT) FROM dues_payments p JOIN members m ON m.id = p.member_id \
             WHERE p.year = {} AND {IN_LIXIA}",
            y - 1
        ))
    .await?;
    assert_eq!(last["collected_fen"], collected_last);
    // The branch page shows the same figures.
    let (page, _) = app.sign_in("lixia").await?;
    let html = page
        .get(app.url(&format!("/orgs/{}", org_id("JN-LX"))))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        html.contains(&format!("id=\"dues-collected\">{}<", yuan(collected))),
        "collected"
    );
    assert!(
        html.contains(&format!("id=\"dues-expected\">{}<", yuan(expected))),
        "expected"
    );
    assert!(html.contains(&format!("id=\"dues-arrears\">{}<", due - paid)));
    assert!(html.contains("<svg"));
    // Arrears: active members with any due year unpaid, counted directly.
    let joined_year = if backend() == "postgres" {
        "CAST(EXTRACT(YEAR FROM m.joined_on) AS INTEGER)"
    } else {
        "CAST(strftime('%Y', m.joined_on) AS INTEGER)"
    };
    let in_arrears = app
        .count(&format!(
            "SELECT COUNT(*) FROM members m WHERE {IN_LIXIA} AND m.status = 'active' AND EXISTS \
             (SELECT 1 FROM dues_rates r WHERE r.type_code = m.type_code AND r.amount_fen > 0 AND r.year <= {y} \
              AND r.year >= {joined_year} AND NOT EXISTS \
              (SELECT 1 FROM dues_payments p WHERE p.member_id = m.id AND p.year = r.year))"
        ))
        .await?;
    let (_, arrears) = app.get(&token, "/api/v1/members/arrears?per_page=5").await?;
    assert_eq!(arrears["total"], in_arrears);
    assert!(in_arrears > 0);
    // The branch page lists all its units, a hundred at a time.
    assert!(html.contains("1 / 2"), "186 units on two pages");
    let second = page
        .get(app.url(&format!("/orgs/{}?page=2", org_id("JN-LX"))))
        .send()
        .await?
        .text()
        .await?;
    assert!(second.contains("2 / 2") && second.contains("/orgs/"));
    Ok(())
}

#[tokio::test]
async fn lixia_sees_only_her_members() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("lixia").await?;
    let c = app.client();
    let (status, list) = app.get(&token, "/api/v1/members?per_page=100").await?;
    assert_eq!(status, StatusCode::OK);
    let direct = app
        .count(&format!("SELECT COUNT(*) FROM members m WHERE {IN_LIXIA}"))
        .await?;
    assert!(direct > 100);
    assert_eq!(list["total"], direct);
    for m in list["items"].as_array().into_iter().flatten() {
        assert_eq!(m["branch_name"], "历下区红十字会");
    }
    // Another district's member: 404 by API, page and payment.
    let shi = app.token("shi").await?;
    let (_, others) = app
        .get(
            &shi,
            &format!("/api/v1/members?branch_id={}&per_page=1", org_id("JN-SZ")),
        )
        .await?;
    let other = others["items"][0]["id"].as_str().unwrap().to_owned();
    assert!(!other.is_empty());
    let (status, _) = app.get(&token, &format!("/api/v1/members/{other}")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let res = c
        .post(app.url(&format!("/api/v1/members/{other}/payments")))
        .bearer_auth(&token)
        .json(&json!({"year": 2025, "amount_fen": 5000, "receipt_no": "LX-PROBE-1"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (page, _) = app.sign_in("lixia").await?;
    let res = page.get(app.url(&format!("/members/{other}"))).send().await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = page.get(app.url("/members")).send().await?.text().await?;
    assert!(html.contains("历下") && !html.contains("市中区红十字会</td>"));
    // Nor may she add a member to another district's unit.
    let res = c
        .post(app.url("/api/v1/members"))
        .bearer_auth(&token)
        .json(
            &json!({"unit_id": org_id("JN-SZ-001").to_string(), "name": "张三", "type_code": "ordinary",
                       "id_card_no": id_card(1)}),
        )
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The councils of the city are not hers; her branch's are.
    let (status, _) = app.get(&token, &format!("/api/v1/councils/{}", org_id("JN"))).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, council) = app
        .get(&token, &format!("/api/v1/councils/{}", org_id("JN-LX")))
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert!(council["members"].as_array().is_some_and(|m| m.len() >= 9));
    Ok(())
}

#[tokio::test]
async fn id_numbers_never_leave_in_full() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("lixia").await?;
    let c = app.client();
    let id = id_card(7);
    let res = c
        .post(app.url("/api/v1/members"))
        .bearer_auth(&token)
        .json(
            &json!({"unit_id": org_id("JN-LX-001").to_string(), "name": "测试会员", "type_code": "ordinary",
                       "id_card_no": id, "phone": "13800138000", "joined_on": "2024-03-01"}),
        )
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await?;
    let member = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["id_card_masked"],
        format!("{}***********{}", &id[..3], &id[14..])
    );
    assert!(!created.to_string().contains(&id) && !created.to_string().contains("13800138000"));
    // Found by the full number (keyed hash), shown masked.
    let (_, found) = app.get(&token, &format!("/api/v1/members?q={id}")).await?;
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["id"], member.as_str());
    assert!(!found.to_string().contains(&id));
    let (_, one) = app.get(&token, &format!("/api/v1/members/{member}")).await?;
    assert!(!one.to_string().contains(&id));
    let (page, _) = app.sign_in("lixia").await?;
    for path in [format!("/members/{member}"), format!("/members?q={id}")] {
        let html = page.get(app.url(&path)).send().await?.text().await?;
        assert!(!html.contains(&id), "{path}");
        assert!(html.contains("测试会员"), "{path}");
    }
    // A second member with the same number is refused.
    let res = c
        .post(app.url("/api/v1/members"))
        .bearer_auth(&token)
        .json(
            &json!({"unit_id": org_id("JN-LX-002").to_string(), "name": "重复", "type_code": "ordinary",
                       "id_card_no": id}),
        )
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await?;
    assert!(!problem.to_string().contains(&id));
    // Neither the table nor the audit trail holds it in clear.
    let clear = app
        .count(&format!(
            "SELECT COUNT(*) FROM members WHERE id_card_enc LIKE '%{id}%' OR id_card_masked = '{id}'"
        ))
        .await?;
    assert_eq!(clear, 0);
    let audited = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE \"after\" LIKE '%{id}%' OR \"before\" LIKE '%{id}%'"
        ))
        .await?;
    assert_eq!(audited, 0);
    // A bad check digit is a field error.
    let res = c
        .post(app.url("/api/v1/members"))
        .bearer_auth(&token)
        .json(
            &json!({"unit_id": org_id("JN-LX-001").to_string(), "name": "错号", "type_code": "ordinary",
                       "id_card_no": bad_id_card(8)}),
        )
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await?.contains("校验位"));
    Ok(())
}

#[tokio::test]
async fn a_receipt_number_is_used_once_and_a_refusal_changes_nothing() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("shi").await?;
    let c = app.client();
    let (_, arrears) = app.get(&token, "/api/v1/members/arrears?per_page=2").await?;
    let first = &arrears["items"][0];
    let second = &arrears["items"][1];
    let (a, a_year) = (
        first["id"].as_str().unwrap().to_owned(),
        first["arrears_years"][0].as_i64().unwrap(),
    );
    let (b, b_year) = (
        second["id"].as_str().unwrap().to_owned(),
        second["arrears_years"][0].as_i64().unwrap(),
    );
    let res = c
        .post(app.url(&format!("/api/v1/members/{a}/payments")))
        .bearer_auth(&token)
        .header("Idempotency-Key", "pay-once")
        .json(&json!({"year": a_year, "amount_fen": 5000, "receipt_no": "hf-test-0001"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let paid: Value = res.json().await?;
    assert_eq!(paid["receipt_no"], "HF-TEST-0001");
    // The same key and body: the first answer again, nothing new.
    let res = c
        .post(app.url(&format!("/api/v1/members/{a}/payments")))
        .bearer_auth(&token)
        .header("Idempotency-Key", "pay-once")
        .json(&json!({"year": a_year, "amount_fen": 5000, "receipt_no": "hf-test-0001"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await?["id"], paid["id"]);
    let (page, csrf) = app.sign_in("shi").await?;
    let payments = app.count("SELECT COUNT(*) FROM dues_payments").await?;
    let audits = app.count("SELECT COUNT(*) FROM audit_log").await?;
    // The same receipt number for another member: refused, nothing changes.
    let res = c
        .post(app.url(&format!("/api/v1/members/{b}/payments")))
        .bearer_auth(&token)
        .json(&json!({"year": b_year, "amount_fen": 5000, "receipt_no": "HF-TEST-0001"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("application/problem+json")));
    let problem: Value = res.json().await?;
    assert!(problem.to_string().contains("receipt_no"), "{problem}");
    // And through the page form.
    let res = page
        .post(app.url(&format!("/members/{b}/payments")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("year", &b_year.to_string()),
            ("amount", "50"),
            ("receipt_no", "HF-TEST-0001"),
        ])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await?.contains("已经登记过"));
    // The same year twice for one member is refused as well.
    let res = c
        .post(app.url(&format!("/api/v1/members/{a}/payments")))
        .bearer_auth(&token)
        .json(&json!({"year": a_year, "amount_fen": 5000, "receipt_no": "HF-TEST-0002"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT COUNT(*) FROM dues_payments").await?, payments);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log").await?, audits);
    let (_, one) = app.get(&token, &format!("/api/v1/members/{b}")).await?;
    assert_eq!(one["arrears_years"][0], b_year);
    // The page form records a good one and shows it in the history.
    let res = page
        .post(app.url(&format!("/members/{b}/payments")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("year", &b_year.to_string()),
            ("amount", "50"),
            ("receipt_no", "HF-TEST-0003"),
        ])
        .send()
        .await?;
    assert!(res.status().is_success() || res.status().is_redirection());
    let html = page.get(app.url(&format!("/members/{b}"))).send().await?.text().await?;
    assert!(html.contains("HF-TEST-0003"));
    Ok(())
}

#[tokio::test]
async fn reminders_and_lapsing_are_idempotent() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("lixia").await?;
    let c = app.client();
    let (_, arrears) = app.get(&token, "/api/v1/members/arrears?per_page=1").await?;
    let in_arrears = arrears["total"].as_i64().unwrap();
    assert!(in_arrears > 0);
    let res = c
        .post(app.url("/api/v1/members/reminders"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let sent: Value = res.json().await?;
    assert_eq!(sent["count"], in_arrears);
    let outbox = app
        .count(&format!("SELECT COUNT(*) FROM member_reminders m WHERE {IN_LIXIA}"))
        .await?;
    assert_eq!(outbox, in_arrears);
    assert_eq!(app.count("SELECT COUNT(*) FROM member_reminders").await?, in_arrears);
    let again: Value = c
        .post(app.url("/api/v1/members/reminders"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(again["count"], 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM member_reminders").await?, in_arrears);
    let (_, listed) = app.get(&token, "/api/v1/members/reminders").await?;
    assert_eq!(listed["total"], in_arrears);
    // The demo already lapsed everyone due to lapse: nothing more.
    let lapsed_before = app
        .count("SELECT COUNT(*) FROM members WHERE status = 'lapsed'")
        .await?;
    assert!(lapsed_before > 0);
    let (_, dues) = app.get(&token, "/api/v1/members/dues").await?;
    let y = dues["year"].as_i64().unwrap();
    // A member who joined two years ago and never paid lapses, once.
    let res = c
        .post(app.url("/api/v1/members"))
        .bearer_auth(&token)
        .json(
            &json!({"unit_id": org_id("JN-LX-003").to_string(), "name": "欠费会员", "type_code": "ordinary",
                       "id_card_no": id_card(21), "joined_on": format!("{}-02-01", y - 2)}),
        )
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let member = res.json::<Value>().await?["id"].as_str().unwrap().to_owned();
    let lapsed: Value = c
        .post(app.url("/api/v1/members/lapse"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(lapsed["count"], 1);
    let again: Value = c
        .post(app.url("/api/v1/members/lapse"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(again["count"], 0);
    let (_, one) = app.get(&token, &format!("/api/v1/members/{member}")).await?;
    assert_eq!(one["status"], "lapsed");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM members WHERE status = 'lapsed'")
            .await?,
        lapsed_before + 1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'member' AND entity_id = '{member}'"
        ))
        .await?,
        2
    );
    // The arrears page shows the outbox; a supervisor may look but not send.
    let (page, csrf) = app.sign_in("lixia").await?;
    let html = page.get(app.url("/members/arrears")).send().await?.text().await?;
    assert!(html.contains("id=\"outbox\"") && html.contains("待发送"));
    let res = page
        .post(app.url("/members/reminders"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await?;
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(app.count("SELECT COUNT(*) FROM member_reminders").await?, in_arrears);
    let supervisor = app.token("supervisor").await?;
    let res = c
        .post(app.url("/api/v1/members/reminders"))
        .bearer_auth(&supervisor)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    Ok(())
}

/// An .xlsx member import: the template's header and `rows`.
fn xlsx(rows: &[[&str; 4]]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["姓名或名称", "所属基层组织代码", "会员类型", "身份证号码"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *header)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (col, value) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, col as u16, *value)?;
        }
    }
    Ok(book.save_to_buffer()?)
}

fn problems(report: &Value, row: u64) -> String {
    report["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["row"] == row)
        .map(|r| r["problems"].to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn member_imports_report_row_by_row_in_both_modes() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("lixia").await?;
    let c = app.client();
    let before = app.count("SELECT COUNT(*) FROM members").await?;
    let (good, other_good, bad) = (id_card(31), id_card(32), bad_id_card(33));
    let file = xlsx(&[
        ["王小明", "JN-LX-001", "普通会员", &good],
        ["李小红", "JN-LX-002", "ordinary", &bad],
        ["赵小刚", "JN-SZ-001", "普通会员", &other_good],
        ["周小芳", "JN-LX-003", "普通会员", &good],
        ["", "JN-LX-004", "普通会员", &id_card(34)],
        ["某某公司", "JN-LX-004", "团体会员", ""],
    ])?;
    let import = |mode: &'static str, bytes: Vec<u8>| {
        let c = c.clone();
        let url = app.url(&format!("/api/v1/members/import?mode={mode}"));
        let token = token.clone();
        async move {
            let res = c.post(url).bearer_auth(token).body(bytes).send().await?;
            let status = res.status();
            anyhow::Ok((status, res.json::<Value>().await?))
        }
    };
    let (status, report) = import("all_or_nothing", file.clone()).await?;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["committed"], false);
    assert_eq!(report["accepted"], 2);
    assert_eq!(report["rejected"], 4);
    assert!(problems(&report, 3).contains("校验位"), "{report}");
    assert!(problems(&report, 4).contains("不存在或不在管辖范围内"), "{report}");
    assert!(problems(&report, 5).contains("重复"), "{report}");
    assert!(problems(&report, 6).contains("缺少"), "{report}");
    assert_eq!(app.count("SELECT COUNT(*) FROM members").await?, before);
    let (_, report) = import("valid_rows", file).await?;
    assert_eq!(report["committed"], true);
    assert_eq!(report["accepted"], 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM members").await?, before + 2);
    let (_, found) = app.get(&token, &format!("/api/v1/members?q={good}")).await?;
    assert_eq!(found["items"][0]["name"], "王小明");
    assert_eq!(found["items"][0]["unit_code"], "JN-LX-001");
    // The same file again: the good rows are now duplicates.
    let (_, report) = import("valid_rows", xlsx(&[["王小明", "JN-LX-001", "普通会员", &good]])?).await?;
    assert_eq!(report["committed"], false);
    assert!(problems(&report, 2).contains("已登记"), "{report}");
    // A GBK .csv through the page, accepting the valid rows.
    let csv = format!(
        "姓名或名称,所属基层组织代码,会员类型,身份证号码,入会日期\n钱小军,JN-LX-005,普通会员,{},2025-04-01\n孙小丽,JN-LX-005,普通会员,{},\n",
        id_card(41),
        bad_id_card(42)
    );
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&csv);
    assert!(!unmappable && std::str::from_utf8(&gbk).is_err());
    let (page, _) = app.sign_in("lixia").await?;
    let form = page.get(app.url("/members/import")).send().await?.text().await?;
    let csrf = hidden_field(&form, "csrf").unwrap();
    let boundary = "----BoaiMembersBoundary";
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf.as_str()), ("mode", "valid_rows")] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"members.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&gbk);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = page
        .post(app.url("/members/import"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await?;
    assert!(html.contains("钱小军") && html.contains("校验位"), "report on the page");
    assert!(!html.contains(&id_card(41)), "no full ID number in the report");
    assert_eq!(app.count("SELECT COUNT(*) FROM members").await?, before + 3);
    // The template downloads and a wrong file is refused whole.
    let res = page.get(app.url("/members/import/template.xlsx")).send().await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await?.starts_with(b"PK"));
    let res = c
        .post(app.url("/api/v1/members/import"))
        .bearer_auth(&token)
        .body("名称,颜色\n甲,红\n")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    Ok(())
}

#[tokio::test]
async fn lists_export_and_councils_keep_minutes() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let (page, csrf) = app.sign_in("shi").await?;
    // Member list export, filtered.
    let res = page
        .get(app.url(&format!("/members?branch={}&arrears=1&format=xlsx", org_id("JN-LX"))))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = res.bytes().await?;
    assert!(bytes.starts_with(b"PK"));
    let res = page.get(app.url("/members/arrears?format=xlsx")).send().await?;
    assert!(res.bytes().await?.starts_with(b"PK"));
    // The unit page lists the unit's members.
    let html = page
        .get(app.url(&format!("/network/units/{}", org_id("JN-LX-001"))))
        .send()
        .await?
        .text()
        .await?;
    let n = app
        .count("SELECT COUNT(*) FROM members m JOIN orgs o ON o.id = m.org_id WHERE o.code = 'JN-LX-001'")
        .await?;
    assert!(
        n > 0 && html.contains(&format!("id=\"unit-members\">{n}<")),
        "unit members"
    );
    // Councils: the city's bodies, members and minutes.
    let token = app.token("shi").await?;
    let c = app.client();
    let (_, council) = app.get(&token, &format!("/api/v1/councils/{}", org_id("JN"))).await?;
    let members = council["members"].as_array().cloned().unwrap_or_default();
    for body in ["council", "executive", "supervisory"] {
        assert!(members.iter().any(|m| m["body"] == body), "{body}");
    }
    let url = council["meetings"][0]["minutes_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let res = page.get(app.url(&url)).send().await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await?.starts_with(b"%PDF-"));
    // Minutes whose bytes are not what their name says are refused.
    let city = org_id("JN");
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let boundary = "----BoaiCouncilBoundary";
        let mut body = Vec::new();
        for (k, v) in [
            ("csrf", csrf.as_str()),
            ("body", "council"),
            ("held_on", "2025-06-01"),
            ("title", "测试会议"),
        ] {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        page.post(app.url(&format!("/councils/{city}/meetings")))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
    };
    let meetings = app.count("SELECT COUNT(*) FROM council_meetings").await?;
    let res = upload("纪要.pdf", b"<html>not a pdf</html>".to_vec()).await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await?.contains("附件内容与文件类型不符"));
    assert_eq!(app.count("SELECT COUNT(*) FROM council_meetings").await?, meetings);
    let res = upload("纪要.pdf", boai_store::demo::tiny_pdf(&["minutes"])).await?;
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(app.count("SELECT COUNT(*) FROM council_meetings").await?, meetings + 1);
    // A council member with a role of another body is a field error.
    let res = c
        .post(app.url(&format!("/api/v1/councils/{city}/members")))
        .bearer_auth(&token)
        .json(
            &json!({"body": "council", "person_name": "钱七", "role": "监事长", "term_no": 8,
                       "term_start": "2023-06-01", "term_end": "2028-05-31"}),
        )
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = c
        .post(app.url(&format!("/api/v1/councils/{city}/members")))
        .bearer_auth(&token)
        .json(
            &json!({"body": "supervisory", "person_name": "钱七", "role": "监事", "term_no": 8,
                       "term_start": "2023-06-01", "term_end": "2028-05-31"}),
        )
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let html = page
        .get(app.url(&format!("/councils/{city}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(html.contains("钱七") && html.contains("监事会"));
    Ok(())
}
