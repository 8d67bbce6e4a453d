//! Disclosures (信息公开) over HTTP: publishing with a file through the API
//! and through the page form (multipart, CSRF), the public list and the
//! byte-identical download with its headers, bad input that changes nothing,
//! scope, the deadlines with the overdue demo projects, and the audit trail.

use base64::Engine;
use boai_testkit::api::multipart;
use boai_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// How many disclosures the public sees.
async fn public_total(app: &TestApp) -> anyhow::Result<u64> {
    let list: Value = app
        .client()
        .get(app.url("/api/v1/transparency/disclosures?per_page=1"))
        .send()
        .await?
        .json()
        .await?;
    list["total"].as_u64().ok_or_else(|| anyhow::anyhow!("no total"))
}

/// How many audit rows record a disclosure.
async fn disclosure_audit_rows(app: &TestApp) -> anyhow::Result<u64> {
    let token = app.token("supervisor").await?;
    let list: Value = app
        .client()
        .get(app.url("/api/v1/audit?entity=disclosure&per_page=1"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    list["total"].as_u64().ok_or_else(|| anyhow::anyhow!("no audit total"))
}

#[tokio::test]
async fn publish_with_a_file_through_the_api_and_download_it_unchanged() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("shi").await?;
    let c = app.client();
    let cataract = app.project_id(&token, "CATARACT").await?;
    let pdf = boai_store::demo::tiny_pdf(&["Cataract project", "Progress report Q2"]);
    let before = public_total(&app).await?;
    let audit_before = disclosure_audit_rows(&app).await?;
    let res = c
        .post(app.url("/api/v1/transparency/disclosures"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "report-q2")
        .json(&json!({
            "kind": "progress_report", "title": "白内障复明工程第二季度进展报告",
            "body": "本季度完成手术 120 例。\n资金使用明细见附件。",
            "project_id": cataract,
            "file": {"name": "白内障 Q2 报告.pdf", "content_base64": b64(&pdf)}
        }))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await?;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["kind"], "progress_report");
    assert_eq!(created["kind_label"], "项目进展报告");
    assert_eq!(created["project_name"], "白内障复明工程");
    assert_eq!(created["file"]["mime"], "application/pdf");
    assert_eq!(created["file"]["size"], pdf.len());
    assert_eq!(created["published_on"], app.store.china_today().to_string());
    // The same key and body: the first answer again, nothing new.
    let again = c
        .post(app.url("/api/v1/transparency/disclosures"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "report-q2")
        .json(&json!({
            "kind": "progress_report", "title": "白内障复明工程第二季度进展报告",
            "body": "本季度完成手术 120 例。\n资金使用明细见附件。",
            "project_id": cataract,
            "file": {"name": "白内障 Q2 报告.pdf", "content_base64": b64(&pdf)}
        }))
        .send()
        .await?;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(public_total(&app).await?, before + 1);
    assert_eq!(disclosure_audit_rows(&app).await?, audit_before + 1);

    // The public list (no sign-in) shows it first, filters by kind and project.
    let public = app.client();
    let list: Value = public
        .get(app.url(&format!(
            "/api/v1/transparency/disclosures?kind=progress_report&project_id={cataract}"
        )))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert!(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|d| d["kind"] == "progress_report" && d["project_id"] == cataract.as_str()));
    let url = created["file"]["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/transparency/disclosures/{id}/file"));
    let page = public
        .get(app.url("/transparency/disclosures?kind=progress_report"))
        .send()
        .await?;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await?;
    assert!(html.contains("白内障复明工程第二季度进展报告") && html.contains(&url));
    let detail = public
        .get(app.url(&format!("/transparency/disclosures/{id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(detail.contains("本季度完成手术 120 例。"));

    // The file comes back byte for byte, typed, named, not sniffable.
    let file = public.get(app.url(&url)).send().await?;
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["content-type"], "application/pdf");
    assert_eq!(file.headers()["x-content-type-options"], "nosniff");
    let disposition = file.headers()["content-disposition"].to_str()?.to_owned();
    assert!(disposition.starts_with("inline; filename=\""), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''%E7%99%BD%E5%86%85%E9%9A%9C%20Q2%20"),
        "{disposition}"
    );
    assert_eq!(file.bytes().await?.as_ref(), pdf.as_slice());

    // The audit row names the file by its hash, not its bytes.
    let supervisor = app.token("supervisor").await?;
    let audit: Value = app
        .get_json(&supervisor, &format!("/api/v1/audit?entity=disclosure&entity_id={id}"))
        .await?;
    assert_eq!(audit["total"], 1);
    let row = &audit["items"][0];
    assert_eq!(row["actor_name"], "shi");
    assert_eq!(row["action"], "create");
    assert_eq!(row["after"]["title"], "白内障复明工程第二季度进展报告");
    assert_eq!(row["after"]["file"]["sha256"].as_str().map(str::len), Some(64));
    Ok(())
}

#[tokio::test]
async fn publish_through_the_page_form_with_csrf() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let (c, csrf) = app.sign_in("lixia").await?;
    let token = app.token("lixia").await?;
    let lx = app.project_id(&token, "LX-CARE").await?;
    let form = c.get(app.url("/transparency/disclosures/new")).send().await?;
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await?;
    assert!(html.contains("multipart/form-data") && html.contains("name=\"csrf\""));
    assert!(html.contains(&lx), "her district's project is offered");
    assert!(!html.contains("白内障复明工程"), "city projects are not hers to report");
    let before = public_total(&app).await?;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let fields = |csrf: &str, title: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("kind".to_owned(), "progress_report".to_owned()),
            ("project_id".to_owned(), lx.clone()),
            ("title".to_owned(), title.to_owned()),
            ("published_on".to_owned(), String::new()),
            ("body".to_owned(), "本月入户走访 36 户。".to_owned()),
        ]
    };
    let send = |fields: Vec<(String, String)>, file: Option<(&'static str, Vec<u8>)>| {
        let c = c.clone();
        let url = app.url("/transparency/disclosures");
        async move {
            let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let (content_type, body) = multipart(&borrowed, file.as_ref().map(|(n, b)| (*n, b.as_slice())));
            c.post(url).header("content-type", content_type).body(body).send().await
        }
    };

    // Without the CSRF token: refused, nothing written.
    let res = send(fields("forged", "伪造"), Some(("photo.png", png.clone()))).await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(public_total(&app).await?, before);
    // Missing title and a file that is not what it says: the form again, errors in Chinese.
    let res = send(fields(&csrf, ""), Some(("photo.png", b"<html>".to_vec()))).await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await?;
    assert!(html.contains("请填写标题"), "{html}");
    assert!(html.contains("附件内容与文件类型不符"));
    assert!(html.contains("本月入户走访 36 户。"), "what was typed is kept");
    assert_eq!(public_total(&app).await?, before);

    // A good one, with a Chinese file name.
    let res = send(
        fields(&csrf, "历下区助老助残进展 (图片)"),
        Some(("走访照片.png", png.clone())),
    )
    .await?;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str()?.to_owned();
    assert!(location.starts_with("/transparency/disclosures/"));
    assert_eq!(public_total(&app).await?, before + 1);
    let detail = app.client().get(app.url(&location)).send().await?.text().await?;
    assert!(detail.contains("历下区助老助残进展 (图片)") && detail.contains("走访照片.png"));
    let file = app.client().get(app.url(&format!("{location}/file"))).send().await?;
    assert_eq!(file.headers()["content-type"], "image/png");
    assert_eq!(file.bytes().await?.as_ref(), png.as_slice());
    // A society-wide report needs no project and no file.
    let res = send(
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("kind".to_owned(), "work_report".to_owned()),
            ("title".to_owned(), "历下区红十字会半年工作报告".to_owned()),
            ("body".to_owned(), "上半年工作情况。".to_owned()),
        ],
        None,
    )
    .await?;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let list: Value = app
        .client()
        .get(app.url("/api/v1/transparency/disclosures?kind=work_report"))
        .send()
        .await?
        .json()
        .await?;
    let mine = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["title"] == "历下区红十字会半年工作报告")
        .cloned()
        .unwrap_or_default();
    assert_eq!(mine["org_name"], "历下区红十字会");
    assert!(mine["file"].is_null());
    Ok(())
}

#[tokio::test]
async fn bad_disclosures_are_refused_and_write_nothing() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("caiwu").await?;
    let c = app.client();
    let project = app.project_id(&token, "AED").await?;
    let pdf = b64(b"%PDF-1.4\n%%EOF\n");
    let mut too_big = b"%PDF-1.4\n".to_vec();
    too_big.resize(10 * 1024 * 1024 + 1, b' ');
    let before = public_total(&app).await?;
    let audit_before = disclosure_audit_rows(&app).await?;
    let cases = [
        (
            json!({"kind": "progress_report", "project_id": project, "body": "正文"}),
            "title",
        ),
        (
            json!({"kind": "progress_report", "project_id": project, "title": "  ", "body": "正文"}),
            "title",
        ),
        (
            json!({"kind": "finance_report", "title": "大文件", "file": {"name": "big.pdf", "content_base64": b64(&too_big)}}),
            "file",
        ),
        (
            json!({"kind": "progress_report", "project_id": uuid::Uuid::new_v4().to_string(), "title": "t", "body": "b"}),
            "project_id",
        ),
        (
            json!({"kind": "progress_report", "project_id": "AED", "title": "t", "body": "b"}),
            "project_id",
        ),
        (
            json!({"kind": "audit_report", "title": "t", "file": {"name": "report.html", "content_base64": b64(b"<script>alert(1)</script>")}}),
            "file",
        ),
        (
            json!({"kind": "audit_report", "title": "t", "file": {"name": "report.pdf", "content_base64": b64(b"<script>alert(1)</script>")}}),
            "file",
        ),
        (
            json!({"kind": "audit_report", "title": "t", "file": {"name": "report.pdf", "content_base64": "%%% not base64"}}),
            "file",
        ),
        (
            json!({"kind": "audit_report", "title": "t", "file": "report.pdf"}),
            "file",
        ),
        (json!({"kind": "press_release", "title": "t", "body": "b"}), "kind"),
        (
            json!({"kind": "progress_report", "title": "t", "body": "b"}),
            "project_id",
        ),
        (json!({"kind": "work_report", "title": "t"}), "body"),
        (
            json!({"kind": "work_report", "title": "t", "body": "b", "published_on": "2999-01-01"}),
            "published_on",
        ),
        (
            json!({"kind": "work_report", "title": "t", "body": "b", "published_on": "01/02/2026"}),
            "published_on",
        ),
    ];
    for (body, field) in cases {
        let res = c
            .post(app.url("/api/v1/transparency/disclosures"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?;
        let shown = body.to_string().chars().take(200).collect::<String>();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{shown}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await?;
        assert_eq!(problem["title"], "输入有误");
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(fields.contains(&field), "{shown}: {fields:?}");
    }
    // Malformed JSON and a body over the upload limit.
    let res = c
        .post(app.url("/api/v1/transparency/disclosures"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = c
        .post(app.url("/api/v1/transparency/disclosures"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"kind\": \"audit_report\", \"title\": \"t\", \"body\": \"{}\"}}",
            "x".repeat(17 * 1024 * 1024)
        ))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing was written; a good one still goes through.
    assert_eq!(public_total(&app).await?, before);
    assert_eq!(disclosure_audit_rows(&app).await?, audit_before);
    let ok = c
        .post(app.url("/api/v1/transparency/disclosures"))
        .bearer_auth(&token)
        .json(
            &json!({"kind": "audit_report", "title": "专项审计", "file": {"name": "audit.pdf", "content_base64": pdf}}),
        )
        .send()
        .await?;
    assert_eq!(ok.status(), StatusCode::CREATED);
    Ok(())
}

#[tokio::test]
async fn staff_publish_only_within_their_scope() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let shi = app.token("shi").await?;
    let c = app.client();
    // A project of another district (市中区).
    let szh = boai_store::demo::org_id("JN-SZ");
    let res = c
        .post(app.url("/api/v1/projects"))
        .bearer_auth(&shi)
        .json(&json!({"code": "SZ-AID", "name": "市中区助学", "status": "open", "org_id": szh.to_string()}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let other_district: Value = res.json().await?;
    let other_district = other_district["id"].as_str().unwrap().to_owned();
    let lixia = app.token("lixia").await?;
    let city_project = app.project_id(&lixia, "CATARACT").await?;
    let own = app.project_id(&lixia, "LX-CARE").await?;
    let before = public_total(&app).await?;
    for project in [&other_district, &city_project] {
        let res = c
            .post(app.url("/api/v1/transparency/disclosures"))
            .bearer_auth(&lixia)
            .json(&json!({"kind": "progress_report", "project_id": project, "title": "越权", "body": "b"}))
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{project}");
        let problem: Value = res.json().await?;
        assert_eq!(problem["errors"][0]["field"], "project_id");
        assert_eq!(problem["errors"][0]["message"], "项目不存在或不在您的管辖范围内");
    }
    assert_eq!(public_total(&app).await?, before);
    // Her own district's project is hers to report on.
    let res = c
        .post(app.url("/api/v1/transparency/disclosures"))
        .bearer_auth(&lixia)
        .json(&json!({"kind": "progress_report", "project_id": own, "title": "历下区进展", "body": "b"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Roles that may not publish are refused before the body is read; no credentials is 401.
    let supervisor = app.token("supervisor").await?;
    let res = c
        .post(app.url("/api/v1/transparency/disclosures"))
        .bearer_auth(&supervisor)
        .header("content-type", "application/json")
        .body("{not even json")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = c
        .post(app.url("/api/v1/transparency/disclosures"))
        .json(&json!({"kind": "work_report", "title": "t", "body": "b"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (page_client, _) = app.sign_in("supervisor").await?;
    assert_eq!(
        page_client
            .get(app.url("/transparency/disclosures/new"))
            .send()
            .await?
            .status(),
        StatusCode::FORBIDDEN
    );
    // Her deadlines are her district's projects only.
    let deadlines: Value = app.get_json(&lixia, "/api/v1/transparency/deadlines").await?;
    let codes: Vec<&str> = deadlines["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["project_code"].as_str())
        .collect();
    assert_eq!(codes, ["LX-CARE"]);
    assert_eq!(deadlines["total"], 1);
    // Unknown disclosures and files are 404 to everyone.
    let nothing = uuid::Uuid::new_v4();
    for path in [
        format!("/transparency/disclosures/{nothing}"),
        format!("/transparency/disclosures/{nothing}/file"),
        "/transparency/disclosures/not-an-id/file".to_owned(),
    ] {
        assert_eq!(
            app.client().get(app.url(&path)).send().await?.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn deadlines_flag_the_overdue_demo_projects() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("shi").await?;
    let c = app.client();
    let deadlines: Value = app
        .get_json(&token, "/api/v1/transparency/deadlines?per_page=100")
        .await?;
    let items = deadlines["items"].as_array().cloned().unwrap_or_default();
    let by_code = |code: &str| {
        items
            .iter()
            .find(|d| d["project_code"] == code)
            .cloned()
            .unwrap_or_default()
    };
    let overdue: Vec<&str> = items
        .iter()
        .filter(|d| d["overdue"] == true)
        .filter_map(|d| d["project_code"].as_str())
        .collect();
    assert_eq!(
        overdue,
        [boai_store::demo::LONG_OVERDUE, boai_store::demo::JUST_OVERDUE]
    );
    let long = by_code("EYECARE");
    assert!(long["overdue_days"].as_i64().unwrap() > 90, "{long}");
    let just = by_code("LX-CARE");
    assert!((1..=20).contains(&just["overdue_days"].as_i64().unwrap()), "{just}");
    let cataract = by_code("CATARACT");
    assert_eq!(cataract["basis"], "ongoing");
    assert!(cataract["days_left"].as_i64().unwrap() > 30, "{cataract}");
    assert_eq!(by_code("WINTER2025")["basis"], "done");
    assert!(by_code("SCHOOLKIT").is_null(), "drafts owe nothing");
    assert!(by_code("GENERAL").is_null(), "the general fund is no project");
    let only_overdue: Value = app
        .get_json(&token, "/api/v1/transparency/deadlines?overdue=true")
        .await?;
    assert_eq!(only_overdue["total"], 2);

    // The page flags them in red; the Excel export has every row.
    let (page_client, _) = app.sign_in("caiwu").await?;
    let html = page_client
        .get(app.url("/transparency/deadlines"))
        .send()
        .await?
        .text()
        .await?;
    assert!(html.contains("class=\"overdue\" data-code=\"EYECARE\""), "{html}");
    assert!(html.contains("class=\"overdue\" data-code=\"LX-CARE\""));
    assert!(!html.contains("class=\"overdue\" data-code=\"CATARACT\""));
    assert!(html.contains("已逾期"));
    let export = page_client
        .get(app.url("/transparency/deadlines?format=xlsx"))
        .send()
        .await?;
    assert_eq!(
        export.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(export.bytes().await?.to_vec()))?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or_else(|| anyhow::anyhow!("no sheet"))??;
    assert_eq!(sheet.rows().count(), 1 + items.len());

    // A progress report brings the project back within its deadline.
    let eyecare = app.project_id(&token, "EYECARE").await?;
    let res = c
        .post(app.url("/api/v1/transparency/disclosures"))
        .bearer_auth(&token)
        .json(&json!({"kind": "progress_report", "project_id": eyecare, "title": "爱眼护眼工程补充进展报告", "body": "补报。"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::CREATED);
    let after: Value = app
        .get_json(&token, "/api/v1/transparency/deadlines?overdue=true")
        .await?;
    assert_eq!(after["total"], 1);
    assert_eq!(after["items"][0]["project_code"], "LX-CARE");
    Ok(())
}

#[tokio::test]
async fn the_demo_publishes_yearly_reports_with_real_pdfs() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let c = app.client();
    for kind in ["finance_report", "audit_report", "work_report"] {
        let list: Value = c
            .get(app.url(&format!("/api/v1/transparency/disclosures?kind={kind}")))
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(list["total"], 1, "{kind}");
        let d = &list["items"][0];
        assert!(d["project_id"].is_null());
        assert_eq!(d["org_name"], "济南市红十字会");
        if kind == "work_report" {
            continue;
        }
        let url = d["file"]["url"].as_str().unwrap();
        let bytes = c.get(app.url(url)).send().await?.bytes().await?;
        assert!(bytes.starts_with(b"%PDF-1.4") && bytes.ends_with(b"%%EOF\n"));
        assert_eq!(d["file"]["size"], bytes.len());
    }
    // Every open or closed project has its launch announcement.
    let announcements: Value = c
        .get(app.url("/api/v1/transparency/disclosures?kind=project_announcement&per_page=100"))
        .send()
        .await?
        .json()
        .await?;
    assert!(announcements["total"].as_u64().unwrap() >= 11);
    // The public page, in both languages, and the OpenAPI document.
    let html = c.get(app.url("/transparency/disclosures")).send().await?.text().await?;
    assert!(html.contains("信息公开") && html.contains("年度财务报告"));
    c.get(app.url("/lang/en?next=/")).send().await?;
    let english = c.get(app.url("/transparency/disclosures")).send().await?.text().await?;
    assert!(english.contains("Disclosures") && english.contains("Yearly finance report"));
    let doc: Value = c.get(app.url("/api/openapi.json")).send().await?.json().await?;
    for path in ["/api/v1/transparency/disclosures", "/api/v1/transparency/deadlines"] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from OpenAPI");
    }
    assert!(doc["paths"]["/api/v1/transparency/disclosures"].get("post").is_some());
    Ok(())
}
