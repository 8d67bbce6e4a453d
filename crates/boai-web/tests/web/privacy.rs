//! Personal information (PIPL) over HTTP: the export of what is held about a
//! person (by ID number or phone; JSON and .xlsx; audited; never another
//! person's data; scoped to a district's subtree), anonymisation (refused
//! whole under a retention duty, otherwise names and numbers gone while the
//! gifts, the trial balance and the ledger stay exactly as they were), and the
//! separate consent to health information in relief applications.

use base64::Engine;
use boai_domain::accounts::Role;
use boai_domain::validation::identity::id_card_check_char;
use boai_store::demo::org_id;
use boai_testkit::{hidden_field, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR demo";

/// A valid ID number of someone born on 1970-03-12, `n` making it unique.
fn id_card(n: u32) -> String {
    let body = format!("37010219700312{:03}", n % 1000);
    format!("{body}{}", id_card_check_char(&body).unwrap_or('0'))
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?)
}

async fn programme(app: &TestApp, token: &str, name: &str) -> anyhow::Result<Value> {
    let list = app.get_json(token, "/api/v1/relief/programmes").await?;
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|p| p["name"] == name))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no programme {name}"))
}

/// A staff application for a 52-year-old in 历下区 (尿毒症救助 accepts them).
fn application(programme: &Value, name: &str, id: &str, phone: &str, consent: Option<bool>) -> Value {
    let docs: Vec<Value> = programme["documents"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|_| json!({"name": "doc.png", "content_base64": base64::engine::general_purpose::STANDARD.encode(PNG)}))
                .collect()
        })
        .unwrap_or_default();
    let mut body = json!({
        "programme_id": programme["id"], "unit_id": org_id("JN-LX-001").to_string(),
        "applicant_name": name, "id_card": id, "phone": phone, "district": "历下区",
        "household_size": 3, "household_income_fen": 240_000, "hardship": "低保",
        "diagnosis": "尿毒症", "hospital": "山东省立医院", "bank_name": "工商银行",
        "bank_account": "6222020200112233445", "amount_fen": 1_000_000, "documents": docs,
    });
    if let Some(c) = consent {
        body["health_consent"] = json!(c);
    }
    body
}

async fn ledger_checkpoint_head(app: &TestApp) -> anyhow::Result<String> {
    let text = app
        .client()
        .get(app.url("/ledger/checkpoint"))
        .send()
        .await?
        .text()
        .await?;
    // Origin, size and root hash: the first three lines.
    Ok(text.lines().take(3).collect::<Vec<_>>().join("\n"))
}

/// Born 1970-03-12; the test's people.
struct Person {
    name: &'static str,
    id: String,
    phone: &'static str,
}

#[tokio::test]
async fn export_and_anonymise_a_person_keeping_the_books() -> anyhow::Result<()> {
    let files_dir = tempfile::tempdir()?;
    let app = TestApp::with_config(boai_web::WebConfig {
        relief_files: Some(files_dir.path().to_path_buf()),
        ..boai_web::WebConfig::default()
    })
    .await?;
    let shi = app.token("shi").await?;
    let caiwu = app.token("caiwu").await?;
    let a = Person {
        name: "隐私甲",
        id: id_card(901),
        phone: "13911112222",
    };
    let b = Person {
        name: "隐私乙",
        id: id_card(902),
        phone: "13933334444",
    };

    // Person A: a donor with two gifts, a member (in 市中区) with dues paid.
    let project = app.project_id(&caiwu, "CATARACT").await?;
    let mut gifts = Vec::new();
    for amount in [12_300, 45_600] {
        let res = post(
            &app,
            &caiwu,
            "/api/v1/donations",
            &json!({"project_id": project, "amount_fen": amount, "channel": "bank_transfer",
                    "donor": {"kind": "person", "name": a.name, "phone": a.phone, "id_card_no": a.id}}),
        )
        .await?;
        assert_eq!(res.status(), StatusCode::CREATED);
        gifts.push(res.json::<Value>().await?);
    }
    let res = post(
        &app,
        &shi,
        "/api/v1/members",
        &json!({"unit_id": org_id("JN-SZ-001").to_string(), "name": a.name, "type_code": "ordinary",
                "id_card_no": a.id, "phone": a.phone}),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let member: Value = res.json().await?;
    let member_id = member["id"].as_str().unwrap().to_owned();
    // Person B: a donor too, and a relief case still being reviewed.
    let res = post(
        &app,
        &caiwu,
        "/api/v1/donations",
        &json!({"project_id": project, "amount_fen": 7_700, "channel": "cash",
                "donor": {"kind": "person", "name": b.name, "phone": b.phone, "id_card_no": b.id}}),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let uremia = programme(&app, &shi, "尿毒症救助").await?;

    // The separate consent: without it the filing is refused with a field error, nothing filed.
    let cases_before = app.count("SELECT COUNT(*) FROM relief_cases").await?;
    let res = post(
        &app,
        &shi,
        "/api/v1/relief/cases",
        &application(&uremia, b.name, &b.id, b.phone, None),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p: Value = res.json().await?;
    let msg = p["errors"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["field"] == "health_consent"))
        .and_then(|e| e["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(msg.contains("单独勾选同意"), "{p}");
    assert_eq!(app.count("SELECT COUNT(*) FROM relief_cases").await?, cases_before);
    assert_eq!(app.count("SELECT COUNT(*) FROM consents").await?, 0);
    let res = post(
        &app,
        &shi,
        "/api/v1/relief/cases",
        &application(&uremia, b.name, &b.id, b.phone, Some(true)),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await?);
    let filed: Value = res.json().await?;
    let case_id = filed["case"]["id"]
        .as_str()
        .or_else(|| filed["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(app.count("SELECT COUNT(*) FROM consents").await?, 1);
    // The case page shows the consent (version and time).
    let (browser, _) = app.sign_in("shi").await?;
    let page = browser
        .get(app.url(&format!("/relief/cases/{case_id}")))
        .send()
        .await?
        .text()
        .await?;
    let consent = page.split("id=\"case-consent\">").nth(1).unwrap_or_default();
    assert!(consent.starts_with("已同意 (版本 health-2026-11"), "{consent:.200}");

    // Who may: finance may not (403 before the body), no token 401, bad input 422.
    let body = json!({"id_card_no": a.id, "requested_by": "本人 (窗口)"});
    assert_eq!(
        post(&app, &caiwu, "/api/v1/privacy/exports", &body).await?.status(),
        StatusCode::FORBIDDEN
    );
    let res = app
        .client()
        .post(app.url("/api/v1/privacy/exports"))
        .json(&body)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = post(
        &app,
        &shi,
        "/api/v1/privacy/exports",
        &json!({"id_card_no": "370102197003129999", "requested_by": ""}),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p: Value = res.json().await?;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, vec!["id_card_no", "requested_by"], "{p}");

    // The city's export of A: donor (decrypted), both gifts, the member; nothing of B.
    let audit_before = app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'access'")
        .await?;
    let res = post(&app, &shi, "/api/v1/privacy/exports", &body).await?;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await?;
    let export: Value = serde_json::from_str(&text)?;
    assert_eq!(export["donors"].as_array().map(Vec::len), Some(1));
    assert_eq!(export["donors"][0]["id_card_no"], a.id.as_str());
    assert_eq!(export["donors"][0]["phone"], a.phone);
    let amounts: Vec<i64> = export["donors"][0]["gifts"]
        .as_array()
        .map(|g| g.iter().filter_map(|g| g["amount_fen"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(amounts, vec![12_300, 45_600]);
    assert_eq!(export["members"].as_array().map(Vec::len), Some(1));
    assert_eq!(export["members"][0]["id_card_no"], a.id.as_str());
    assert_eq!(export["relief_cases"].as_array().map(Vec::len), Some(0));
    for other in [b.name, b.id.as_str(), b.phone] {
        assert!(!text.contains(other), "another person's data in the export: {other}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'access'")
            .await?,
        audit_before + 1,
        "the export is audited as a personal-data access"
    );
    let audit_rows = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE after LIKE '%{}%' OR after LIKE '%{}%'",
            a.id, a.phone
        ))
        .await?;
    assert_eq!(audit_rows, 0, "the audit trail holds the subject masked only");

    // By phone: B's donor record and relief case (decrypted phone compared), with the consent.
    let res = post(
        &app,
        &shi,
        "/api/v1/privacy/exports",
        &json!({"phone": "139 3333 4444", "requested_by": "本人"}),
    )
    .await?;
    let by_phone: Value = res.json().await?;
    assert_eq!(by_phone["donors"][0]["name"], b.name);
    assert_eq!(by_phone["relief_cases"][0]["id_card_no"], b.id.as_str());
    assert_eq!(by_phone["relief_cases"][0]["bank_account"], "6222020200112233445");
    assert_eq!(by_phone["relief_cases"][0]["consents"][0]["version"], "health-2026-11");
    assert_eq!(by_phone["members"].as_array().map(Vec::len), Some(0));

    // Scope: 历下区 staff do not see A's member record in 市中区 (the gifts were recorded by the city).
    app.add_user("lixia_privacy", Role::DistrictStaff, "JN-LX").await?;
    let lixia = app.token("lixia_privacy").await?;
    let scoped: Value = post(&app, &lixia, "/api/v1/privacy/exports", &body)
        .await?
        .json()
        .await?;
    assert_eq!(scoped["members"].as_array().map(Vec::len), Some(0), "{scoped}");
    assert_eq!(scoped["donors"].as_array().map(Vec::len), Some(0), "{scoped}");

    // The .xlsx on the staff page (POST: the number is never in an address).
    let (client, csrf) = app.sign_in("shi").await?;
    let page = client.get(app.url("/privacy")).send().await?;
    assert_eq!(page.status(), StatusCode::OK);
    let res = client
        .post(app.url("/privacy/export.xlsx"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("id_card_no", a.id.as_str()),
            ("requested_by", "本人"),
        ])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("spreadsheetml")));
    let bytes = res.bytes().await?;
    assert!(bytes.starts_with(b"PK"), "an xlsx (zip) file");

    // B: anonymisation refused as a whole (the case is open), recorded, nothing changed.
    let res = post(
        &app,
        &shi,
        "/api/v1/privacy/anonymisations",
        &json!({"id_card_no": b.id, "requested_by": "本人"}),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let p: Value = res.json().await?;
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("尚未办结")), "{p}");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM donors WHERE name = '{}'", b.name))
            .await?,
        1,
        "B's donor record is untouched"
    );
    let requests = app.get_json(&shi, "/api/v1/privacy/requests").await?;
    // (The test clock stands still: every request has the same time, so look it up.)
    let refused: Vec<&Value> = requests["items"]
        .as_array()
        .map(|items| items.iter().filter(|r| r["kind"] == "anonymise").collect())
        .unwrap_or_default();
    assert_eq!(refused.len(), 1, "{requests}");
    assert_eq!(refused[0]["outcome"], "refused");
    assert_eq!(refused[0]["subject_masked"], format!("370***********{}", &b.id[14..]));

    // A's member owes dues: refused too, until they are paid.
    let m = app.get_json(&shi, &format!("/api/v1/members/{member_id}")).await?;
    let years: Vec<i64> = m["arrears_years"]
        .as_array()
        .map(|y| y.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    if !years.is_empty() {
        let res = post(
            &app,
            &shi,
            "/api/v1/privacy/anonymisations",
            &json!({"id_card_no": a.id, "requested_by": "本人"}),
        )
        .await?;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let p: Value = res.json().await?;
        assert!(p["detail"].as_str().is_some_and(|d| d.contains("会费")), "{p}");
        let per_year = m["arrears_fen"].as_i64().unwrap() / years.len() as i64;
        for (i, y) in years.iter().enumerate() {
            let res = post(
                &app,
                &shi,
                &format!("/api/v1/members/{member_id}/payments"),
                &json!({"year": y, "amount_fen": per_year, "receipt_no": format!("PRIV-{i}")}),
            )
            .await?;
            assert_eq!(res.status(), StatusCode::CREATED);
        }
    }

    // A: anonymised. The books and the ledger are exactly as before.
    let trial_before = app.get_json(&caiwu, "/api/v1/funds/trial-balance").await?;
    let checkpoint_before = ledger_checkpoint_head(&app).await?;
    let entries_before = app.count("SELECT COUNT(*) FROM ledger_entries").await?;
    let journal_before = app.count("SELECT COUNT(*) FROM journal_entries").await?;
    let res = post(
        &app,
        &shi,
        "/api/v1/privacy/anonymisations",
        &json!({"id_card_no": a.id, "requested_by": "本人 (书面申请)"}),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await?);
    let done: Value = res.json().await?;
    assert_eq!(done["outcome"], "done");
    assert_eq!(done["detail"]["donors"], 1);
    assert_eq!(done["detail"]["members"], 1);
    assert_eq!(app.get_json(&caiwu, "/api/v1/funds/trial-balance").await?, trial_before);
    assert_eq!(ledger_checkpoint_head(&app).await?, checkpoint_before);
    assert_eq!(app.count("SELECT COUNT(*) FROM ledger_entries").await?, entries_before);
    assert_eq!(app.count("SELECT COUNT(*) FROM journal_entries").await?, journal_before);
    let report = app.store.ledger_check(None, None, &|_, _| {}).await?;
    assert!(
        report.holds(),
        "ledger check after anonymisation: {:?}",
        report.problems
    );
    for g in &gifts {
        let id = g["id"].as_str().unwrap();
        let now = app.get_json(&caiwu, &format!("/api/v1/donations/{id}")).await?;
        for field in ["amount_fen", "project_id", "ledger_index", "certificate_no", "status"] {
            assert_eq!(now[field], g[field], "{field} of gift {id}");
        }
    }
    // Names, phones and ID numbers are gone; nothing finds A any more.
    for col in ["phone_enc", "id_card_enc", "phone_hash", "id_card_hash"] {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM donors WHERE name = '已匿名化' AND {col} IS NOT NULL"
            ))
            .await?,
            0
        );
    }
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM donors WHERE name = '{}'", a.name))
            .await?,
        0
    );
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM members WHERE name = '{}'", a.name))
            .await?,
        0
    );
    let m = app.get_json(&shi, &format!("/api/v1/members/{member_id}")).await?;
    assert_eq!(m["name"], "已匿名化");
    assert_eq!(m["id_card_masked"], Value::Null);
    let again: Value = post(&app, &shi, "/api/v1/privacy/exports", &body).await?.json().await?;
    assert_eq!(again["donors"].as_array().map(Vec::len), Some(0));
    assert_eq!(again["members"].as_array().map(Vec::len), Some(0));
    // The request list shows who asked, what was done, by whom.
    let requests = app.get_json(&shi, "/api/v1/privacy/requests?per_page=100").await?;
    let done: Vec<&Value> = requests["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|r| r["kind"] == "anonymise" && r["outcome"] == "done")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(done.len(), 1, "{requests}");
    assert_eq!(done[0]["requested_by"], "本人 (书面申请)");
    assert_eq!(done[0]["handled_by"], "shi");
    let listed = client.get(app.url("/privacy")).send().await?.text().await?;
    assert!(listed.contains("本人 (书面申请)") && !listed.contains(&a.id));
    // A's gifts on the public find page: the commitment can no longer be opened to a name.
    let cert = gifts[0]["certificate_no"].as_str().unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM gifts WHERE certificate_no = '{cert}' AND commitment_salt IS NULL"
        ))
        .await?,
        1
    );

    // B: once the case is settled (rejected at the unit), B can be anonymised;
    // the scanned documents are erased from the file store as well.
    let jiceng = app.token("jiceng").await?;
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/relief/cases/{case_id}/reviews")))
        .bearer_auth(&jiceng)
        .json(&json!({"decision": "reject", "reason": "家庭收入超过标准"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await?);
    let case = app.get_json(&shi, &format!("/api/v1/relief/cases/{case_id}")).await?;
    let files: Vec<String> = case["attachments"]
        .as_array()
        .map(|a| a.iter().filter_map(|a| a["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    assert!(!files.is_empty(), "{case}");
    let file_url = format!("/relief/cases/{case_id}/files/{}", files[0]);
    assert_eq!(client.get(app.url(&file_url)).send().await?.status(), StatusCode::OK);
    let res = post(
        &app,
        &shi,
        "/api/v1/privacy/anonymisations",
        &json!({"phone": b.phone, "requested_by": "本人"}),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await?);
    let done: Value = res.json().await?;
    assert_eq!(done["detail"]["relief_cases"], 1);
    assert_eq!(
        done["detail"]["files_erased"], 1,
        "the same PNG for every document: one file"
    );
    assert_eq!(
        client.get(app.url(&file_url)).send().await?.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM relief_attachments WHERE case_id = '{case_id}' AND sha256 <> 'erased'"
        ))
        .await?,
        0
    );
    let stored: usize = std::fs::read_dir(files_dir.path())?
        .filter_map(Result::ok)
        .map(|sub| std::fs::read_dir(sub.path()).map(|d| d.count()).unwrap_or(1))
        .sum();
    assert_eq!(stored, 0, "no attachment bytes left in the file store");
    let report = app.store.ledger_check(None, None, &|_, _| {}).await?;
    assert!(report.holds(), "{:?}", report.problems);
    Ok(())
}

#[tokio::test]
async fn the_public_form_needs_the_separate_consent() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let shi = app.token("shi").await?;
    let uremia = programme(&app, &shi, "尿毒症救助").await?;
    let phone = app.client();
    let form = phone
        .get(app.url(&format!("/relief/apply?programme={}", uremia["id"].as_str().unwrap())))
        .send()
        .await?
        .text()
        .await?;
    assert!(form.contains("敏感个人信息单独同意") && form.contains("health-2026-11"));
    let csrf = hidden_field(&form, "csrf").ok_or_else(|| anyhow::anyhow!("no csrf"))?;
    let id = id_card(903);
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("programme_id", uremia["id"].as_str().unwrap()),
        ("applicant_name", "隐私丙"),
        ("id_card", id.as_str()),
        ("phone", "13955556666"),
        ("district", "历下区"),
        ("household_size", "3"),
        ("household_income", "2000"),
        ("hardship", "低保"),
        ("diagnosis", "尿毒症"),
        ("bank_name", "建设银行"),
        ("bank_account", "6217000012345678901"),
    ];
    let boundary = "----BoaiPrivacyBoundary";
    let build = |fields: &[(&str, &str)]| {
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let docs = uremia["documents"].as_array().map(Vec::len).unwrap_or_default();
        for i in 0..docs {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"doc_{i}\"; filename=\"d.png\"\r\n\
                     Content-Type: image/png\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(PNG);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    };
    let before = app.count("SELECT COUNT(*) FROM relief_cases").await?;
    let res = phone
        .post(app.url("/relief/apply"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(build(&fields))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await?;
    assert!(page.contains("id=\"health-consent-error\">填写诊断等健康信息须单独勾选同意处理敏感个人信息"));
    assert_eq!(app.count("SELECT COUNT(*) FROM relief_cases").await?, before);
    // The page answered with a fresh form token (and cookie).
    let csrf = hidden_field(&page, "csrf").ok_or_else(|| anyhow::anyhow!("no csrf"))?;
    fields[0] = ("csrf", csrf.as_str());
    fields.push(("health_consent", "health-2026-11"));
    let res = phone
        .post(app.url("/relief/apply"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(build(&fields))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.count("SELECT COUNT(*) FROM relief_cases").await?, before + 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consents WHERE channel = 'online' AND version = 'health-2026-11'")
            .await?,
        1
    );
    Ok(())
}
