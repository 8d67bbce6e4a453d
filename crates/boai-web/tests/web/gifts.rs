//! Gifts and funds over HTTP: the contract's donation endpoint, bad input
//! that changes nothing, idempotency, scope, refunds, the trial balance, and
//! the certificate with its public check.

use boai_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn gift_count(app: &TestApp, token: &str) -> anyhow::Result<u64> {
    let list: Value = app
        .client()
        .get(app.url("/api/v1/donations?per_page=1"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    list["total"].as_u64().ok_or_else(|| anyhow::anyhow!("no total"))
}

#[tokio::test]
async fn staff_record_a_gift_exactly_as_the_contract_says() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let c = app.client();
    let project = app.project_id(&token, "CATARACT").await?;
    let res = c
        .post(app.url("/api/v1/donations"))
        .bearer_auth(&token)
        .json(
            &json!({"project_id": project, "amount_fen": 123456, "channel": "bank_transfer",
            "donor": {"kind": "person", "name": "张三", "phone": "13800138000", "id_card_no": "11010519491231002X"}}),
        )
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let text = res.text().await?;
    assert!(
        !text.contains("11010519491231002X") && !text.contains("13800138000"),
        "no full ID or phone: {text}"
    );
    let gift: Value = serde_json::from_str(&text)?;
    assert_eq!(gift["status"], "confirmed");
    assert!(gift["certificate_no"].as_str().is_some_and(|n| n.starts_with("JN-")));
    assert!(gift.get("ledger_index").is_some());
    assert_eq!(gift["amount_fen"], 123456);
    let id = gift["id"].as_str().unwrap();
    let again: Value = app.get_json(&token, &format!("/api/v1/donations/{id}")).await?;
    assert_eq!(again["certificate_no"], gift["certificate_no"]);
    // Anonymous (donor null) and an organisation with a valid credit code.
    for donor in [
        json!(null),
        json!({"kind": "organisation", "name": "济南某科技有限公司", "credit_code": "91350100M000100Y43"}),
    ] {
        let res = c
            .post(app.url("/api/v1/donations"))
            .bearer_auth(&token)
            .json(&json!({"project_id": project, "amount_fen": 5000, "channel": "cash", "donor": donor}))
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    // Goods.
    let res = c
        .post(app.url("/api/v1/donations"))
        .bearer_auth(&token)
        .json(&json!({"project_id": project, "channel": "goods",
            "goods": {"item": "医用口罩", "quantity": 10000, "unit": "只", "value_fen": 500000, "lot": "A1", "expires_on": "2028-01-31"}}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let goods: Value = res.json().await?;
    assert_eq!(goods["amount_fen"], 500000);
    assert_eq!(goods["goods"]["item"], "医用口罩");
    // The project's raised total moved by exactly what came in.
    let p: Value = app.get_json(&token, &format!("/api/v1/projects/{project}")).await?;
    assert!(p["raised_fen"].as_i64().unwrap() >= 123456 + 10000 + 500000);
    let tb: Value = app.get_json(&token, "/api/v1/funds/trial-balance").await?;
    assert_eq!(tb["balanced"], true);
    assert_eq!(tb["debit_fen"], tb["credit_fen"]);
    Ok(())
}

#[tokio::test]
async fn bad_gifts_are_refused_and_write_nothing() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let c = app.client();
    let open = app.project_id(&token, "CATARACT").await?;
    let closed = app.project_id(&token, "WINTER2025").await?;
    let draft = app.project_id(&token, "SCHOOLKIT").await?;
    let before = gift_count(&app, &token).await?;
    let cases = [
        (
            json!({"project_id": open, "amount_fen": 0, "channel": "cash"}),
            "amount_fen",
        ),
        (
            json!({"project_id": open, "amount_fen": -100, "channel": "cash"}),
            "amount_fen",
        ),
        (
            json!({"project_id": open, "amount_fen": 12.5, "channel": "cash"}),
            "amount_fen",
        ),
        (
            json!({"project_id": open, "amount_fen": "100", "channel": "cash"}),
            "amount_fen",
        ),
        (
            json!({"project_id": open, "amount_fen": 100_000_000_000_000i64, "channel": "cash"}),
            "amount_fen",
        ),
        (
            json!({"project_id": uuid::Uuid::new_v4().to_string(), "amount_fen": 100, "channel": "cash"}),
            "project_id",
        ),
        (
            json!({"project_id": closed, "amount_fen": 100, "channel": "cash"}),
            "project_id",
        ),
        (
            json!({"project_id": draft, "amount_fen": 100, "channel": "cash"}),
            "project_id",
        ),
        (
            json!({"project_id": open, "amount_fen": 100, "channel": "wechat"}),
            "channel",
        ),
        (
            json!({"project_id": open, "amount_fen": 100, "channel": "bitcoin"}),
            "channel",
        ),
        (
            json!({"project_id": open, "amount_fen": 100, "channel": "cash",
            "donor": {"kind": "person", "name": "李四", "id_card_no": "110105194912310021"}}),
            "donor.id_card_no",
        ),
        (
            json!({"project_id": open, "amount_fen": 100, "channel": "cash",
            "donor": {"kind": "organisation", "name": "某公司", "credit_code": "91350100M000100Y44"}}),
            "donor.credit_code",
        ),
        (
            json!({"project_id": open, "amount_fen": 100, "channel": "cash",
            "donor": {"kind": "person", "name": "王五", "phone": "12345"}}),
            "donor.phone",
        ),
    ];
    for (body, field) in cases {
        let res = c
            .post(app.url("/api/v1/donations"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await?;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(fields.contains(&field), "{body} → {fields:?}");
    }
    assert_eq!(gift_count(&app, &token).await?, before, "no gift was created");
    // Disbursing more than a fund holds.
    let res = c
        .post(app.url("/api/v1/funds/disbursements"))
        .bearer_auth(&token)
        .json(&json!({"project_id": open, "amount_fen": 90_000_000_000i64, "payee": "某医院"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let tb: Value = app.get_json(&token, "/api/v1/funds/trial-balance").await?;
    assert_eq!(tb["balanced"], true);
    Ok(())
}

#[tokio::test]
async fn donations_are_idempotent_per_key() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("shi").await?;
    let c = app.client();
    let project = app.project_id(&token, "ANGEL").await?;
    let before = gift_count(&app, &token).await?;
    let body = json!({"project_id": project, "amount_fen": 8800, "channel": "cash"});
    let send = |b: &Value| {
        c.post(app.url("/api/v1/donations"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "gift-42")
            .json(b)
            .send()
    };
    let first = send(&body).await?;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await?;
    let second = send(&body).await?;
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.json::<Value>().await?, first);
    let mut other = body.clone();
    other["amount_fen"] = json!(8801);
    assert_eq!(send(&other).await?.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(gift_count(&app, &token).await?, before + 1);
    Ok(())
}

/// The key is looked up only when a gift fails: a repeat must still get the
/// first answer when the gift could no longer be written (its project has
/// closed since), and repeats racing the first write make one gift.
#[tokio::test]
async fn a_repeated_key_gets_the_first_answer_even_after_the_project_closed() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("shi").await?;
    let c = app.client();
    let project = app.project_id(&token, "ANGEL").await?;
    let before = gift_count(&app, &token).await?;
    let body = json!({"project_id": project, "amount_fen": 5200, "channel": "cash"});
    let send = |key: &'static str| {
        c.post(app.url("/api/v1/donations"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    // Eight requests under one key at once: one gift, every answer its answer.
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = c
            .post(app.url("/api/v1/donations"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "race-1")
            .json(&body);
        racing.spawn(async move {
            let answer = request.send().await?;
            Ok::<_, anyhow::Error>((answer.status(), answer.json::<Value>().await?))
        });
    }
    let mut bodies = Vec::new();
    while let Some(answer) = racing.join_next().await {
        let (status, body) = answer??;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        bodies.push(body);
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
    assert_eq!(gift_count(&app, &token).await?, before + 1);
    // The project closes; a new gift is refused, the repeat is answered as before.
    let staff = boai_testkit::actor(&app.store, "shi").await?;
    let project_uuid: uuid::Uuid = project.parse()?;
    app.store
        .scoped(staff)
        .project_set_status(
            boai_domain::ids::ProjectId(project_uuid),
            boai_store::funds::ProjectStatus::Closed,
        )
        .await?;
    assert_eq!(send("race-2").await?.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let repeat = send("race-1").await?;
    assert_eq!(repeat.status(), StatusCode::CREATED);
    assert_eq!(
        repeat
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(repeat.json::<Value>().await?, bodies[0]);
    assert_eq!(gift_count(&app, &token).await?, before + 1);
    Ok(())
}

#[tokio::test]
async fn who_may_record_and_who_sees_what() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let c = app.client();
    let lixia = app.token("lixia").await?;
    let sup = app.token("supervisor").await?;
    let project = app.project_id(&lixia, "CATARACT").await?;
    let body = json!({"project_id": project, "amount_fen": 100, "channel": "cash"});
    for token in [&lixia, &sup] {
        let res = c
            .post(app.url("/api/v1/donations"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    // City projects are readable by every signed-in user; district projects only in their district.
    let mine: Value = app.get_json(&lixia, "/api/v1/projects?per_page=100").await?;
    let codes: Vec<&str> = mine["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["code"].as_str())
        .collect();
    assert!(codes.contains(&"CATARACT") && codes.contains(&"LX-CARE"));
    // lixia sees only gifts recorded in her district.
    let hers: Value = app.get_json(&lixia, "/api/v1/donations?per_page=100").await?;
    let all: Value = app.get_json(&sup, "/api/v1/donations?per_page=1").await?;
    assert!(hers["total"].as_u64() < all["total"].as_u64());
    let lx = boai_store::demo::org_id("JN-LX").to_string();
    assert!(hers["items"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|g| g["org_id"] == lx));
    // …and another district's gift is a 404.
    let city_gift = c
        .get(app.url("/api/v1/donations?per_page=100"))
        .bearer_auth(&sup)
        .send()
        .await?
        .json::<Value>()
        .await?;
    let foreign = city_gift["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["org_id"] != lx)
        .and_then(|g| g["id"].as_str())
        .map(str::to_owned);
    if let Some(id) = foreign {
        let res = c
            .get(app.url(&format!("/api/v1/donations/{id}")))
            .bearer_auth(&lixia)
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    Ok(())
}

#[tokio::test]
async fn refunds_reverse_and_never_exceed_the_gift() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let c = app.client();
    let project = app.project_id(&token, "HEART").await?;
    let gift: Value = c
        .post(app.url("/api/v1/donations"))
        .bearer_auth(&token)
        .json(&json!({"project_id": project, "amount_fen": 10000, "channel": "cash"}))
        .send()
        .await?
        .json()
        .await?;
    let id = gift["id"].as_str().unwrap();
    let refund = |fen: i64| {
        c.post(app.url(&format!("/api/v1/donations/{id}/refunds")))
            .bearer_auth(&token)
            .json(&json!({"amount_fen": fen, "reason": "捐赠人要求"}))
            .send()
    };
    assert_eq!(refund(10001).await?.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let partly: Value = refund(2500).await?.json().await?;
    assert_eq!(partly["status"], "partially_refunded");
    assert_eq!(partly["refunded_fen"], 2500);
    assert_eq!(refund(7501).await?.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done: Value = refund(7500).await?.json().await?;
    assert_eq!(done["status"], "refunded");
    let report = app.store.books_check().await?;
    assert!(report.holds(), "{report:?}");
    Ok(())
}

#[tokio::test]
async fn certificate_pdf_and_its_public_check() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let c = app.client();
    let project = app.project_id(&token, "CATARACT").await?;
    let gift: Value = c
        .post(app.url("/api/v1/donations"))
        .bearer_auth(&token)
        .json(
            &json!({"project_id": project, "amount_fen": 123456, "channel": "bank_transfer",
            "donor": {"kind": "person", "name": "张三丰", "public": true}}),
        )
        .send()
        .await?
        .json()
        .await?;
    let id = gift["id"].as_str().unwrap();
    let res = c
        .get(app.url(&format!("/api/v1/donations/{id}/certificate.pdf")))
        .bearer_auth(&token)
        .send()
        .await?;
    if res.status() == StatusCode::INTERNAL_SERVER_ERROR {
        // No CJK font on this machine: scripts/test.sh installs one, so say it loudly.
        panic!("certificate failed: {}", res.text().await?);
    }
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("c.pdf");
    std::fs::write(&path, res.bytes().await?)?;
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("张三丰"), "{text}");
    assert!(
        text.contains("1,234.56") && text.contains("壹仟贰佰叁拾肆元伍角陆分"),
        "{text}"
    );
    // The QR's address: genuine as issued, not genuine when altered.
    let claim = boai_web::fundraising_claim_url(
        &app.state,
        &app.store
            .certificate_lookup(gift["certificate_no"].as_str().unwrap())
            .await?
            .ok_or_else(|| anyhow::anyhow!("gift"))?,
    );
    let page = c.get(app.url(&claim)).send().await?.text().await?;
    assert!(page.contains("真实有效"), "{page}");
    let altered = claim.replace("amount=123456", "amount=923456");
    assert_ne!(altered, claim);
    let page = c.get(app.url(&altered)).send().await?.text().await?;
    assert!(page.contains("不是有效证书") && !page.contains("真实有效"));
    let guessed = format!(
        "/certificates/verify?no={}&amount=123456&date=2026-01-01&name=x&sig=AAAA",
        gift["certificate_no"].as_str().unwrap()
    );
    assert!(c
        .get(app.url(&guessed))
        .send()
        .await?
        .text()
        .await?
        .contains("不是有效证书"));
    Ok(())
}

#[tokio::test]
async fn pages_for_gifts_and_funds() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let (c, csrf) = app.sign_in("caiwu").await?;
    let token = app.token("caiwu").await?;
    let project = app.project_id(&token, "WARMTH").await?;
    // A form error stays next to its field, and nothing is written.
    let before = gift_count(&app, &token).await?;
    let res = c
        .post(app.url("/fundraising/gifts"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("project_id", &project),
            ("channel", "cash"),
            ("amount_yuan", "12.345"),
            ("donor_kind", "anonymous"),
        ])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await?.contains("金额格式有误"));
    assert_eq!(gift_count(&app, &token).await?, before);
    let res = c
        .post(app.url("/fundraising/gifts"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("project_id", &project),
            ("channel", "cash"),
            ("amount_yuan", "1,234.56"),
            ("donor_kind", "person"),
            ("donor_name", "赵六"),
            ("id_card_no", "11010519491231002X"),
        ])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str()?.to_owned();
    let page = c.get(app.url(&location)).send().await?.text().await?;
    assert!(page.contains("赵六") && page.contains("¥1,234.56") && page.contains("壹仟贰佰叁拾肆元伍角陆分"));
    let donors = c
        .get(app.url("/fundraising/donors?q=11010519491231002X"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        donors.contains("赵六")
            && donors.contains("110***********002X")
            && !donors.contains("11010519491231002X\u{3c}")
    );
    let funds = c.get(app.url("/funds")).send().await?.text().await?;
    assert!(funds.contains("平衡") && funds.contains("<svg"));
    let project_page = c
        .get(app.url(&format!("/funds/projects/{project}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(project_page.contains("博爱送温暖") && project_page.contains("<svg"));
    let export = c.get(app.url("/fundraising/export")).send().await?;
    assert_eq!(export.status(), StatusCode::OK);
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(export.bytes().await?.to_vec()))?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or_else(|| anyhow::anyhow!("no sheet"))??;
    assert_eq!(sheet.rows().count() as u64, 1 + gift_count(&app, &token).await?);
    Ok(())
}

#[tokio::test]
async fn transfers_management_costs_and_corrections() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let c = app.client();
    let general = app.project_id(&token, "GENERAL").await?;
    let admin_fund = app.project_id(&token, "ADMIN").await?;
    let warmth = app.project_id(&token, "WARMTH").await?;
    let cataract = app.project_id(&token, "CATARACT").await?;
    let post = |path: &'static str, body: Value| c.post(app.url(path)).bearer_auth(&token).json(&body).send();
    // Money in first, so there is something to move.
    for project in [&general, &warmth] {
        let res = post(
            "/api/v1/donations",
            json!({"project_id": project, "amount_fen": 1_000_000, "channel": "cash"}),
        )
        .await?;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let res = post("/api/v1/funds/transfers", json!({"from_project_id": general, "project_id": admin_fund, "amount_fen": 1000, "decision_ref": "执委会 2026-11"})).await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = post(
        "/api/v1/funds/transfers",
        json!({"from_project_id": warmth, "project_id": general, "amount_fen": 1000, "decision_ref": "x"}),
    )
    .await?;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "designated money never leaves its project"
    );
    let res = post(
        "/api/v1/funds/management-costs",
        json!({"project_id": warmth, "base_fen": 100_000}),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await?["amount_fen"], 3000, "3% of ¥1,000");
    let res = post(
        "/api/v1/funds/management-costs",
        json!({"project_id": cataract, "base_fen": 100_000}),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "a rate of 0 charges nothing");
    let paid: Value = post(
        "/api/v1/funds/disbursements",
        json!({"project_id": warmth, "amount_fen": 50_000, "payee": "受助人 #9"}),
    )
    .await?
    .json()
    .await?;
    let id = paid["id"].as_str().unwrap().to_owned();
    let reverse = |fen: i64| {
        c.post(app.url(&format!("/api/v1/funds/entries/{id}/reversals")))
            .bearer_auth(&token)
            .json(&json!({"amount_fen": fen, "reason": "多付更正"}))
            .send()
    };
    let res = reverse(20_000).await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await?["reverses_id"], Value::String(id.clone()));
    assert_eq!(
        reverse(30_001).await?.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "never more than remains"
    );
    let report = app.store.books_check().await?;
    assert!(report.holds(), "{report:?}");
    Ok(())
}
