//! Sessions and secrets over real HTTP, on the backend the testkit picks:
//! the password rules on account creation and password change, lock-out
//! (423 even to the right password, on the page too), rate limits with
//! Retry-After on sign-in and the public look-ups, session idle and absolute
//! timeouts on the app's clock, a fresh session id at sign-in (the old one
//! dies), logout ending the session on the server, HSTS when served over
//! HTTPS, token scopes and revocation, and the admin actions in the audit
//! trail.

use boai_store::demo::org_id;
use boai_testkit::{hidden_field, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};

async fn audit(app: &TestApp, token: &str, query: &str) -> anyhow::Result<Vec<Value>> {
    let body: Value = app
        .client()
        .get(app.url(&format!("/api/v1/audit?per_page=100&{query}")))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    Ok(body["items"].as_array().cloned().unwrap_or_default())
}

async fn token_for(app: &TestApp, username: &str, password: &str) -> anyhow::Result<StatusCode> {
    app.token_status(username, password).await
}

/// The session cookie a response set.
fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("boai_session="))
        .and_then(|c| c.split(';').next())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Signs in through the login page with `client`, returning the new session
/// cookie's value.
async fn page_sign_in(app: &TestApp, client: &reqwest::Client, username: &str) -> anyhow::Result<String> {
    let page = client.get(app.url("/login")).send().await?.text().await?;
    let csrf = hidden_field(&page, "csrf").unwrap();
    let res = client
        .post(app.url("/login"))
        .form(&[("username", username), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await?;
    anyhow::ensure!(res.status() == StatusCode::SEE_OTHER, "sign-in: {}", res.status());
    session_cookie(&res).ok_or_else(|| anyhow::anyhow!("no session cookie"))
}

/// A request to a signed-in page with exactly this session cookie.
async fn with_cookie(app: &TestApp, cookie: &str) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .client()
        .get(app.url("/dashboard"))
        .header("cookie", format!("boai_session={cookie}"))
        .send()
        .await?)
}

fn to_login(res: &reqwest::Response) -> bool {
    res.status() == StatusCode::SEE_OTHER
        && res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|l| l.starts_with("/login"))
}

#[tokio::test]
async fn account_creation_follows_the_password_rules_and_is_audited() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let admin = app.token("admin").await?;
    let c = app.client();
    let body = |password: &str| {
        json!({"username": "wangwu", "display_name": "王五", "role": "finance",
               "org_id": org_id("JN").to_string(), "password": password})
    };
    for weak in ["short1", "onlyletters", "wangwu-2026", &"a1".repeat(65)] {
        let res = c
            .post(app.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&body(weak))
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await?;
        assert!(problem.to_string().contains("\"password\""), "{problem}");
    }
    assert_eq!(token_for(&app, "wangwu", "short1").await?, StatusCode::UNAUTHORIZED);
    let before = audit(&app, &admin, "entity=user&action=create").await?.len();
    let res = c
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&body("Spring-2026"))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let user: Value = res.json().await?;
    assert!(!user.to_string().contains("Spring-2026") && !user.to_string().contains("argon2"));
    let rows = audit(&app, &admin, "entity=user&action=create").await?;
    assert_eq!(
        rows.len(),
        before + 1,
        "weak passwords wrote nothing; the good one one row"
    );
    let row = rows
        .iter()
        .find(|r| r["entity_id"] == user["id"])
        .cloned()
        .unwrap_or_default();
    assert_eq!(row["actor_name"], "admin");
    assert!(
        !row.to_string().contains("argon2"),
        "no password hash in the audit trail"
    );
    assert_eq!(token_for(&app, "wangwu", "Spring-2026").await?, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn password_change_checks_the_rules_and_ends_sessions() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("lixia").await?;
    let (browser, _) = app.sign_in("lixia").await?;
    assert_eq!(
        browser.get(app.url("/dashboard")).send().await?.status(),
        StatusCode::OK
    );
    let change = |current: &str, new: &str| {
        app.client()
            .post(app.url("/api/v1/me/password"))
            .bearer_auth(&token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    // Against the rules, or the wrong current password: 422, nothing changes.
    for (current, new, field) in [
        (PASSWORD, "short1", "new_password"),
        (PASSWORD, "lixia-2026!", "new_password"),
        (PASSWORD, "onlyletters", "new_password"),
        ("wrong-password1", "Autumn-2026", "current_password"),
    ] {
        let res = change(current, new).await?;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{new}");
        let problem: Value = res.json().await?;
        assert!(problem.to_string().contains(field), "{problem}");
    }
    assert_eq!(token_for(&app, "lixia", PASSWORD).await?, StatusCode::OK);
    assert_eq!(
        browser.get(app.url("/dashboard")).send().await?.status(),
        StatusCode::OK
    );
    // A read-only token may not change it.
    let read: Value = app
        .client()
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"username": "lixia", "password": PASSWORD, "access": "read"}))
        .send()
        .await?
        .json()
        .await?;
    let res = app
        .client()
        .post(app.url("/api/v1/me/password"))
        .bearer_auth(read["token"].as_str().unwrap())
        .json(&json!({"current_password": PASSWORD, "new_password": "Autumn-2026"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The right way: 204; the old password is dead, the new one works, and
    // the browser session has ended.
    assert_eq!(change(PASSWORD, "Autumn-2026").await?.status(), StatusCode::NO_CONTENT);
    assert_eq!(token_for(&app, "lixia", PASSWORD).await?, StatusCode::UNAUTHORIZED);
    assert_eq!(token_for(&app, "lixia", "Autumn-2026").await?, StatusCode::OK);
    assert!(to_login(&browser.get(app.url("/dashboard")).send().await?));
    let admin = app.token("admin").await?;
    let rows = audit(&app, &admin, "entity=user&action=update&actor=lixia").await?;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(!rows[0].to_string().contains("Autumn-2026") && !rows[0].to_string().contains("argon2"));
    Ok(())
}

#[tokio::test]
async fn the_login_page_answers_423_to_a_locked_account_even_with_the_right_password() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let c = app.client();
    let attempt = |password: &'static str| {
        let c = c.clone();
        let app = &app;
        async move {
            let page = c.get(app.url("/login")).send().await?.text().await?;
            let csrf = hidden_field(&page, "csrf").unwrap();
            let res = c
                .post(app.url("/login"))
                .form(&[("username", "shi"), ("password", password), ("csrf", &csrf)])
                .send()
                .await?;
            anyhow::Ok(res.status())
        }
    };
    for _ in 0..4 {
        assert_eq!(
            attempt("wrong-password").await?,
            StatusCode::OK,
            "the form again, with the error"
        );
    }
    assert_eq!(attempt("wrong-password").await?, StatusCode::LOCKED);
    assert_eq!(attempt(PASSWORD).await?, StatusCode::LOCKED);
    assert_eq!(token_for(&app, "shi", PASSWORD).await?, StatusCode::LOCKED);
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(attempt(PASSWORD).await?, StatusCode::SEE_OTHER);
    Ok(())
}

/// A client whose requests come from its own loopback address, so each rate
/// limit is tried with a fresh bucket.
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

#[tokio::test]
async fn public_look_ups_and_sign_in_answer_429_with_retry_after() -> anyhow::Result<()> {
    let app = TestApp::with_config(boai_web::WebConfig {
        login_rate_per_minute: 60,
        ..Default::default()
    })
    .await?;
    type Send = fn(&TestApp, &reqwest::Client) -> reqwest::RequestBuilder;
    let tries: [(&str, Send); 6] = [
        ("POST /api/v1/auth/token", |app, c| {
            c.post(app.url("/api/v1/auth/token"))
                .json(&json!({"username": "nobody", "password": "wrong-password"}))
        }),
        ("GET /transparency/find", |app, c| {
            c.get(app.url("/transparency/find?cert=ZS000000&name=张三&phone4=0000&amount=1"))
        }),
        ("POST /relief/status", |app, c| {
            c.post(app.url("/relief/status"))
                .form(&[("case_no", "JZ-0000"), ("lookup_code", "000000")])
        }),
        ("POST /api/v1/relief/status", |app, c| {
            c.post(app.url("/api/v1/relief/status"))
                .json(&json!({"case_no": "JZ-0000", "lookup_code": "000000"}))
        }),
        ("POST /give", |app, c| {
            c.post(app.url("/give")).form(&[("amount", "not-a-number")])
        }),
        ("POST /api/v1/giving/orders", |app, c| {
            c.post(app.url("/api/v1/giving/orders"))
                .json(&json!({"amount": "not-a-number"}))
        }),
    ];
    for (i, (what, send)) in tries.iter().enumerate() {
        let c = client_from(10 + i as u8);
        let mut refused_at = None;
        // 60 a minute, refilled one a second: slow answers (Argon2 on the
        // token endpoint) earn a few more before the refusal.
        for n in 0..200 {
            let res = send(&app, &c).send().await?;
            if res.status() == StatusCode::TOO_MANY_REQUESTS {
                let retry: u64 = res.headers()["retry-after"].to_str()?.parse()?;
                assert!((1..=60).contains(&retry), "{what}: Retry-After {retry}");
                refused_at = Some(n);
                break;
            }
        }
        assert!(
            refused_at.is_some_and(|n| (60..90).contains(&n)),
            "{what}: refused after {refused_at:?} requests, want about 60"
        );
        // Another client is not affected.
        let other = send(&app, &client_from(100 + i as u8)).send().await?;
        assert_ne!(other.status(), StatusCode::TOO_MANY_REQUESTS, "{what}");
    }
    Ok(())
}

#[tokio::test]
async fn sessions_end_after_the_absolute_limit_even_when_busy() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let (c, _) = app.sign_in("lixia").await?;
    // A request every 20 minutes keeps the 30-minute idle limit away…
    for _ in 0..35 {
        app.clock.advance(chrono::Duration::minutes(20));
        assert_eq!(c.get(app.url("/dashboard")).send().await?.status(), StatusCode::OK);
    }
    // …11 h 40 min after sign-in; at 12 h 20 min the 12-hour limit ends it.
    app.clock.advance(chrono::Duration::minutes(40));
    assert!(to_login(&c.get(app.url("/dashboard")).send().await?));
    // And it stays ended (deleted on the server, not just refused once).
    app.clock.advance(chrono::Duration::minutes(-60));
    assert!(to_login(&c.get(app.url("/dashboard")).send().await?));
    Ok(())
}

#[tokio::test]
async fn sessions_end_when_idle_on_the_apps_clock() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let (c, _) = app.sign_in("caiwu").await?;
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(c.get(app.url("/dashboard")).send().await?.status(), StatusCode::OK);
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(c.get(app.url("/dashboard")).send().await?.status(), StatusCode::OK);
    app.clock.advance(chrono::Duration::minutes(31));
    assert!(to_login(&c.get(app.url("/dashboard")).send().await?));
    Ok(())
}

#[tokio::test]
async fn signing_in_rotates_the_session_id_and_logout_ends_it_on_the_server() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let c = app.client();
    let first = page_sign_in(&app, &c, "lixia").await?;
    assert_eq!(with_cookie(&app, &first).await?.status(), StatusCode::OK);
    // Signing in again (same browser) gives a new id; the old one is dead.
    let second = page_sign_in(&app, &c, "lixia").await?;
    assert_ne!(first, second);
    assert!(
        to_login(&with_cookie(&app, &first).await?),
        "the old session id still works"
    );
    assert_eq!(with_cookie(&app, &second).await?.status(), StatusCode::OK);
    // Logout: the cookie is cleared and, replayed, no longer works.
    let page = c.get(app.url("/account/tokens")).send().await?.text().await?;
    let csrf = hidden_field(&page, "csrf").unwrap();
    let res = c.post(app.url("/logout")).form(&[("csrf", &csrf)]).send().await?;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        to_login(&with_cookie(&app, &second).await?),
        "logout left the session alive"
    );
    let admin = app.token("admin").await?;
    let logins = audit(&app, &admin, "action=login&actor=lixia").await?;
    assert_eq!(logins.len(), 2);
    Ok(())
}

#[tokio::test]
async fn html_carries_the_security_headers_and_hsts_only_over_https() -> anyhow::Result<()> {
    let plain = TestApp::demo().await?;
    let tls = TestApp::with_config(boai_web::WebConfig {
        secure_cookies: true,
        ..Default::default()
    })
    .await?;
    for path in ["/", "/login", "/transparency", "/give"] {
        let res = plain.client().get(plain.url(path)).send().await?;
        let h = res.headers();
        assert!(h["content-type"].to_str()?.starts_with("text/html"), "{path}");
        let csp = h["content-security-policy"].to_str()?;
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(
            !h.contains_key("strict-transport-security"),
            "HSTS over plain HTTP: {path}"
        );
        let res = tls.client().get(tls.url(path)).send().await?;
        let hsts = res.headers()["strict-transport-security"].to_str()?;
        assert!(hsts.contains("max-age=31536000"), "{hsts}");
    }
    // The session cookie is Secure when served over HTTPS.
    let c = tls.client();
    let page = c.get(tls.url("/login")).send().await?.text().await?;
    let csrf = hidden_field(&page, "csrf").unwrap();
    let res = c
        .post(tls.url("/login"))
        .header("cookie", format!("boai_login_csrf={csrf}"))
        .form(&[("username", "lixia"), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await?;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("boai_session="))
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    Ok(())
}

#[tokio::test]
async fn admin_actions_are_in_the_audit_trail() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    // jiceng: the demo's grassroots operator of 历下区第一社区 (JN-LX-001).
    let admin = app.token("admin").await?;
    let c = app.client();
    let users: Value = app.get_json(&admin, "/api/v1/users?q=jiceng").await?;
    let jiceng = users["items"][0]["id"].as_str().unwrap().to_owned();
    // Role change: a bad role is 422 and changes nothing; a good one is audited.
    let res = c
        .put(app.url(&format!("/api/v1/users/{jiceng}/role")))
        .bearer_auth(&admin)
        .json(&json!({"role": "root"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let jiceng_token = app.token("jiceng").await?;
    let gifts = c.get(app.url("/api/v1/donations")).bearer_auth(&jiceng_token);
    assert_eq!(gifts.send().await?.status(), StatusCode::OK);
    let res = c
        .put(app.url(&format!("/api/v1/users/{jiceng}/role")))
        .bearer_auth(&admin)
        .json(&json!({"role": "partner"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    // The role holds from the next request (a partner sees no gifts).
    let res = c
        .get(app.url("/api/v1/donations"))
        .bearer_auth(&jiceng_token)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let rows = audit(&app, &admin, &format!("entity=user&action=update&entity_id={jiceng}")).await?;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["before"]["role"], "grassroots_operator");
    assert_eq!(rows[0]["after"]["role"], "partner");
    // Others may not change roles; no one changes their own.
    let shi = app.token("shi").await?;
    let res = c
        .put(app.url(&format!("/api/v1/users/{jiceng}/role")))
        .bearer_auth(&shi)
        .json(&json!({"role": "admin"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let me: Value = app.get_json(&admin, "/api/v1/me").await?;
    let res = c
        .put(app.url(&format!("/api/v1/users/{}/role", me["user_id"].as_str().unwrap())))
        .bearer_auth(&admin)
        .json(&json!({"role": "finance"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Token revocation: audited, and the revoked token is 401 at once.
    let spare: Value = c
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"username": "admin", "password": PASSWORD, "name": "spare"}))
        .send()
        .await?
        .json()
        .await?;
    let spare_id = spare["id"].as_str().unwrap();
    let res = c
        .delete(app.url(&format!("/api/v1/auth/tokens/{spare_id}")))
        .bearer_auth(&admin)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let res = c
        .get(app.url("/api/v1/me"))
        .bearer_auth(spare["token"].as_str().unwrap())
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let rows = audit(&app, &admin, &format!("entity=api_token&entity_id={spare_id}")).await?;
    assert!(
        rows.iter()
            .any(|r| r["action"] == "update" && r["after"]["revoked_at"].is_string()),
        "{rows:?}"
    );
    assert!(!rows
        .iter()
        .any(|r| r.to_string().contains(spare["token"].as_str().unwrap_or("-"))));
    // Settings: a 五有 checklist item.
    let res = c
        .put(app.url("/api/v1/network/checklist/STOCK"))
        .bearer_auth(&admin)
        .json(&json!({"name_zh": "有应急物资储备", "active": true}))
        .send()
        .await?;
    let status = res.status();
    let answer = res.text().await?;
    assert!(status.is_success(), "{status} {answer}");
    let rows = audit(&app, &admin, "actor=admin").await?;
    assert!(
        rows.iter().any(|r| r.to_string().contains("STOCK")),
        "settings change not audited: {rows:?}"
    );
    Ok(())
}
