//! The public side of the ledger over HTTP: "find my gift" by certificate
//! number and name, phone tail or (anonymous) amount, with a neutral error
//! and nothing leaked on a wrong detail, a rate limit; the inclusion proof on
//! the page checked again here with the ledger crate; the commitment opened;
//! where the money went; the portal's totals all ✓ in the demo; the how-to
//! page and the browser script.

use base64::Engine;
use boai_ledger::tree::{check_inclusion, leaf_hash, Hash};
use boai_ledger::{LedgerEntry, VerifierKey};
use boai_testkit::TestApp;
use boai_web::WebConfig;
use reqwest::StatusCode;
use serde_json::{json, Value};

const NOT_FOUND: &str = "未找到匹配的捐赠记录";

/// Records a gift through the API; returns its JSON.
async fn record_gift(app: &TestApp, donor: Value, amount_fen: i64) -> anyhow::Result<Value> {
    let token = app.token("caiwu").await?;
    let project = app.project_id(&token, "CATARACT").await?;
    let res = app
        .client()
        .post(app.url("/api/v1/donations"))
        .bearer_auth(&token)
        .json(&json!({"project_id": project, "amount_fen": amount_fen, "channel": "bank_transfer", "donor": donor}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == StatusCode::CREATED, "gift: {}", res.status());
    Ok(res.json().await?)
}

async fn find(app: &TestApp, fields: &[(&str, &str)]) -> anyhow::Result<(StatusCode, String)> {
    let res = app
        .client()
        .post(app.url("/transparency/find"))
        .form(fields)
        .send()
        .await?;
    Ok((res.status(), res.text().await?))
}

/// Undoes askama's HTML escaping.
fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#10;", "\n")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The value of the `data-<name>` attribute on the page.
fn data(html: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("data-{name}=\"");
    let start = html.find(&marker).ok_or_else(|| anyhow::anyhow!("no data-{name}"))? + marker.len();
    let end = html[start..]
        .find('"')
        .ok_or_else(|| anyhow::anyhow!("unterminated data-{name}"))?
        + start;
    Ok(unescape(&html[start..end]))
}

fn hash(b64: &str) -> anyhow::Result<Hash> {
    Ok(Hash::from_slice(
        &base64::engine::general_purpose::STANDARD.decode(b64)?,
    )?)
}

#[tokio::test]
async fn a_donor_finds_their_gift_by_name_or_phone_tail_and_the_proof_checks() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let gift = record_gift(
        &app,
        json!({"kind": "person", "name": "张三", "phone": "13800138000"}),
        123_456,
    )
    .await?;
    let cert = gift["certificate_no"].as_str().unwrap().to_owned();
    let index = gift["ledger_index"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no ledger_index"))?;

    // By name.
    let (status, page) = find(&app, &[("cert", &cert), ("name", "张三")]).await?;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(NOT_FOUND), "found by name");
    assert!(page.contains(&format!("<strong class=\"ledger-index\">{index}</strong>")));
    assert!(page.contains("¥1,234.56") && page.contains("银行转账") && page.contains("已确认"));
    assert!(page.contains("/static/ledger-proof.js"), "the browser check is loaded");
    assert!(!page.contains("13800138000"), "the phone never appears");

    // The entry JSON and the proof on the page check with the ledger crate.
    let entry = data(&page, "entry")?;
    let shown = page
        .split("id=\"entry-json\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .map(unescape);
    assert_eq!(shown.as_deref(), Some(entry.as_str()), "the entry JSON is shown as is");
    let parsed = LedgerEntry::from_canonical(entry.as_bytes())?;
    assert_eq!(parsed.kind, "gift");
    assert_eq!(parsed.amount_fen, 123_456);
    assert_eq!(data(&page, "index")?, index.to_string());
    let size: u64 = data(&page, "size")?.parse()?;
    let root = hash(&data(&page, "root")?)?;
    let path: Vec<Hash> = data(&page, "path")?
        .split_whitespace()
        .map(hash)
        .collect::<anyhow::Result<_>>()?;
    let leaf = leaf_hash(entry.as_bytes());
    assert_eq!(leaf, hash(&data(&page, "leaf")?)?);
    check_inclusion(&path, size, root, index, leaf)?;
    // The root is the one the society signed.
    let key_text = app.client().get(app.url("/ledger/key")).send().await?.text().await?;
    let key = VerifierKey::parse(key_text.trim())?;
    let checkpoint = key.open(data(&page, "checkpoint")?.as_bytes())?;
    assert_eq!((checkpoint.size, checkpoint.root), (size, root));
    // The commitment opens with the certificate number, the name and the salt.
    let salt = data(&page, "salt")?;
    assert_eq!(salt.len(), 32);
    assert_eq!(data(&page, "name")?, "张三");
    assert_eq!(
        parsed.commitment.as_deref(),
        Some(boai_ledger::commitment(&cert, "张三", &salt).as_str())
    );
    assert!(page.contains("✓ 与账本条目一致"));
    // Where the money went: a gift just made is not spent yet.
    assert!(
        page.contains("资金去向") && page.contains("尚在「"),
        "remaining money shown"
    );

    // The same trace as JSON, for anyone.
    let traced: Value = app
        .client()
        .get(app.url(&format!("/api/v1/ledger/trace/{index}")))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(traced["gift"]["index"], index);
    assert_eq!(traced["asset"], "money");
    let total: i64 = traced["flows"]
        .as_array()
        .map(|f| f.iter().filter_map(|x| x["amount_fen"].as_i64()).sum())
        .unwrap_or_default();
    assert_eq!(total, 123_456, "every fen of the gift is accounted for");
    let openapi = app
        .client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await?
        .text()
        .await?;
    assert!(openapi.contains("/api/v1/ledger/trace/{index}"));

    // By the last 4 digits of the phone, as a GET with query parameters.
    let res = app
        .client()
        .get(app.url(&format!("/transparency/find?cert={cert}&phone4=8000")))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let page = res.text().await?;
    assert!(!page.contains(NOT_FOUND) && page.contains("class=\"ledger-index\""));
    // Lower case certificate numbers are accepted.
    let (_, page) = find(&app, &[("cert", &cert.to_lowercase()), ("phone4", "8000")]).await?;
    assert!(!page.contains(NOT_FOUND));
    Ok(())
}

#[tokio::test]
async fn wrong_details_get_one_neutral_answer_and_nothing_else() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let gift = record_gift(
        &app,
        json!({"kind": "person", "name": "李四", "phone": "13900139000"}),
        88_800,
    )
    .await?;
    let cert = gift["certificate_no"].as_str().unwrap().to_owned();
    for fields in [
        vec![("cert", cert.as_str()), ("name", "张三")],
        vec![("cert", cert.as_str()), ("phone4", "1234")],
        vec![("cert", cert.as_str()), ("phone4", "139")],
        vec![("cert", cert.as_str())],
        vec![("cert", cert.as_str()), ("amount", "888")],
        vec![("cert", "JN-2026-9999999"), ("name", "李四")],
    ] {
        let (status, page) = find(&app, &fields).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(NOT_FOUND), "{fields:?}");
        assert!(page.contains("aria-invalid=\"true\""), "the error is on the field");
        for secret in [
            "¥888.00",
            "李四",
            "ledger-index",
            "data-salt",
            "data-entry",
            "资金去向",
            "13900139000",
        ] {
            let typed = fields.iter().any(|(_, v)| *v == secret);
            assert!(typed || !page.contains(secret), "{fields:?} leaked {secret}");
        }
    }
    // The form alone is no look-up.
    let page = app
        .client()
        .get(app.url("/transparency/find"))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("name=\"cert\"") && !page.contains(NOT_FOUND));
    Ok(())
}

#[tokio::test]
async fn an_anonymous_gift_is_found_by_its_amount() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let gift = record_gift(&app, json!(null), 50_000).await?;
    let cert = gift["certificate_no"].as_str().unwrap().to_owned();
    let (_, page) = find(&app, &[("cert", &cert), ("name", "匿名")]).await?;
    assert!(page.contains(NOT_FOUND), "a name does not open an anonymous gift");
    let (_, page) = find(&app, &[("cert", &cert), ("amount", "499.99")]).await?;
    assert!(page.contains(NOT_FOUND));
    let (_, page) = find(&app, &[("cert", &cert), ("amount", "500")]).await?;
    assert!(!page.contains(NOT_FOUND) && page.contains("class=\"ledger-index\""));
    let entry = LedgerEntry::from_canonical(data(&page, "entry")?.as_bytes())?;
    assert_eq!(entry.donor.as_deref(), Some("匿名"));
    let salt = data(&page, "salt")?;
    assert_eq!(data(&page, "name")?, "");
    assert_eq!(
        entry.commitment.as_deref(),
        Some(boai_ledger::commitment(&cert, "", &salt).as_str())
    );
    Ok(())
}

#[tokio::test]
async fn look_ups_are_rate_limited_per_client() -> anyhow::Result<()> {
    let app = TestApp::with_config(WebConfig {
        login_rate_per_minute: 3,
        ..WebConfig::default()
    })
    .await?;
    for _ in 0..3 {
        let (status, page) = find(&app, &[("cert", "JN-2026-0000001"), ("name", "猜")]).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(NOT_FOUND));
    }
    let res = app
        .client()
        .post(app.url("/transparency/find"))
        .form(&[("cert", "JN-2026-0000001"), ("name", "猜")])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    // The bare form and the portal are not look-ups.
    let res = app.client().get(app.url("/transparency/find")).send().await?;
    assert_eq!(res.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn the_portal_reconciles_every_project_with_the_ledger() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let res = app.client().get(app.url("/transparency")).send().await?;
    assert_eq!(res.status(), StatusCode::OK, "public, no redirect");
    let page = res.text().await?;
    let totals: Value = app
        .client()
        .get(app.url("/transparency/totals.json"))
        .send()
        .await?
        .json()
        .await?;
    let projects = totals["projects"].as_array().cloned().unwrap_or_default();
    assert!(projects.len() >= 10);
    for p in &projects {
        let name = p["name"].as_str().unwrap();
        assert!(page.contains(name), "{name} on the portal");
    }
    let ticks = page
        .matches("<span class=\"ok\" title=\"与账本合计一致\">✓</span>")
        .count();
    assert_eq!(ticks, projects.len(), "one ✓ per project");
    assert!(!page.contains('✗'), "no ✗ in the demo");
    assert!(page.contains("各项目公布数与账本合计全部一致"));
    // The monthly chart with its table, goods, the checkpoint and the links.
    assert!(page.contains("<svg") && page.contains("近 12 个月每月收支"));
    assert!(page.contains("物资收发"));
    for link in [
        "/ledger/checkpoint",
        "/ledger/key",
        "/transparency/totals.json",
        "/transparency/disclosures",
        "/transparency/verify",
        "/transparency/find",
    ] {
        assert!(page.contains(&format!("href=\"{link}\"")), "{link}");
    }
    let size = app.store.ledger_checkpoint().await?.map(|c| c.size).unwrap_or_default();
    assert!(
        size > 0 && page.contains(&format!("<dd>{size}</dd>")),
        "the checkpoint's size"
    );
    // Every fen of every demo gift is attributed exactly once, and some of
    // the general fund's gifts are followed through an allocation.
    let entries = app.store.ledger_entries_parsed(app.store.ledger_size().await?).await?;
    let mut followed = 0;
    for (i, e) in entries.iter().enumerate() {
        if e.kind != "gift" && e.kind != "goods_in" {
            continue;
        }
        let t = boai_ledger::trace::trace_gift(&entries, i as u64)?;
        assert_eq!(
            t.spent_fen() + t.refunded_fen() + t.remaining_fen(),
            e.amount_fen,
            "entry {i}"
        );
        followed += t.flows.iter().filter(|f| !f.moves.is_empty()).count();
    }
    assert!(followed > 0, "some money is followed through an allocation");
    // English through the i18n table.
    let en = app
        .client()
        .get(app.url("/transparency"))
        .header("cookie", "boai_lang=en")
        .send()
        .await?
        .text()
        .await?;
    assert!(en.contains("Every project&#39;s figures equal") || en.contains("Every project's figures equal"));
    // The navigation (shown to signed-in staff) points here.
    let (staff, _) = app.sign_in("lixia").await?;
    let page = staff.get(app.url("/transparency")).send().await?.text().await?;
    assert!(page.contains("<a href=\"/transparency\" class=\"active\">"));
    Ok(())
}

#[tokio::test]
async fn the_how_to_page_and_the_browser_script_are_public() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let page = app
        .client()
        .get(app.url("/transparency/verify"))
        .send()
        .await?
        .text()
        .await?;
    for needle in [
        "SHA-256(0x00 ‖",
        "SHA-256(0x01 ‖",
        "x001/x234/067",
        "boai verify --url",
        "run-ledgercheck.sh",
        "golang.org/x/mod/sumdb/note",
        "tlog.CheckRecord",
        "boai-commitment-v1",
    ] {
        assert!(page.contains(needle), "{needle}");
    }
    let res = app.client().get(app.url("/static/ledger-proof.js")).send().await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/javascript")));
    let js = res.text().await?;
    assert!(js.contains("crypto.subtle.digest") && js.contains("已验证"));
    // The CSP still forbids inline scripts on the pages that load it.
    let res = app.client().get(app.url("/transparency/find")).send().await?;
    let csp = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert!(!res.text().await?.contains("<script>"));
    Ok(())
}
