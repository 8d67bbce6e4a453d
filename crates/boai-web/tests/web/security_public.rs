//! Issue 24, the public side: find-my-gift guesses limited per certificate
//! (whichever client asks) and no more of the name than the ledger shows;
//! refused payment notifications scoped, and anonymous junk rate-limited and
//! aggregated; an order number alone never opens a certificate; invisible
//! formatting characters refused in names.

use boai_testkit::TestApp;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};

const NOT_FOUND: &str = "未找到匹配的捐赠记录";

/// A client whose requests come from its own loopback address.
fn client_from(a: u8, b: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, a, b)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

async fn project_id(app: &TestApp, token: &str, code: &str) -> anyhow::Result<String> {
    app.project_id(token, code).await
}

async fn scalar(app: &TestApp, sql: &str) -> anyhow::Result<i64> {
    let conn = app.db.raw().await?;
    let backend = conn.get_database_backend();
    let row = conn
        .query_one(Statement::from_string(backend, sql.to_owned()))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    let n: i64 = row.try_get("", "n")?;
    let _ = conn.close().await;
    Ok(n)
}

#[tokio::test]
async fn find_my_gift_takes_five_wrong_guesses_per_certificate_from_any_client() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let project = project_id(&app, &token, "CATARACT").await?;
    let gift: Value = app
        .client()
        .post(app.url("/api/v1/donations"))
        .bearer_auth(&token)
        .json(
            &json!({"project_id": project, "amount_fen": 50_000, "channel": "bank_transfer",
                      "donor": {"kind": "person", "name": "欧阳明月", "phone": "13800135678"}}),
        )
        .send()
        .await?
        .json()
        .await?;
    let cert = gift["certificate_no"].as_str().unwrap_or_default().to_owned();
    let find = |client: reqwest::Client, fields: Vec<(&'static str, String)>| {
        let url = app.url("/transparency/find");
        async move {
            let res = client.post(url).form(&fields).send().await?;
            let status = res.status();
            anyhow::Ok((status, res.text().await?))
        }
    };
    // An attacker with many addresses, walking through the phone tails.
    let mut guesses = 0;
    let mut refused_at = None;
    for n in 0..30u8 {
        let (status, page) = find(
            client_from(20, n),
            vec![("cert", cert.clone()), ("phone4", format!("{:04}", n))],
        )
        .await?;
        guesses += 1;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(page.contains("错误次数过多"), "{page}");
            refused_at = Some(guesses);
            break;
        }
        assert!(page.contains(NOT_FOUND));
    }
    eprintln!("find-my-gift: refused at guess {refused_at:?} (5 wrong guesses per certificate per hour)");
    assert_eq!(refused_at, Some(6), "five wrong guesses, the sixth refused");
    // Now even the right digits are refused, from a fresh address, unchecked.
    let (status, page) = find(
        client_from(21, 1),
        vec![("cert", cert.clone()), ("phone4", "5678".to_owned())],
    )
    .await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!page.contains("ledger-index"));
    // The refusal is in the audit trail, once.
    let admin = app.token("admin").await?;
    let audit: Value = app
        .client()
        .get(app.url("/api/v1/audit?entity=gift_lookup&per_page=100"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    let rows = audit["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "{audit}");
    assert_eq!(rows[0]["action"], "refuse");
    // An hour later the donor finds it by phone tail: the name masked as in
    // the ledger, no salt (it would let anyone test names offline).
    app.clock.advance(chrono::Duration::minutes(61));
    let (status, page) = find(
        client_from(21, 2),
        vec![("cert", cert.clone()), ("phone4", "5678".to_owned())],
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("ledger-index"), "{page}");
    assert!(
        !page.contains("欧阳明月"),
        "the full name of a donor who did not consent"
    );
    assert!(page.contains("欧***"));
    assert!(page.contains("data-salt=\"\""), "no salt without the name");
    // With the name typed, the commitment opens.
    let (status, page) = find(
        client_from(21, 3),
        vec![("cert", cert.clone()), ("name", "欧阳明月".to_owned())],
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("✓ 与账本条目一致"), "{page}");
    // Successes are not counted: a donor may look as often as they like.
    for i in 0..8u8 {
        let (status, _) = find(
            client_from(22, i),
            vec![("cert", cert.clone()), ("phone4", "5678".to_owned())],
        )
        .await?;
        assert_eq!(status, StatusCode::OK);
    }
    // A concurrent burst of wrong guesses: still no more than five checked.
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..20u8 {
        let f = find(
            client_from(23, n),
            vec![("cert", cert.clone()), ("phone4", format!("9{:03}", n))],
        );
        burst.spawn(f);
    }
    let mut wrong = 0;
    let mut refused = 0;
    while let Some(done) = burst.join_next().await {
        match done??.0 {
            StatusCode::OK => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => anyhow::bail!("{other}"),
        }
    }
    eprintln!("find-my-gift burst of 20: {wrong} checked, {refused} refused");
    assert_eq!((wrong, refused), (5, 15));
    Ok(())
}

#[tokio::test]
async fn refused_notifications_are_scoped_and_anonymous_junk_is_limited_and_aggregated() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    // One signed notice for an unknown order (the city's), junk without a
    // signature from one client until it is limited.
    let unknown = boai_web::payments::SandboxProvider::payment_body("N-1", "Gnosuch", "T-1", 100, "CNY");
    let now = boai_domain::Clock::now(&app.clock).timestamp();
    let headers = app.state.payments.sandbox().signed_headers(&unknown, now, "nonce-1");
    let mut req = app
        .client()
        .post(app.url("/api/v1/giving/notify/sandbox"))
        .header("content-type", "application/json")
        .body(unknown.clone());
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    assert_eq!(req.send().await?.status(), StatusCode::NOT_FOUND);
    let junk = |client: reqwest::Client| {
        let url = app.url("/api/v1/giving/notify/sandbox");
        async move {
            let res = client
                .post(url)
                .header("content-type", "application/json")
                .body(r#"{"id":"x","resource":{"out_trade_no":"G1"}}"#)
                .send()
                .await?;
            anyhow::Ok(res.status())
        }
    };
    let mut accepted = 1; // the signed one
    let mut limited = 0;
    for _ in 0..75 {
        match junk(client_from(30, 1)).await? {
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            _ => accepted += 1,
        }
    }
    assert!(limited >= 10, "one client's junk is rate-limited ({limited} refused)");
    // More from other clients: past the day's rows it is only counted.
    for i in 0..60u8 {
        if junk(client_from(31, i)).await? != StatusCode::TOO_MANY_REQUESTS {
            accepted += 1;
        }
    }
    let rows = scalar(&app, "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM payment_rejections").await?;
    let hits = scalar(&app, "SELECT CAST(SUM(hits) AS BIGINT) AS n FROM payment_rejections").await?;
    eprintln!("notifications: {accepted} recorded in {rows} rows, {limited} refused by the rate limit");
    assert_eq!(hits, accepted, "every recorded refusal is counted");
    assert!(rows <= 102, "{rows} rows for {accepted} refusals");
    // The city sees them; the grassroots operator and the district none.
    let list = |who: &'static str| {
        let app = &app;
        async move {
            let token = app.token(who).await?;
            let body: Value = app
                .client()
                .get(app.url("/api/v1/giving/rejections?per_page=100"))
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(body)
        }
    };
    let city = list("caiwu").await?;
    assert_eq!(city["total"].as_i64(), Some(rows));
    assert!(city.to_string().contains("\"hits\""));
    for who in ["jiceng", "lixia"] {
        let body = list(who).await?;
        assert_eq!(body["total"], 0, "{who}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn an_order_number_alone_never_opens_a_certificate() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let res = app
        .client()
        .post(app.url("/api/v1/giving/orders"))
        .json(&json!({"amount": "66.60", "donor_kind": "person", "name": "赵手机", "phone": "13700001234"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let order: Value = res.json().await?;
    let no = order["out_trade_no"].as_str().unwrap_or_default().to_owned();
    let key = order["order_key"].as_str().unwrap_or_default().to_owned();
    assert!(!key.is_empty(), "{order}");
    // The donor pays and comes back to the order's own link.
    let res = app
        .client()
        .post(app.url(&format!("/sandbox/pay/{no}")))
        .form(&[("x", "")])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = res.headers()["location"].to_str()?.to_owned();
    assert_eq!(back, format!("/give/orders/{no}?k={key}"));
    let page = app.client().get(app.url(&back)).send().await?.text().await?;
    assert!(page.contains("id=\"certificate-link\""), "{page}");
    let pdf = app
        .client()
        .get(app.url(&format!("/give/orders/{no}/certificate.pdf?k={key}")))
        .send()
        .await?;
    assert_eq!(pdf.status(), StatusCode::OK, "the donor's own link (CJK font missing?)");
    // Someone with the order number only (as in the refusal list).
    let page = app
        .client()
        .get(app.url(&format!("/give/orders/{no}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(!page.contains("certificate-link") && page.contains("certificate-needs-link"));
    assert!(!page.contains("赵手机"));
    for tail in ["", "?k=", "?k=AAAA", &format!("?k={}x", key)] {
        let res = app
            .client()
            .get(app.url(&format!("/give/orders/{no}/certificate.pdf{tail}")))
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{tail}");
    }
    let status: Value = app
        .client()
        .get(app.url(&format!("/api/v1/giving/orders/{no}")))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(status["status"], "paid");
    assert!(status["gift"]["certificate_url"].is_null(), "{status}");
    let status: Value = app
        .client()
        .get(app.url(&format!("/api/v1/giving/orders/{no}?k={key}")))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        status["gift"]["certificate_url"],
        format!("/give/orders/{no}/certificate.pdf?k={key}")
    );
    Ok(())
}

#[tokio::test]
async fn names_with_invisible_formatting_characters_are_refused() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let project = project_id(&app, &token, "CATARACT").await?;
    let gifts = scalar(&app, "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM gifts").await?;
    for name in ["张三\u{202E}", "李\u{200B}四", "\u{FEFF}王五", "赵\u{2066}六\u{2069}"] {
        let res = app
            .client()
            .post(app.url("/api/v1/donations"))
            .bearer_auth(&token)
            .json(&json!({"project_id": project, "amount_fen": 100, "channel": "cash",
                          "donor": {"kind": "person", "name": name}}))
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(res.text().await?.contains("donor.name"));
        let res = app
            .client()
            .post(app.url("/api/v1/giving/orders"))
            .json(&json!({"amount": "10", "donor_kind": "person", "name": name, "phone": "13700001234"}))
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
    }
    let admin = app.token("admin").await?;
    let res = app
        .client()
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(
            &json!({"username": "wangwu", "display_name": "王\u{202E}五", "role": "finance",
                      "org_id": boai_store::demo::org_id("JN").to_string(), "password": "Spring-rain-26"}),
        )
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        scalar(&app, "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM gifts").await?,
        gifts,
        "bad input changes nothing"
    );
    Ok(())
}
