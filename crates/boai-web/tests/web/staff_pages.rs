//! The staff side as a person meets it (issue 22): errors are the app's own
//! page inside the layout, in Chinese or English; the navigation offers only
//! what the role may open; the start page lists what waits, with counts.

use boai_testkit::TestApp;

const HTML: &str = "text/html,application/xhtml+xml";

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> anyhow::Result<(u16, String, String)> {
    let res = client.get(app.url(path)).header("accept", HTML).send().await?;
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((status, content_type, res.text().await?))
}

#[tokio::test]
async fn errors_are_our_page_with_the_signed_in_layout() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let (client, _) = app.sign_in("caiwu").await?;
    for (path, status) in [
        ("/fundraising?project_id=not-a-uuid", 400),
        ("/orgs/list?page=two", 400),
        ("/orgs/not-an-id", 404),
        ("/no/such/page", 404),
        ("/users", 403),
    ] {
        let (got, content_type, body) = page(&client, &app, path).await?;
        assert_eq!(got, status, "{path}");
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        assert!(
            body.contains("caiwu") || body.contains("财务"),
            "{path}: no signed-in header"
        );
        assert!(body.contains("aria-label=\"modules\""), "{path}: no navigation");
        assert!(!body.contains(">登录<"), "{path}: shows 登录 as if signed out");
        assert!(
            !body.contains("Failed to deserialize"),
            "{path}: serde's text reached the page"
        );
    }
    let (_, _, forbidden) = page(&client, &app, "/users").await?;
    assert!(forbidden.contains("无权访问"), "{forbidden}");

    // The same in English after switching.
    let res = client.get(app.url("/lang/en?next=/dashboard")).send().await?;
    assert_eq!(res.status(), 303);
    let (got, _, body) = page(&client, &app, "/fundraising?from=yesterday").await?;
    assert_eq!(got, 400);
    assert!(body.contains("Bad request"), "{body}");
    assert!(!body.contains("请求有误"), "Chinese title on an English page");

    // A browser that is not signed in gets the page too, not text.
    let anonymous = app.client();
    let (got, content_type, body) = page(&anonymous, &app, "/no/such/page").await?;
    assert_eq!(got, 404);
    assert!(content_type.starts_with("text/html"));
    assert!(body.contains("页面不存在"));
    // Machines keep their answers: the API's problem+json.
    let res = anonymous
        .get(app.url("/api/v1/orgs/x"))
        .header("accept", HTML)
        .send()
        .await?;
    assert!(res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("problem+json")));
    Ok(())
}

/// The module links of a page's navigation.
fn nav_links(body: &str) -> Vec<String> {
    let start = body.find("aria-label=\"modules\"").unwrap_or(0);
    let end = body[start..].find("</nav>").map_or(body.len(), |e| start + e);
    body[start..end]
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn navigation_offers_only_what_the_role_may_open() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    for (user, absent, present) in [
        (
            "admin",
            &["/fundraising", "/funds", "/relief"][..],
            &["/orgs", "/transparency"][..],
        ),
        ("jiceng", &["/funds"][..], &["/fundraising", "/relief"][..]),
        ("caiwu", &[][..], &["/fundraising", "/funds", "/relief"][..]),
    ] {
        let (client, _) = app.sign_in(user).await?;
        let (_, _, body) = page(&client, &app, "/dashboard").await?;
        let links = nav_links(&body);
        for href in absent {
            assert!(!links.iter().any(|l| l == href), "{user} is offered {href}: {links:?}");
        }
        for href in present {
            assert!(links.iter().any(|l| l == href), "{user} lacks {href}: {links:?}");
        }
        // Every module link it is offered opens.
        for href in links {
            let (status, _, _) = page(&client, &app, &href).await?;
            assert_eq!(status, 200, "{user}: {href}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_start_page_lists_what_waits_with_counts() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let (client, _) = app.sign_in("caiwu").await?;
    let (_, _, body) = page(&client, &app, "/dashboard").await?;
    assert!(body.contains("待办事项"), "{body}");
    let unreconciled = app
        .count("SELECT COUNT(*) FROM bank_statement_lines WHERE status IN ('unmatched', 'proposed')")
        .await?;
    if unreconciled > 0 {
        assert!(
            body.contains(&format!("<span class=\"count\">{unreconciled}</span> 待对账的银行流水")),
            "caiwu's start page lacks the {unreconciled} bank lines: {body}"
        );
    }
    let approved = app
        .count("SELECT COUNT(*) FROM relief_cases WHERE status = 'approved'")
        .await?;
    assert!(approved > 0, "the demo city has approved relief waiting for payment");
    assert!(
        body.contains(&format!("<span class=\"count\">{approved}</span> 已批准待拨付的救助款")),
        "caiwu's start page lacks the {approved} payable cases"
    );
    // The administrator has no money work: none of finance's items.
    let (admin, _) = app.sign_in("admin").await?;
    let (_, _, body) = page(&admin, &app, "/dashboard").await?;
    assert!(!body.contains("待拨付"));
    assert!(!body.contains("待对账"));
    Ok(())
}

#[tokio::test]
async fn money_actions_confirm_first_and_record_why() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let (client, csrf) = app.sign_in("caiwu").await?;

    // A refund: bad input changes nothing; the first post only shows what will happen.
    let gifts = app.get_json(&token, "/api/v1/donations?per_page=1").await?;
    let gift = gifts["items"][0]["id"].as_str().unwrap().to_owned();
    let refunded = || async {
        app.get_json(&token, &format!("/api/v1/donations/{gift}"))
            .await
            .map(|g| g["refunded_fen"].clone())
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let url = app.url(&format!("/fundraising/gifts/{gift}/refunds"));
        let client = client.clone();
        async move { client.post(url).header("accept", HTML).form(&fields).send().await }
    };
    let res = post(vec![
        ("csrf", csrf.clone()),
        ("amount_yuan", "1".into()),
        ("reason", " ".into()),
    ])
    .await?;
    assert!(res.text().await?.contains("请填写退款原因"));
    let res = post(vec![
        ("csrf", csrf.clone()),
        ("amount_yuan", "1".into()),
        ("reason", "捐赠人要求".into()),
    ])
    .await?;
    assert_eq!(res.status(), 200);
    let body = res.text().await?;
    assert!(body.contains("确认退款 ¥1.00"), "{body}");
    assert!(body.contains("name=\"confirmed\" value=\"1\""));
    assert_eq!(refunded().await?, 0, "the unconfirmed post refunded");
    let res = post(vec![
        ("csrf", csrf.clone()),
        ("amount_yuan", "1".into()),
        ("reason", "捐赠人要求".into()),
        ("confirmed", "1".into()),
    ])
    .await?;
    assert_eq!(res.status(), 303);
    assert_eq!(refunded().await?, 100);
    let why = app
        .count("SELECT COUNT(*) FROM journal_entries WHERE memo = '捐赠人要求' AND created_by = 'caiwu'")
        .await?;
    assert_eq!(why, 1, "the reversing entry records who and why");

    // A relief payment likewise (some programmes' funds are spent: those
    // cases answer a reason and stay approved).
    let cases = app
        .get_json(&token, "/api/v1/relief/cases?status=approved&per_page=50")
        .await?;
    let mut paid = 0;
    for case in cases["items"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let status = || async {
            app.get_json(&token, &format!("/api/v1/relief/cases/{id}"))
                .await
                .map(|c| c["status"].clone())
        };
        let url = app.url(&format!("/relief/cases/{id}/pay"));
        let res = client
            .post(&url)
            .header("accept", HTML)
            .form(&[("csrf", &csrf)])
            .send()
            .await?;
        assert_eq!(res.status(), 200);
        assert!(res.text().await?.contains("确认拨付"));
        assert_eq!(status().await?, "approved", "the unconfirmed post paid");
        let res = client
            .post(&url)
            .header("accept", HTML)
            .form(&[("csrf", csrf.as_str()), ("confirmed", "1")])
            .send()
            .await?;
        if res.status() == 303 {
            assert_eq!(status().await?, "paid");
            paid += 1;
            break;
        }
        assert_eq!(res.status(), 422);
        assert!(res.text().await?.contains("余额不足"));
        assert_eq!(status().await?, "approved");
    }
    assert_eq!(paid, 1, "no approved case could be paid");

    // The review form has no decision chosen for the reviewer.
    let (lixia, _) = app.sign_in("lixia").await?;
    let pending = app
        .get_json(
            &app.token("lixia").await?,
            "/api/v1/relief/cases?status=pending&per_page=1",
        )
        .await?;
    if let Some(id) = pending["items"][0]["id"].as_str() {
        let (_, _, body) = page(&lixia, &app, &format!("/relief/cases/{id}")).await?;
        if body.contains("name=\"decision\"") {
            assert!(body.contains("<option value=\"\" selected disabled>请选择</option>"));
        }
    }
    Ok(())
}
