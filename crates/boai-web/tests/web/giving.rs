//! Online giving over HTTP through the sandbox provider: order → sandbox
//! payment page → signed notification over real HTTP → a confirmed,
//! journalled gift in the public ledger with a genuine certificate; and the
//! attacks — forged, replayed, unknown-order, wrong-amount, wrong-currency,
//! stale and concurrent duplicate notifications, refunds before payment or
//! over the gift — each changing nothing and recorded with its reason;
//! unpaid orders expiring.

use boai_testkit::TestApp;
use boai_web::payments::SandboxProvider;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

async fn project_id(app: &TestApp, code: &str) -> anyhow::Result<String> {
    app.project_id(&app.token("caiwu").await?, code).await
}

/// Gifts, journal entries, ledger entries, and refunds applied.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Counts {
    gifts: i64,
    journal: i64,
    ledger: i64,
    notifications: i64,
}

async fn count(app: &TestApp, table: &str) -> anyhow::Result<i64> {
    let conn = app.db.raw().await?;
    let backend = conn.get_database_backend();
    let row = conn
        .query_one(Statement::from_string(
            backend,
            format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table}"),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no count"))?;
    let n: i64 = row.try_get("", "n")?;
    let _ = conn.close().await;
    Ok(n)
}

async fn counts(app: &TestApp) -> anyhow::Result<Counts> {
    let checkpoint = app
        .client()
        .get(app.url("/ledger/checkpoint"))
        .send()
        .await?
        .text()
        .await?;
    let ledger: i64 = checkpoint.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or(-1);
    Ok(Counts {
        gifts: count(app, "gifts").await?,
        journal: count(app, "journal_entries").await?,
        ledger,
        notifications: count(app, "payment_notifications").await?,
    })
}

async fn rejection_reasons(app: &TestApp) -> anyhow::Result<Vec<String>> {
    let token = app.token("caiwu").await?;
    let list: Value = app
        .client()
        .get(app.url("/api/v1/giving/rejections?per_page=100"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    Ok(list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["reason"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// Opens an order through the public API.
async fn order(app: &TestApp, body: Value) -> anyhow::Result<Value> {
    let res = app
        .client()
        .post(app.url("/api/v1/giving/orders"))
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(res.status() == StatusCode::CREATED, "order: {}", res.text().await?);
    Ok(res.json().await?)
}

async fn order_status(app: &TestApp, no: &str) -> anyhow::Result<Value> {
    Ok(app
        .client()
        .get(app.url(&format!("/api/v1/giving/orders/{no}")))
        .send()
        .await?
        .json()
        .await?)
}

/// Posts a notification with the given headers.
async fn post_notification(
    app: &TestApp,
    headers: &[(String, String)],
    body: &str,
) -> anyhow::Result<(StatusCode, Value)> {
    let mut req = app
        .client()
        .post(app.url("/api/v1/giving/notify/sandbox"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let res = req.send().await?;
    let status = res.status();
    let answer: Value = res.json().await.unwrap_or(Value::Null);
    Ok((status, answer))
}

/// Signs a body as the sandbox would, now.
fn signed(app: &TestApp, body: &str, seconds_ago: i64) -> Vec<(String, String)> {
    let now = boai_domain::Clock::now(&app.clock).timestamp();
    app.state
        .payments
        .sandbox()
        .signed_headers(body, now - seconds_ago, &uuid::Uuid::new_v4().simple().to_string())
}

async fn pay(app: &TestApp, no: &str) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .client()
        .post(app.url(&format!("/sandbox/pay/{no}")))
        .form(&[("x", "")])
        .send()
        .await?)
}

#[tokio::test]
async fn online_gift_end_to_end_through_the_sandbox() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let project = project_id(&app, "CATARACT").await?;
    let before = counts(&app).await?;
    let o = order(
        &app,
        json!({"project_id": project, "amount": "88.50", "donor_kind": "person", "name": "王小明",
               "phone": "13912345678", "public": true}),
    )
    .await?;
    assert_eq!(o["status"], "pending");
    assert_eq!(o["amount_fen"], 8850);
    assert_eq!(o["currency"], "CNY");
    let no = o["out_trade_no"].as_str().unwrap().to_owned();
    assert_eq!(o["pay_url"], format!("/sandbox/pay/{no}"));
    // Before paying: 确认中, and nothing written to the books.
    let page = app.client().get(app.url(&format!("/give/orders/{no}"))).send().await?;
    assert!(page.headers().contains_key("refresh"));
    assert!(page.text().await?.contains("确认中"));
    assert_eq!(counts(&app).await?, before);
    // The sandbox's payment page, then 确认支付.
    let pay_page = app
        .client()
        .get(app.url(&format!("/sandbox/pay/{no}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        pay_page.contains("确认支付") && pay_page.contains("¥88.50"),
        "{pay_page}"
    );
    let res = pay(&app, &no).await?;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Back to the order's own link: its number and its key (issue 24: an
    // order number alone never opens the certificate).
    let back = res.headers()["location"].to_str()?.to_owned();
    assert!(back.starts_with(&format!("/give/orders/{no}?k=")), "{back}");
    // The notification went over HTTP and was acknowledged in the v3 form.
    let sent = app.state.payments.sandbox().sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, 200);
    assert!(sent[0].answer.contains("\"code\":\"SUCCESS\""), "{}", sent[0].answer);
    // Confirmed: one gift, one journal entry, one ledger entry more.
    let after = counts(&app).await?;
    assert_eq!(after.gifts, before.gifts + 1);
    assert_eq!(after.journal, before.journal + 1);
    assert_eq!(after.ledger, before.ledger + 1);
    let status = order_status(&app, &no).await?;
    assert_eq!(status["status"], "paid");
    let gift = &status["gift"];
    let cert = gift["certificate_no"].as_str().unwrap().to_owned();
    assert!(cert.starts_with("JN-"), "{status}");
    assert_eq!(gift["ledger_index"].as_i64(), Some(after.ledger - 1));
    // Staff see it as an online gift, journalled.
    let token = app.token("caiwu").await?;
    let staff: Value = app
        .client()
        .get(app.url(&format!("/api/v1/donations/{}", gift["id"].as_str().unwrap())))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(staff["channel"], "online");
    assert_eq!(staff["amount_fen"], 8850);
    assert_eq!(staff["status"], "confirmed");
    assert_eq!(staff["donor_name"], "王小明");
    assert_eq!(staff["project_id"], project);
    // The confirmation page: certificate download and how to find it again.
    let page = app.client().get(app.url(&back)).send().await?.text().await?;
    assert!(page.contains(&cert) && page.contains("下载电子捐赠证书"));
    assert!(page.contains("/transparency/find?cert="));
    // The certificate PDF, and it is genuine by the verification page.
    let res = app
        .client()
        .get(app.url(&back.replace('?', "/certificate.pdf?")))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK, "certificate (CJK font missing?)");
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("c.pdf");
    std::fs::write(&path, res.bytes().await?)?;
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("王小明") && text.contains("88.50") && text.contains(&cert),
        "{text}"
    );
    let gift_record = app
        .store
        .certificate_lookup(&cert)
        .await?
        .ok_or_else(|| anyhow::anyhow!("gift"))?;
    let claim = boai_web::fundraising_claim_url(&app.state, &gift_record);
    let verify = app.client().get(app.url(&claim)).send().await?.text().await?;
    assert!(verify.contains("真实有效"), "{verify}");
    // Found again by certificate number and phone tail.
    let found = app
        .client()
        .post(app.url("/transparency/find"))
        .form(&[
            ("cert", cert.as_str()),
            ("name", ""),
            ("phone4", "5678"),
            ("amount", ""),
        ])
        .send()
        .await?
        .text()
        .await?;
    assert!(found.contains("ledger-index"), "find: {found}");
    // The exact notification again (a replay): acknowledged, nothing changes.
    let (code, answer) = post_notification(&app, &sent[0].headers, &sent[0].body).await?;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(answer["code"], "SUCCESS");
    assert_eq!(counts(&app).await?, after);
    assert_eq!(rejection_reasons(&app).await?, vec!["duplicate".to_owned()]);
    // The pay page will not take the money twice.
    assert_eq!(pay(&app, &no).await?.status(), StatusCode::CONFLICT);
    assert_eq!(counts(&app).await?, after);
    Ok(())
}

#[tokio::test]
async fn bad_notifications_change_nothing_and_are_recorded() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let o = order(&app, json!({"amount": "200", "donor_kind": "anonymous"})).await?;
    let no = o["out_trade_no"].as_str().unwrap().to_owned();
    let before = counts(&app).await?;
    let good = SandboxProvider::payment_body("N-1", &no, "T-1", 20_000, "CNY");

    // Forged: signed, then the body altered.
    let headers = signed(&app, &good, 0);
    let forged = good.replace("20000", "2");
    let (code, answer) = post_notification(&app, &headers, &forged).await?;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["code"], "FAIL");
    // Signed with another key under the sandbox's serial.
    let other = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let mut stolen = signed(&app, &good, 0);
    let ts = stolen[0].1.clone();
    let nonce = stolen[1].1.clone();
    let sig = ed25519_dalek::Signer::sign(
        &other,
        &boai_domain::fundraising::payments::signing_message(&ts, &nonce, good.as_bytes()),
    );
    stolen[3].1 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sig.to_bytes());
    assert_eq!(
        post_notification(&app, &stolen, &good).await?.0,
        StatusCode::UNAUTHORIZED
    );
    // No signature headers at all.
    assert_eq!(post_notification(&app, &[], &good).await?.0, StatusCode::UNAUTHORIZED);
    // Stale: signed correctly ten minutes ago.
    assert_eq!(
        post_notification(&app, &signed(&app, &good, 600), &good).await?.0,
        StatusCode::UNAUTHORIZED
    );
    // Unknown order.
    let unknown = SandboxProvider::payment_body("N-2", "Gnosuchorder", "T-2", 20_000, "CNY");
    let (code, _) = post_notification(&app, &signed(&app, &unknown, 0), &unknown).await?;
    assert_eq!(code, StatusCode::NOT_FOUND);
    // A different amount, a different currency.
    let less = SandboxProvider::payment_body("N-3", &no, "T-3", 1, "CNY");
    assert_eq!(
        post_notification(&app, &signed(&app, &less, 0), &less).await?.0,
        StatusCode::BAD_REQUEST
    );
    let usd = SandboxProvider::payment_body("N-4", &no, "T-4", 20_000, "USD");
    assert_eq!(
        post_notification(&app, &signed(&app, &usd, 0), &usd).await?.0,
        StatusCode::BAD_REQUEST
    );
    // A refund notice before any payment: refused for a later retry.
    let early = SandboxProvider::refund_body("N-5", &no, "T-1", "Rnone", 20_000, 20_000);
    assert_eq!(
        post_notification(&app, &signed(&app, &early, 0), &early).await?.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // Not JSON we understand, but signed.
    let junk = r#"{"id":"N-6","event_type":"TRANSACTION.CLOSED","resource":{"out_trade_no":"x","transaction_id":"y","amount":{"total":1,"currency":"CNY"}}}"#;
    assert_eq!(
        post_notification(&app, &signed(&app, junk, 0), junk).await?.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(counts(&app).await?, before, "refused notifications changed the books");
    assert_eq!(order_status(&app, &no).await?["status"], "pending");
    let mut reasons = rejection_reasons(&app).await?;
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            "amount_mismatch",
            "bad_signature",
            "bad_signature",
            "currency_mismatch",
            "malformed",
            "missing_headers",
            "out_of_order",
            "stale",
            "unknown_order"
        ]
    );

    // The good one twice at the same moment: exactly one gift.
    let headers = signed(&app, &good, 0);
    let (a, b) = tokio::join!(
        post_notification(&app, &headers, &good),
        post_notification(&app, &headers, &good)
    );
    let (a, b) = (a?, b?);
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
    assert_eq!(
        (a.1["code"].clone(), b.1["code"].clone()),
        (json!("SUCCESS"), json!("SUCCESS"))
    );
    let after = counts(&app).await?;
    assert_eq!(
        after,
        Counts {
            gifts: before.gifts + 1,
            journal: before.journal + 1,
            ledger: before.ledger + 1,
            notifications: before.notifications + 1,
        }
    );
    // A second notification id for the same payment: a duplicate too.
    let again = SandboxProvider::payment_body("N-7", &no, "T-1", 20_000, "CNY");
    assert_eq!(
        post_notification(&app, &signed(&app, &again, 0), &again).await?.0,
        StatusCode::OK
    );
    assert_eq!(counts(&app).await?, after);
    let reasons = rejection_reasons(&app).await?;
    assert_eq!(reasons.iter().filter(|r| *r == "duplicate").count(), 2, "{reasons:?}");
    let status = order_status(&app, &no).await?;
    assert_eq!(status["status"], "paid");
    assert_eq!(status["gift"]["public_name"], "匿名");
    Ok(())
}

#[tokio::test]
async fn unpaid_orders_expire() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let expired_count = |token: String| {
        let c = app.client();
        let url = app.url("/api/v1/giving/orders?status=expired");
        async move {
            let list: Value = c.get(url).bearer_auth(token).send().await?.json().await?;
            anyhow::Ok(list["total"].as_u64().unwrap())
        }
    };
    let demo_expired = expired_count(token.clone()).await?;
    let first = order(&app, json!({"amount": "10", "donor_kind": "anonymous"})).await?;
    let second = order(&app, json!({"amount": "20", "donor_kind": "anonymous"})).await?;
    let (a, b) = (
        first["out_trade_no"].as_str().unwrap().to_owned(),
        second["out_trade_no"].as_str().unwrap().to_owned(),
    );
    let before = counts(&app).await?;
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(app.store.payment_orders_expire().await?, 0);
    app.clock.advance(chrono::Duration::minutes(2));
    // The sandbox will not take payment of an expired order.
    let res = pay(&app, &a).await?;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await?.contains("订单已过期"));
    // On look-up the order shows expired.
    assert_eq!(order_status(&app, &a).await?["status"], "expired");
    // The sweep expires the rest.
    assert_eq!(app.store.payment_orders_expire().await?, 0, "the look-up expired both");
    assert_eq!(order_status(&app, &b).await?["status"], "expired");
    let page = app
        .client()
        .get(app.url(&format!("/give/orders/{b}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("订单已过期"));
    assert_eq!(counts(&app).await?, before);
    assert_eq!(expired_count(token).await?, demo_expired + 2);
    Ok(())
}

#[tokio::test]
async fn refunds_go_through_the_provider_and_never_exceed_the_gift() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let o = order(
        &app,
        json!({"amount": "100", "donor_kind": "organisation", "name": "济南某科技有限公司",
               "credit_code": "91350100M000100Y43"}),
    )
    .await?;
    let no = o["out_trade_no"].as_str().unwrap().to_owned();
    assert_eq!(pay(&app, &no).await?.status(), StatusCode::SEE_OTHER);
    let paid = counts(&app).await?;
    let token = app.token("caiwu").await?;
    let refund = |amount: Value| {
        app.client()
            .post(app.url(&format!("/api/v1/giving/orders/{no}/refunds")))
            .bearer_auth(&token)
            .json(&json!({"amount_fen": amount, "reason": "捐赠人申请退款"}))
            .send()
    };
    // Over the gift, zero, a fraction: refused, nothing changes.
    for bad in [json!(10_001), json!(0), json!(12.5)] {
        let res = refund(bad.clone()).await?;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let problem: Value = res.json().await?;
        assert_eq!(problem["errors"][0]["field"], "amount_fen", "{problem}");
    }
    assert_eq!(counts(&app).await?, paid);
    // A supervisor may not refund.
    let sup = app.token("supervisor").await?;
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/giving/orders/{no}/refunds")))
        .bearer_auth(&sup)
        .json(&json!({"amount_fen": 100, "reason": "x"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Part of it: the provider notifies, the gift-refund path reverses it.
    let res = refund(json!(4_000)).await?;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let after = counts(&app).await?;
    assert_eq!(after.gifts, paid.gifts);
    assert_eq!(after.journal, paid.journal + 1);
    assert_eq!(after.ledger, paid.ledger + 1);
    let status = order_status(&app, &no).await?;
    assert_eq!(status["refunded_fen"], 4_000);
    assert_eq!(status["gift"]["status"], "partially_refunded");
    // More than what remains: refused.
    assert_eq!(refund(json!(6_001)).await?.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The refund notification replayed: a duplicate.
    let sent = app.state.payments.sandbox().sent();
    let last = sent.last().ok_or_else(|| anyhow::anyhow!("no refund notice"))?;
    assert!(last.body.contains("REFUND.SUCCESS"));
    let (code, _) = post_notification(&app, &last.headers, &last.body).await?;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(counts(&app).await?, after);
    assert!(rejection_reasons(&app).await?.contains(&"duplicate".to_owned()));
    let balance: Value = app
        .client()
        .get(app.url("/api/v1/funds/trial-balance"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(balance["balanced"], true);
    Ok(())
}

#[tokio::test]
async fn public_giving_pages() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let page = app.client().get(app.url("/give")).send().await?;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await?;
    assert!(
        html.contains("在线捐赠") && html.contains("白内障") && html.contains("¥100"),
        "{html}"
    );
    // Errors stay next to their fields; nothing is written.
    let before = count(&app, "payment_orders").await?;
    let res = app
        .client()
        .post(app.url("/give"))
        .form(&[
            ("project_id", "general"),
            ("amount", "1.005"),
            ("donor_kind", "person"),
            ("name", "李四"),
            ("phone", "123"),
            ("id_card_no", "110105194912310021"),
        ])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await?;
    assert!(html.contains("金额格式有误"), "{html}");
    assert!(html.contains("field-error"));
    assert!(!html.contains("110105194912310021"), "the ID number is not echoed");
    assert_eq!(count(&app, "payment_orders").await?, before);
    // A preset amount to the general fund, anonymously → the sandbox page.
    let res = app
        .client()
        .post(app.url("/give"))
        .form(&[("project_id", "general"), ("preset", "50"), ("donor_kind", "anonymous")])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str()?.to_owned();
    assert!(to.starts_with("/sandbox/pay/G"), "{to}");
    let pay = app.client().get(app.url(&to)).send().await?.text().await?;
    assert!(pay.contains("¥50.00") && pay.contains("确认支付"));
    assert_eq!(count(&app, "payment_orders").await?, before + 1);
    // Unknown order numbers are 404.
    assert_eq!(
        app.client()
            .get(app.url("/api/v1/giving/orders/Gnope"))
            .send()
            .await?
            .status(),
        StatusCode::NOT_FOUND
    );
    Ok(())
}

#[tokio::test]
async fn major_donors_levels_visits_and_yearly_statement() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let project = project_id(&app, "CATARACT").await?;
    let donor =
        json!({"kind": "organisation", "name": "泉城大额捐赠测试有限公司", "credit_code": "91350100M000100Y43"});
    let mut certs = Vec::new();
    for fen in [600_000, 500_000] {
        let res = app
            .client()
            .post(app.url("/api/v1/donations"))
            .bearer_auth(&token)
            .json(&json!({"project_id": project, "amount_fen": fen, "channel": "bank_transfer", "donor": donor}))
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::CREATED);
        let g: Value = res.json().await?;
        certs.push(g["certificate_no"].as_str().unwrap().to_owned());
    }
    let list: Value = app
        .client()
        .get(app.url("/api/v1/giving/donors?per_page=100"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let entry = list["items"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == "泉城大额捐赠测试有限公司").cloned())
        .ok_or_else(|| anyhow::anyhow!("not listed: {list}"))?;
    assert_eq!(entry["total_fen"], 1_100_000);
    assert_eq!(entry["gifts"], 2);
    assert_eq!(entry["level"], "爱心捐赠人");
    let id = entry["donor_id"].as_str().unwrap().to_owned();
    let detail: Value = app
        .client()
        .get(app.url(&format!("/api/v1/giving/donors/{id}")))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(detail["history"].as_array().map(Vec::len), Some(2));
    assert_eq!(detail["next_level"]["title"], "博爱之星");
    assert_eq!(detail["next_level"]["missing_fen"], 8_900_000);
    // Visits: a bad one is refused next to its field, a good one becomes a reminder when due.
    let today = (boai_domain::Clock::now(&app.clock) + chrono::Duration::hours(8)).date_naive();
    let visit = |visited: chrono::NaiveDate, follow: chrono::NaiveDate| {
        app.client()
            .post(app.url(&format!("/api/v1/giving/donors/{id}/visits")))
            .bearer_auth(&token)
            .json(&json!({"visited_on": visited.to_string(), "visitor": "募捐部 王主任",
                "notes": "致谢, 介绍项目进展", "follow_up_on": follow.to_string()}))
            .send()
    };
    let res = visit(today, today - chrono::Duration::days(1)).await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await?;
    assert_eq!(problem["errors"][0]["field"], "follow_up_on");
    let res = visit(today - chrono::Duration::days(3), today).await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let reminders: Value = app
        .client()
        .get(app.url("/api/v1/giving/reminders"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert!(
        reminders["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v["donor_name"] == "泉城大额捐赠测试有限公司")),
        "{reminders}"
    );
    // The yearly statement lists both gifts and the total.
    let year = today.format("%Y").to_string();
    let res = app
        .client()
        .get(app.url(&format!("/api/v1/giving/donors/{id}/statement/{year}.pdf")))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("s.pdf");
    std::fs::write(&path, res.bytes().await?)?;
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("泉城大额捐赠测试有限公司")
            && text.contains("11,000.00")
            && certs.iter().all(|c| text.contains(c.as_str())),
        "{text}"
    );
    // Levels are configurable; a bad set is refused.
    let put = |body: Value| {
        app.client()
            .put(app.url("/api/v1/giving/recognition-levels"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    assert_eq!(
        put(json!([{"threshold_fen": 0, "title": ""}])).await?.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put(json!([{"threshold_fen": 2_000_000, "title": "金牌捐赠人"}, {"threshold_fen": 500_000, "title": "银牌捐赠人"}]))
            .await?
            .status(),
        StatusCode::OK
    );
    let detail: Value = app
        .client()
        .get(app.url(&format!("/api/v1/giving/donors/{id}")))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(detail["totals"]["level"], "银牌捐赠人");
    assert_eq!(detail["next_level"]["missing_fen"], 900_000);
    // The pages render.
    let (c, _) = app.sign_in("caiwu").await?;
    let page = c.get(app.url("/fundraising/major-donors")).send().await?.text().await?;
    assert!(
        page.contains("泉城大额捐赠测试有限公司") && page.contains("待跟进"),
        "{page}"
    );
    let page = c
        .get(app.url(&format!("/fundraising/major-donors/{id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("年度捐赠明细") && page.contains("拜访记录"));
    Ok(())
}

#[tokio::test]
async fn fundraising_dashboard_adds_up() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let d: Value = app
        .client()
        .get(app.url("/api/v1/giving/dashboard"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let sum = |key: &str| -> i64 {
        d[key]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["amount_fen"].as_i64()).sum())
            .unwrap_or(-1)
    };
    let total = d["total_fen"].as_i64().unwrap_or(-1);
    assert!(total > 0, "{d}");
    assert_eq!(sum("by_channel"), total);
    assert_eq!(sum("by_district"), total);
    let online: i64 = d["by_channel"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| ["online", "wechat", "alipay"].contains(&c["channel"].as_str().unwrap()))
                .filter_map(|c| c["amount_fen"].as_i64())
                .sum()
        })
        .unwrap_or(-1);
    assert_eq!(d["online_fen"].as_i64(), Some(online));
    assert_eq!(d["online_share_permille"].as_i64(), Some(online * 1000 / total));
    assert_eq!(d["by_month"].as_array().map(Vec::len), Some(12));
    // The demo's statement leaves two credits unreconciled (¥200.00 + ¥33.33).
    assert_eq!(d["unreconciled_fen"], 23_333);
    assert_eq!(d["unreconciled_lines"], 2);
    let (c, _) = app.sign_in("caiwu").await?;
    let page = c.get(app.url("/fundraising/dashboard")).send().await?.text().await?;
    assert!(
        page.contains("<svg") && page.contains("网络捐赠占比") && page.contains("¥233.33"),
        "{page}"
    );
    // The demo's online orders: three paid, two expired.
    let paid: Value = app
        .client()
        .get(app.url("/api/v1/giving/orders?status=paid"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let expired: Value = app
        .client()
        .get(app.url("/api/v1/giving/orders?status=expired"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let online: Value = app
        .client()
        .get(app.url("/api/v1/donations?channel=online&per_page=1"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let demo_online = online["total"].as_u64().unwrap().min(3);
    assert_eq!(
        (paid["total"].as_u64(), expired["total"].as_u64()),
        (Some(demo_online), Some(2))
    );
    Ok(())
}
