//! Issue 24, accounts: the lock-out holds under a concurrent burst (the
//! attempt is counted before the password is checked), unknown user names
//! lock like known ones, a password change or reset revokes API tokens as
//! well as sessions, and common passwords are refused where a person sets one.

use boai_testkit::{hidden_field, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn token_status(app: &TestApp, username: &str, password: &str) -> anyhow::Result<StatusCode> {
    app.token_status(username, password).await
}

async fn user(app: &TestApp, admin: &str, username: &str) -> anyhow::Result<Value> {
    let list: Value = app
        .client()
        .get(app.url(&format!("/api/v1/users?q={username}")))
        .bearer_auth(admin)
        .send()
        .await?
        .json()
        .await?;
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|u| u["username"] == username))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no user {username}"))
}

#[tokio::test]
async fn a_burst_of_40_wrong_passwords_and_the_right_one_checks_at_most_the_threshold() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let admin = app.token("admin").await?;
    let threshold = app.state.config.lockout_policy().threshold;
    let checks_before = app.store.password_checks();
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..41 {
        let (client, url) = (app.client(), app.url("/api/v1/auth/token"));
        // The right password goes last, while the wrong ones are in flight.
        let password = if i == 40 {
            PASSWORD.to_owned()
        } else {
            format!("wrong-guess-{i}")
        };
        burst.spawn(async move {
            let res = client
                .post(url)
                .json(&json!({"username": "caiwu", "password": password}))
                .send()
                .await?;
            anyhow::Ok((i, res.status()))
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = burst.join_next().await {
        statuses.push(done??);
    }
    let checked = app.store.password_checks() - checks_before;
    let count = |s: StatusCode| statuses.iter().filter(|(_, x)| *x == s).count();
    eprintln!(
        "burst of 41 (40 wrong + right): {checked} passwords checked; 401 × {}, 423 × {}, 200 × {}",
        count(StatusCode::UNAUTHORIZED),
        count(StatusCode::LOCKED),
        count(StatusCode::OK)
    );
    assert!(
        checked <= u64::try_from(threshold)?,
        "{checked} passwords checked, the threshold is {threshold}"
    );
    assert!(count(StatusCode::UNAUTHORIZED) < usize::try_from(threshold)?);
    assert!(count(StatusCode::LOCKED) >= 41 - usize::try_from(threshold)?);
    assert_eq!(
        count(StatusCode::OK) + count(StatusCode::UNAUTHORIZED) + count(StatusCode::LOCKED),
        41
    );
    // The account ends locked, and refuses the right password unchecked.
    assert!(!user(&app, &admin, "caiwu").await?["locked_until"].is_null());
    let checks = app.store.password_checks();
    assert_eq!(token_status(&app, "caiwu", PASSWORD).await?, StatusCode::LOCKED);
    assert_eq!(app.store.password_checks(), checks, "a locked account checks nothing");
    // The lock was audited once.
    let audit: Value = app
        .client()
        .get(app.url("/api/v1/audit?entity=user&action=update&per_page=100"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    let locks = audit["items"]
        .as_array()
        .map(|rows| rows.iter().filter(|r| r.to_string().contains("failed_logins")).count())
        .unwrap_or_default();
    assert_eq!(locks, 1, "{audit}");
    // After the lock's time the right password works again.
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(token_status(&app, "caiwu", PASSWORD).await?, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn unknown_user_names_lock_out_like_known_ones() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let mut answers = Vec::new();
    for name in ["shi", "no-such-user"] {
        let mut seen = Vec::new();
        for _ in 0..7 {
            let before = app.store.password_checks();
            let status = token_status(&app, name, "wrong-password").await?;
            seen.push((status, app.store.password_checks() - before));
        }
        answers.push(seen);
    }
    // The same answers, and the same work (one Argon2 check per attempt up
    // to the threshold, none after): nothing tells the names apart.
    assert_eq!(answers[0], answers[1]);
    let statuses: Vec<StatusCode> = answers[0].iter().map(|(s, _)| *s).collect();
    assert_eq!(&statuses[..4], &[StatusCode::UNAUTHORIZED; 4]);
    assert_eq!(&statuses[4..], &[StatusCode::LOCKED; 3]);
    assert_eq!(
        answers[0].iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        vec![1, 1, 1, 1, 1, 0, 0]
    );
    // The sign-in page too.
    let c = app.client();
    let page = c.get(app.url("/login")).send().await?.text().await?;
    let csrf = hidden_field(&page, "csrf").unwrap_or_default();
    let res = c
        .post(app.url("/login"))
        .form(&[("username", "no-such-user"), ("password", "x"), ("csrf", &csrf)])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::LOCKED);
    // Both locks end after their time.
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        token_status(&app, "no-such-user", "wrong-password").await?,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(token_status(&app, "shi", PASSWORD).await?, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn a_password_change_or_reset_revokes_api_tokens_and_ends_sessions() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let write = app.token("lixia").await?;
    let read: Value = app
        .client()
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"username": "lixia", "password": PASSWORD, "access": "read"}))
        .send()
        .await?
        .json()
        .await?;
    let read = read["token"].as_str().unwrap_or_default().to_owned();
    let (browser, _) = app.sign_in("lixia").await?;
    let me = |token: String| {
        let c = app.client();
        let url = app.url("/api/v1/me");
        async move { anyhow::Ok(c.get(url).bearer_auth(token).send().await?.status()) }
    };
    assert_eq!(me(read.clone()).await?, StatusCode::OK);
    let res = app
        .client()
        .post(app.url("/api/v1/me/password"))
        .bearer_auth(&write)
        .json(&json!({"current_password": PASSWORD, "new_password": "Autumn-leaves-7"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Every token of the account is dead at once, the session too.
    assert_eq!(me(write.clone()).await?, StatusCode::UNAUTHORIZED);
    assert_eq!(me(read.clone()).await?, StatusCode::UNAUTHORIZED);
    let dash = browser.get(app.url("/dashboard")).send().await?;
    assert!(dash.status().is_redirection(), "{}", dash.status());
    let admin = app.token("admin").await?;
    let audit: Value = app
        .client()
        .get(app.url("/api/v1/audit?entity=user&action=update&actor=lixia"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    assert!(audit.to_string().contains("tokens_revoked"), "{audit}");

    // An administrator's reset: the rules apply, then tokens and sessions end.
    let caiwu = app.token("caiwu").await?;
    let id = user(&app, &admin, "caiwu").await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let reset = |password: &'static str| {
        let c = app.client();
        let url = app.url(&format!("/api/v1/users/{id}/password"));
        let admin = admin.clone();
        async move {
            anyhow::Ok(
                c.post(url)
                    .bearer_auth(admin)
                    .json(&json!({"password": password}))
                    .send()
                    .await?
                    .status(),
            )
        }
    };
    assert_eq!(reset("qwerty12").await?, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        me(caiwu.clone()).await?,
        StatusCode::OK,
        "a refused reset changes nothing"
    );
    // Not an administrator: 403.
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/users/{id}/password")))
        .bearer_auth(&caiwu)
        .json(&json!({"password": "Winter-sky-42"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(reset("Winter-sky-42").await?, StatusCode::OK);
    assert_eq!(me(caiwu).await?, StatusCode::UNAUTHORIZED);
    assert_eq!(token_status(&app, "caiwu", PASSWORD).await?, StatusCode::UNAUTHORIZED);
    assert_eq!(token_status(&app, "caiwu", "Winter-sky-42").await?, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn common_passwords_are_refused_where_a_person_sets_one() -> anyhow::Result<()> {
    // The demo accounts were seeded with `boai-demo` and sign in with it.
    let app = TestApp::demo().await?;
    let admin = app.token("admin").await?;
    let lixia = app.token("lixia").await?;
    for common in [
        "Password1",
        "qwerty12",
        "boai-demo",
        "P@ssw0rd",
        "woaini1314",
        "Sunshine2025!",
    ] {
        let res = app
            .client()
            .post(app.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&json!({"username": "wangwu", "display_name": "王五", "role": "finance",
                          "org_id": boai_store::demo::org_id("JN").to_string(), "password": common}))
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{common}");
        assert!(res.text().await?.contains("常见"), "{common}");
        let res = app
            .client()
            .post(app.url("/api/v1/me/password"))
            .bearer_auth(&lixia)
            .json(&json!({"current_password": PASSWORD, "new_password": common}))
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{common}");
    }
    assert_eq!(
        token_status(&app, "wangwu", "Password1").await?,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(token_status(&app, "lixia", PASSWORD).await?, StatusCode::OK);
    Ok(())
}
