//! Bank statements over HTTP: a real .xlsx (written here with
//! rust_xlsxwriter) in the 借方/贷方 layout and a GBK .csv in the signed
//! amount layout, mixing lines that match recorded gifts, lines that match
//! nothing, debits and lines already imported; then accepting proposals,
//! recording a gift from an unmatched credit, a saved layout, and files that
//! are refused whole.

use boai_testkit::TestApp;
use chrono::{Duration, NaiveDate};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn today(app: &TestApp) -> NaiveDate {
    (boai_domain::Clock::now(&app.clock) + Duration::hours(8)).date_naive()
}

async fn gift(app: &TestApp, token: &str, project: &str, fen: i64, name: &str, on: NaiveDate) -> anyhow::Result<Value> {
    let res = app
        .client()
        .post(app.url("/api/v1/donations"))
        .bearer_auth(token)
        .json(
            &json!({"project_id": project, "amount_fen": fen, "channel": "bank_transfer",
            "received_on": on.to_string(), "donor": {"kind": "person", "name": name}}),
        )
        .send()
        .await?;
    anyhow::ensure!(res.status() == StatusCode::CREATED, "gift: {}", res.text().await?);
    Ok(res.json().await?)
}

async fn import(app: &TestApp, token: &str, bytes: Vec<u8>) -> anyhow::Result<(StatusCode, Value)> {
    let res = app
        .client()
        .post(app.url("/api/v1/giving/bank/statements"))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await?;
    Ok((res.status(), res.json().await?))
}

async fn lines(app: &TestApp, token: &str, status: &str) -> anyhow::Result<Vec<Value>> {
    let list: Value = app
        .client()
        .get(app.url(&format!("/api/v1/giving/bank/lines?status={status}&per_page=100")))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    Ok(list["items"].as_array().cloned().unwrap_or_default())
}

fn refs(lines: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = lines
        .iter()
        .filter_map(|l| l["reference"].as_str().map(str::to_owned))
        // The demo's own statement lines are not this test's.
        .filter(|r| !r.starts_with("DEMO"))
        .collect();
    out.sort();
    out
}

fn xlsx(rows: &[[&str; 8]]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let header = [
        "交易日期",
        "摘要",
        "借方发生额",
        "贷方发生额",
        "余额",
        "对方户名",
        "对方账号",
        "交易流水号",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            // Amounts as numbers, like a bank's export; the rest as text.
            match v.parse::<f64>() {
                Ok(n) if (2..=4).contains(&c) => sheet.write_number(r as u32 + 1, c as u16, n)?,
                _ => sheet.write_string(r as u32 + 1, c as u16, *v)?,
            };
        }
    }
    Ok(book.save_to_buffer()?)
}

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::GBK.encode(text);
    bytes.into_owned()
}

#[tokio::test]
async fn statements_match_gifts_and_leave_the_rest_visible() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let project = app.project_id(&token, "CATARACT").await?;
    let day = today(&app);
    let d = |n: i64| day - Duration::days(n);
    let g1 = gift(&app, &token, &project, 500_037, "张三", d(4)).await?;
    let g2 = gift(&app, &token, &project, 123_457, "山东某公司", d(3)).await?;
    let g3 = gift(&app, &token, &project, 88_813, "李四", d(5)).await?;
    // Same amount as g2 but far outside the date window: never proposed.
    gift(&app, &token, &project, 123_457, "远期", d(40)).await?;
    let cert = |g: &Value| g["certificate_no"].as_str().unwrap().to_owned();

    // The .xlsx, 借方/贷方 layout.
    let memo1 = format!("捐款 {}", cert(&g1));
    let statement = xlsx(&[
        [
            &d(2).to_string(),
            &memo1,
            "",
            "5000.37",
            "9000",
            "张三",
            "6222000011112222",
            "X001",
        ],
        [
            &d(2).format("%Y/%m/%d").to_string(),
            "捐赠",
            "",
            "1234.57",
            "9000",
            "山东某公司",
            "",
            "X002",
        ],
        [&d(1).to_string(), "汇款", "", "777.01", "9000", "王五", "", "X003"],
        [&d(1).to_string(), "手续费", "12.00", "", "9000", "本行", "", "X004"],
    ])?;
    let (status, report) = import(&app, &token, statement.clone()).await?;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["imported"], 4);
    assert_eq!(report["debits"], 1);
    assert_eq!(report["duplicates"], json!([]));
    assert_eq!(report["proposed"], json!([["X001", cert(&g1)], ["X002", cert(&g2)]]));
    assert_eq!(report["unmatched"], json!(["X003"]));
    // The same statement again changes nothing.
    let (status, again) = import(&app, &token, statement).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["imported"], 0);
    assert_eq!(again["duplicates"], json!(["X001", "X002", "X003", "X004"]));
    assert_eq!(refs(&lines(&app, &token, "").await?).len(), 4);

    // The GBK .csv, signed-amount layout: one line already imported (X002).
    let csv = format!(
        "记账日期,交易金额,对方户名,附言,流水号\r\n{},1234.57,山东某公司,捐赠,X002\r\n{},888.13,李四,爱心捐款,Y001\r\n{},300.03,赵六,\"捐款,感谢\",Y002\r\n{},-50.00,本行,年费,Y003\r\n",
        d(2).format("%Y%m%d"),
        d(3).format("%Y%m%d"),
        d(1).format("%Y%m%d"),
        d(1).format("%Y%m%d"),
    );
    let bytes = gbk(&csv);
    assert!(std::str::from_utf8(&bytes).is_err(), "the file really is GBK");
    let (status, report) = import(&app, &token, bytes).await?;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["imported"], 3);
    assert_eq!(report["duplicates"], json!(["X002"]));
    assert_eq!(report["proposed"], json!([["Y001", cert(&g3)]]));
    assert_eq!(report["unmatched"], json!(["Y002"]));
    assert_eq!(report["debits"], 1);

    // Unreconciled: three proposals and two unmatched credits, with their age.
    let open = lines(&app, &token, "unreconciled").await?;
    assert_eq!(refs(&open), vec!["X001", "X002", "X003", "Y001", "Y002"]);
    let x003 = open
        .iter()
        .find(|l| l["reference"] == "X003")
        .cloned()
        .unwrap_or_default();
    assert_eq!(x003["age_days"], 1);
    assert_eq!(x003["amount_fen"], 77_701);
    // Staff accept the proposals.
    for l in open.iter().filter(|l| l["status"] == "proposed") {
        let res = app
            .client()
            .post(app.url(&format!(
                "/api/v1/giving/bank/lines/{}/accept",
                l["id"].as_str().unwrap()
            )))
            .bearer_auth(&token)
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let matched = lines(&app, &token, "matched").await?;
    assert_eq!(refs(&matched), vec!["X001", "X002", "Y001"]);
    assert!(matched.iter().any(|l| l["gift_id"] == g1["id"]));
    // An unmatched credit becomes a gift after review, through the gift path.
    let before: Value = app
        .client()
        .get(app.url("/api/v1/donations?per_page=1"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let x3 = x003["id"].as_str().unwrap();
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/giving/bank/lines/{x3}/gift")))
        .bearer_auth(&token)
        .json(&json!({"project_id": project, "amount_fen": 77_701, "donor": {"kind": "person", "name": "王五"}}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await?;
    assert_eq!(created["channel"], "bank_transfer");
    assert_eq!(created["received_on"], d(1).to_string());
    assert!(created["ledger_index"].is_i64());
    let after: Value = app
        .client()
        .get(app.url("/api/v1/donations?per_page=1"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(after["total"].as_i64(), before["total"].as_i64().map(|n| n + 1));
    // Not twice; not for a different amount.
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/giving/bank/lines/{x3}/gift")))
        .bearer_auth(&token)
        .json(&json!({"project_id": project, "amount_fen": 77_701, "donor": null}))
        .send()
        .await?;
    assert!(res.status() == StatusCode::UNPROCESSABLE_ENTITY || res.status() == StatusCode::CONFLICT);
    let y002 = open
        .iter()
        .find(|l| l["reference"] == "Y002")
        .cloned()
        .unwrap_or_default();
    let res = app
        .client()
        .post(app.url(&format!(
            "/api/v1/giving/bank/lines/{}/gift",
            y002["id"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .json(&json!({"project_id": project, "amount_fen": 1, "donor": null}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refs(&lines(&app, &token, "unreconciled").await?), vec!["Y002"]);

    // Files refused whole: a wrong layout, a broken row.
    let count = refs(&lines(&app, &token, "").await?).len();
    let (status, problem) = import(&app, &token, "日期,金额\n2026-01-01,1\n".as_bytes().to_vec()).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem.to_string().contains("无法识别的对账单格式"), "{problem}");
    let broken = gbk(&format!(
        "记账日期,交易金额,对方户名,附言,流水号\n{},10.00,甲,,Z001\n{},12.345,乙,,Z002\n",
        d(1),
        d(1)
    ));
    let (status, problem) = import(&app, &token, broken).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem.to_string().contains("第 3 行"), "{problem}");
    assert_eq!(
        refs(&lines(&app, &token, "").await?).len(),
        count,
        "a refused file imported lines"
    );

    // A layout staff save for a new bank, then used.
    let res = app
        .client()
        .post(app.url("/api/v1/giving/bank/layouts"))
        .bearer_auth(&token)
        .json(
            &json!({"name": "某农商行", "date": "日期", "amount": {"kind": "signed", "amount": "金额(元)"},
            "counterparty": "户名", "memo": "用途", "reference": "凭证号"}),
        )
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (status, report) = import(
        &app,
        &token,
        format!("日期,金额(元),户名,用途,凭证号\n{},66.07,孙七,捐款,N001\n", d(1)).into_bytes(),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["layout"], "某农商行");
    assert_eq!(report["unmatched"], json!(["N001"]));
    // A supervisor sees the lines but may not import.
    let sup = app.token("supervisor").await?;
    assert_eq!(refs(&lines(&app, &sup, "unreconciled").await?), vec!["N001", "Y002"]);
    let (status, _) = import(&app, &sup, b"x".to_vec()).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The staff page shows what remains with its total.
    let (c, _) = app.sign_in("caiwu").await?;
    let page = c.get(app.url("/fundraising/bank")).send().await?.text().await?;
    // What remains: Y002 and N001, and the demo statement's two credits (¥233.33).
    assert!(
        page.contains("¥599.43") && page.contains("Y002") && page.contains("N001"),
        "{page}"
    );
    Ok(())
}
