//! The grassroots network over real HTTP on the backend the testkit picks:
//! scope of units and moves, 五有 compliance against direct counts, imports
//! (.xlsx and GBK .csv, both modes, hostile files) and exports read back.

use boai_domain::validation::identity::credit_code_check_char;
use boai_store::demo::org_id;
use boai_testkit::api::multipart;
use boai_testkit::{hidden_field, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A valid credit code, distinct per `n`.
fn credit(n: u32) -> String {
    let body = format!("91370102MA{n:07}");
    format!("{body}{}", credit_code_check_char(&body).unwrap_or('0'))
}

/// The same code with a wrong check character.
fn bad_credit(n: u32) -> String {
    let good = credit(n);
    let last = good.chars().last().unwrap_or('0');
    format!("{}{}", &good[..17], if last == '1' { '2' } else { '1' })
}

async fn unit_total(app: &TestApp) -> anyhow::Result<i64> {
    app.count("SELECT COUNT(*) FROM orgs WHERE level = 'unit'").await
}

#[tokio::test]
async fn lixia_sees_exactly_the_units_of_her_district() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("lixia").await?;
    let c = app.client();
    let mut seen = Vec::new();
    for page in 1..=2 {
        let (status, body) = app
            .get(&token, &format!("/api/v1/network/units?per_page=100&page={page}"))
            .await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["total"], 186);
        for u in body["items"].as_array().into_iter().flatten() {
            assert_eq!(u["branch_name"], "历下区红十字会");
            seen.push(u["code"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen.len(), 186);
    let direct = app
        .count(
            "SELECT COUNT(*) FROM orgs o JOIN orgs d ON d.id = o.parent_id WHERE o.level = 'unit' AND d.code = 'JN-LX'",
        )
        .await?;
    assert_eq!(direct, 186);
    // Others' units are not found, by API and by page.
    let other = org_id("JN-SZ-001");
    let (status, _) = app.get(&token, &format!("/api/v1/network/units/{other}")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (page_client, csrf) = app.sign_in("lixia").await?;
    let res = page_client
        .get(app.url(&format!("/network/units/{other}")))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(!res.text().await?.contains("市中区"));
    // She cannot move her unit into another district, nor move another's.
    let own = org_id("JN-LX-001");
    let res = c
        .post(app.url(&format!("/api/v1/network/units/{own}/move")))
        .bearer_auth(&token)
        .json(&json!({"to_branch_id": org_id("JN-SZ").to_string()}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = c
        .post(app.url(&format!("/api/v1/network/units/{other}/move")))
        .bearer_auth(&token)
        .json(&json!({"to_branch_id": org_id("JN-LX").to_string()}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = page_client
        .post(app.url(&format!("/network/units/{own}/move")))
        .form(&[("csrf", csrf.as_str()), ("to_branch_id", &org_id("JN-SZ").to_string())])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT COUNT(*) FROM org_moves").await?, 0);
    let (_, unit) = app.get(&token, &format!("/api/v1/network/units/{own}")).await?;
    assert_eq!(unit["branch_id"], org_id("JN-LX").to_string());
    // The dashboard and list pages hold her district only.
    let html = page_client.get(app.url("/network")).send().await?.text().await?;
    assert!(html.contains("<svg") && html.contains("历下区") && !html.contains("市中区"));
    Ok(())
}

#[tokio::test]
async fn city_staff_move_a_unit_and_its_history_stays() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let shi = app.token("shi").await?;
    let lixia = app.token("lixia").await?;
    let c = app.client();
    let unit = org_id("JN-LX-002");
    let res = c
        .post(app.url(&format!("/api/v1/network/units/{unit}/move")))
        .bearer_auth(&shi)
        .json(&json!({"to_branch_id": org_id("JN-SZ").to_string()}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await?;
    assert_eq!(body["branch_id"], org_id("JN-SZ").to_string());
    assert_eq!(body["code"], "JN-LX-002", "the unit keeps its code");
    assert_eq!(app.count("SELECT COUNT(*) FROM org_moves").await?, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE entity = 'org' AND action = 'update'")
            .await?,
        1
    );
    // It has left 历下区's scope, and 市中区 now counts it.
    let (status, _) = app.get(&lixia, &format!("/api/v1/network/units/{unit}")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get(&lixia, "/api/v1/network/units?per_page=1").await?;
    assert_eq!(list["total"], 185);
    // Moving it to where it is already is refused.
    let res = c
        .post(app.url(&format!("/api/v1/network/units/{unit}/move")))
        .bearer_auth(&shi)
        .json(&json!({"to_branch_id": org_id("JN-SZ").to_string()}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (page, _) = app.sign_in("shi").await?;
    let html = page
        .get(app.url(&format!("/network/units/{unit}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        html.contains("历下区红十字会 → 市中区红十字会"),
        "the move is on the unit page"
    );
    Ok(())
}

#[tokio::test]
async fn compliance_on_the_pages_equals_direct_counts() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let active = app.count("SELECT COUNT(*) FROM orgs o JOIN org_units u ON u.org_id = o.id WHERE o.level = 'unit' AND u.status = 'active'")
    .await?;
    let passed = app.count("SELECT COUNT(*) FROM orgs o JOIN org_units u ON u.org_id = o.id WHERE o.level = 'unit' \
         AND u.status = 'active' AND (SELECT COUNT(*) FROM wuyou_assessments a WHERE a.org_id = o.id AND a.met = TRUE) = \
         (SELECT COUNT(*) FROM wuyou_items i WHERE i.active = TRUE)")
    .await?;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM orgs WHERE level = 'unit'").await?,
        2_328
    );
    let rate = passed as f64 / active as f64;
    assert!((0.70..=0.85).contains(&rate), "demo compliance {rate}");
    let shi = app.token("shi").await?;
    let c = app.client();
    let (_, report) = app.get(&shi, "/api/v1/network/compliance").await?;
    assert_eq!(report["total"]["active"], active);
    assert_eq!(report["total"]["passed"], passed);
    assert_eq!(report["pass_mark"], "all");
    let permille = (passed * 1000 + active / 2) / active;
    let text = format!("{}.{}%", permille / 10, permille % 10);
    let (page, _) = app.sign_in("shi").await?;
    let html = page.get(app.url("/network")).send().await?.text().await?;
    assert!(html.contains(&format!("id=\"city-rate\">{text}<")), "city rate {text}");
    // 历下区, counted directly, on the dashboard and on the branch page.
    let lx_active = app
        .count(
            "SELECT COUNT(*) FROM orgs o JOIN org_units u ON u.org_id = o.id JOIN orgs d ON d.id = o.parent_id \
         WHERE d.code = 'JN-LX' AND u.status = 'active'",
        )
        .await?;
    let lx_passed = app
        .count(
            "SELECT COUNT(*) FROM orgs o JOIN org_units u ON u.org_id = o.id JOIN orgs d ON d.id = o.parent_id \
         WHERE d.code = 'JN-LX' AND u.status = 'active' AND \
         (SELECT COUNT(*) FROM wuyou_assessments a WHERE a.org_id = o.id AND a.met = TRUE) = 7",
        )
        .await?;
    let lx = report["districts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["name"] == "历下区红十字会")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(lx["active"], lx_active);
    assert_eq!(lx["passed"], lx_passed);
    let p = (lx_passed * 1000 + lx_active / 2) / lx_active;
    let lx_text = format!("{}.{}%", p / 10, p % 10);
    let branch = page
        .get(app.url(&format!("/orgs/{}", org_id("JN-LX"))))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        branch.contains(&format!("id=\"branch-rate\">{lx_text}<")),
        "branch rate {lx_text}"
    );
    assert!(branch.contains("<svg") && branch.contains("社区"));
    // The shortfall list holds exactly the active units that fall short.
    let (_, short) = app.get(&shi, "/api/v1/network/units?shortfall=true&per_page=1").await?;
    assert_eq!(short["total"], active - passed);
    // Assessing a unit changes its score at once.
    let unit = org_id("JN-LX-001");
    let items: Vec<Value> = [
        "leader",
        "members",
        "rules",
        "venue",
        "activities",
        "funding",
        "records",
    ]
    .iter()
    .map(|code| json!({"item_code": code, "met": *code != "funding", "evidence": "2025 年台账"}))
    .collect();
    let res = c
        .put(app.url(&format!("/api/v1/network/units/{unit}/wuyou")))
        .bearer_auth(&shi)
        .json(&json!({"items": items}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await?;
    assert_eq!(body["wuyou_met"], 6);
    assert_eq!(body["wuyou_passed"], false);
    assert_eq!(body["wuyou_missing"], json!(["funding"]));
    // The supervisor reads but may not assess.
    let sup = app.token("supervisor").await?;
    let res = c
        .put(app.url(&format!("/api/v1/network/units/{unit}/wuyou")))
        .bearer_auth(&sup)
        .json(&json!({"items": []}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    Ok(())
}

/// An .xlsx import file: the template's header and `rows`.
fn xlsx(rows: &[[&str; 4]]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["名称", "所属区县代码", "类型", "统一社会信用代码"].iter().enumerate() {
        sheet.write_string(0, col as u16, *header)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (col, value) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, col as u16, *value)?;
        }
    }
    Ok(book.save_to_buffer()?)
}

#[tokio::test]
async fn xlsx_import_reports_row_by_row_in_both_modes() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("lixia").await?;
    let c = app.client();
    let (taken_code, _) = {
        let (_, list) = app.get(&token, "/api/v1/network/units?per_page=100").await?;
        let code = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|u| u["credit_code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        (code, ())
    };
    let good1 = credit(1);
    let good2 = credit(2);
    let bad = bad_credit(3);
    let file = xlsx(&[
        ["燕山新区社区红十字服务站", "JN-LX", "社区", &good1],
        ["姚家实验小学红十字会", "jn-lx", "school", ""],
        ["校验位错误企业红十字会", "JN-LX", "企业", &bad],
        ["外区社区红十字服务站", "JN-SZ", "社区", ""],
        ["重复代码医院红十字会", "JN-LX", "医院", &taken_code],
        ["", "JN-LX", "社区", &good2],
        ["文件内重复红十字会", "JN-LX", "企业", &good1],
    ])?;
    let before = unit_total(&app).await?;
    let audit_before = app.count("SELECT COUNT(*) FROM audit_log").await?;
    let res = c
        .post(app.url("/api/v1/network/units/import?mode=all_or_nothing"))
        .bearer_auth(&token)
        .body(file.clone())
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await?;
    assert_eq!(report["accepted"], 2);
    assert_eq!(report["rejected"], 5);
    assert_eq!(report["committed"], false);
    let rows = report["rows"].as_array().cloned().unwrap_or_default();
    let problems = |i: usize| rows[i]["problems"].to_string();
    assert_eq!(rows[0]["row"], 2);
    assert!(rows[0]["accepted"].as_bool().unwrap_or(false));
    assert!(problems(2).contains("校验位"), "{}", problems(2));
    assert!(problems(3).contains("所属区县不存在"), "{}", problems(3));
    assert!(problems(4).contains("已被使用"), "{}", problems(4));
    assert!(problems(5).contains("缺少名称"), "{}", problems(5));
    assert!(problems(6).contains("文件中重复"), "{}", problems(6));
    assert_eq!(unit_total(&app).await?, before, "all or nothing wrote nothing");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log").await?, audit_before);

    let res = c
        .post(app.url("/api/v1/network/units/import?mode=valid_rows"))
        .bearer_auth(&token)
        .body(file)
        .send()
        .await?;
    let report: Value = res.json().await?;
    assert_eq!(report["committed"], true);
    assert_eq!(report["accepted"], 2);
    assert_eq!(unit_total(&app).await?, before + 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log").await?, audit_before + 2);
    let code = report["rows"][0]["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("JN-LX-"), "{code}");
    let (_, list) = app.get(&token, &format!("/api/v1/network/units?q={good1}")).await?;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["kind"], "community");
    assert_eq!(
        list["items"][0]["wuyou_passed"], false,
        "a new unit is not yet assessed"
    );
    let (_, all) = app.get(&token, "/api/v1/network/units?per_page=1").await?;
    assert_eq!(all["total"], 188);
    Ok(())
}

#[tokio::test]
async fn gbk_csv_import_through_the_page() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let (c, csrf) = app.sign_in("shi").await?;
    let form = c.get(app.url("/network/import")).send().await?.text().await?;
    assert!(form.contains("multipart/form-data") && hidden_field(&form, "csrf").is_some());
    let template = c.get(app.url("/network/import/template.xlsx")).send().await?;
    assert_eq!(template.status(), StatusCode::OK);
    let csv = format!(
        "名称,所属区县代码,类型,统一社会信用代码,地址,联系电话,负责人,成立日期,状态\r\n\
         商河县玉皇庙村红十字服务站,JN-SH,村,,商河县玉皇庙镇,0531-84800000,李玉珍,2018/3/5,正常\r\n\
         \"平阴县\"\"玫瑰\"\"小学红十字会\",JN-PY,学校,{},平阴县玫瑰镇,13800138000,王建国,2015-09-01,\r\n\
         错误电话社区,JN-PY,社区,,,call-me,,,\r\n",
        credit(9)
    );
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&csv);
    assert!(!unmappable && std::str::from_utf8(&gbk).is_err());
    let before = unit_total(&app).await?;
    for (mode, committed, added) in [("all_or_nothing", false, 0), ("valid_rows", true, 2)] {
        let (content_type, body) = multipart(&[("csrf", &csrf), ("mode", mode)], Some(("units.csv", &gbk)));
        let res = c
            .post(app.url("/network/import"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::OK, "{mode}");
        let html = res.text().await?;
        assert!(html.contains("接受 2 · 拒绝 1"), "{mode}");
        assert!(html.contains("联系电话格式不正确"));
        assert!(
            html.contains("平阴县&#34;玫瑰&#34;小学红十字会") || html.contains("平阴县&quot;玫瑰&quot;小学红十字会")
        );
        assert_eq!(html.contains("已写入"), committed);
        assert_eq!(unit_total(&app).await?, before + added, "{mode}");
    }
    let dated = app.count("SELECT COUNT(*) FROM org_units u JOIN orgs o ON o.id = u.org_id WHERE o.name = '商河县玉皇庙村红十字服务站' AND u.leader = '李玉珍'")
    .await?;
    assert_eq!(dated, 1);
    // Without the CSRF field nothing is read.
    let (content_type, body) = multipart(&[("mode", "valid_rows")], Some(("units.csv", &gbk)));
    let res = c
        .post(app.url("/network/import"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(unit_total(&app).await?, before + 2);
    Ok(())
}

#[tokio::test]
async fn hostile_files_are_refused_whole() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("shi").await?;
    let c = app.client();
    let before = unit_total(&app).await?;
    let post = |body: Vec<u8>| {
        c.post(app.url("/api/v1/network/units/import?mode=valid_rows"))
            .bearer_auth(&token)
            .body(body)
            .send()
    };
    // A formula.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet
        .write_string(0, 0, "名称")?
        .write_string(0, 1, "所属区县代码")?
        .write_string(0, 2, "类型")?;
    sheet.write_string(1, 0, "公式社区")?.write_string(1, 1, "JN-LX")?;
    sheet.write_formula(1, 2, "=\"社区\"")?;
    let res = post(book.save_to_buffer()?).await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await?.contains("公式"));
    // Merged cells.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet
        .write_string(0, 0, "名称")?
        .write_string(0, 1, "所属区县代码")?
        .write_string(0, 2, "类型")?;
    sheet.merge_range(1, 0, 1, 1, "合并社区", &rust_xlsxwriter::Format::new())?;
    sheet.write_string(1, 2, "社区")?;
    let res = post(book.save_to_buffer()?).await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await?.contains("合并单元格"));
    // Wrong columns.
    let res = post("unit,district\nx,y\n".as_bytes().to_vec()).await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await?.contains("未知的列"));
    // Not a spreadsheet at all.
    let res = post(vec![0xff, 0xfe, 0x00, 0x81, 0x00]).await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A broken .xlsx.
    let res = post(b"PK\x03\x04 definitely not a zip".to_vec()).await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Too big.
    let mut huge = "名称,所属区县代码,类型\n".as_bytes().to_vec();
    huge.resize(6 * 1024 * 1024, b'a');
    let res = post(huge).await?;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A district user may not import into what she does not run; a supervisor not at all.
    let sup = app.token("supervisor").await?;
    let res = c
        .post(app.url("/api/v1/network/units/import"))
        .bearer_auth(&sup)
        .body("名称,所属区县代码,类型\n甲,JN-LX,社区\n")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(unit_total(&app).await?, before);
    Ok(())
}

#[tokio::test]
async fn exports_read_back_with_calamine() -> anyhow::Result<()> {
    use calamine::Reader;
    let app = TestApp::demo().await?;
    let token = app.token("lixia").await?;
    let (c, _) = app.sign_in("lixia").await?;
    let (_, short) = app
        .get(&token, "/api/v1/network/units?shortfall=true&per_page=1")
        .await?;
    let res = c.get(app.url("/network/units?shortfall=1&format=xlsx")).send().await?;
    assert_eq!(res.status(), StatusCode::OK);
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(res.bytes().await?.to_vec()))?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or_else(|| anyhow::anyhow!("no sheet"))??;
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][0], "代码");
    assert_eq!(rows.len() as u64 - 1, short["total"].as_u64().unwrap());
    assert!(
        rows[1..].iter().all(|r| r[1].starts_with("历下区") && !r[7].is_empty()),
        "every row names what it lacks"
    );
    let res = c.get(app.url("/network/units?format=xlsx")).send().await?;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(res.bytes().await?.to_vec()))?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or_else(|| anyhow::anyhow!("no sheet"))??;
    assert_eq!(sheet.rows().count(), 1 + 186);
    let res = c.get(app.url("/network?format=xlsx")).send().await?;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(res.bytes().await?.to_vec()))?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or_else(|| anyhow::anyhow!("no sheet"))??;
    let lines: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(lines.len(), 2, "header and her one district");
    assert_eq!(lines[1][1], "186");
    // The import template reads back as the import's header.
    let res = c.get(app.url("/network/import/template.xlsx")).send().await?;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(res.bytes().await?.to_vec()))?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or_else(|| anyhow::anyhow!("no sheet"))??;
    let header: Vec<String> = sheet
        .rows()
        .next()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .unwrap_or_default();
    assert_eq!(header[..3], ["名称", "所属区县代码", "类型"]);
    Ok(())
}

#[tokio::test]
async fn particulars_and_status_are_edited_within_scope() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let token = app.token("lixia").await?;
    let c = app.client();
    let unit = org_id("JN-LX-004");
    let (_, report) = app.get(&token, "/api/v1/network/compliance").await?;
    let active = report["total"]["active"].as_i64().unwrap();
    let (_, before) = app.get(&token, &format!("/api/v1/network/units/{unit}")).await?;
    let was_active = before["status"] == "active";
    let res = c
        .put(app.url(&format!("/api/v1/network/units/{unit}")))
        .bearer_auth(&token)
        .json(
            &json!({"status": "suspended", "leader": "王立新", "phone": "0531-86012345",
                      "founded_on": "2001-06-18", "credit_code": credit(77)}),
        )
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await?;
    assert_eq!(body["status"], "suspended");
    assert_eq!(body["leader"], "王立新");
    assert_eq!(body["credit_code"], credit(77));
    let (_, report) = app.get(&token, "/api/v1/network/compliance").await?;
    assert_eq!(
        report["total"]["active"].as_i64().unwrap(),
        active - i64::from(was_active),
        "a suspended unit leaves the compliance count"
    );
    // A wrong check character is a field error; nothing changes.
    let res = c
        .put(app.url(&format!("/api/v1/network/units/{unit}")))
        .bearer_auth(&token)
        .json(&json!({"credit_code": bad_credit(78)}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await?;
    assert!(problem.to_string().contains("credit_code"));
    // Another district's unit is not found.
    let res = c
        .put(app.url(&format!("/api/v1/network/units/{}", org_id("JN-SZ-004"))))
        .bearer_auth(&token)
        .json(&json!({"status": "suspended"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    Ok(())
}

/// PUT /api/v1/network/checklist/{code} as `token`.
async fn put_item(app: &TestApp, token: &str, code: &str, body: Value) -> anyhow::Result<(StatusCode, Value)> {
    let res = app
        .client()
        .put(app.url(&format!("/api/v1/network/checklist/{code}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = res.status();
    Ok((status, res.json().await.unwrap_or(Value::Null)))
}

#[tokio::test]
async fn the_city_configures_the_checklist() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let admin = app.token("admin").await?;
    let lixia = app.token("lixia").await?;
    let shi = app.token("shi").await?;
    let (_, report) = app.get(&shi, "/api/v1/network/compliance").await?;
    let passed_before = report["total"]["passed"].as_i64().unwrap_or(-1);
    assert!(passed_before > 0);
    let items_sql = "SELECT COUNT(*) FROM wuyou_items";
    let audit_sql = "SELECT COUNT(*) FROM audit_log WHERE entity = 'wuyou_item'";
    let (items0, audit0) = (app.count(items_sql).await?, app.count(audit_sql).await?);

    // District staff may not; bad input is refused; neither changes anything.
    let (status, _) = put_item(&app, &lixia, "TRAINING", json!({"name_zh": "有培训"})).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = put_item(&app, &admin, "坏编码", json!({"name_zh": "有培训"})).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("code"), "{problem}");
    let (status, problem) = put_item(&app, &admin, "TRAINING", json!({"name_zh": "  "})).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(app.count(items_sql).await?, items0);
    assert_eq!(app.count(audit_sql).await?, audit0);

    // A new item goes to the end; no unit has met it yet, so under "all" none passes.
    let (status, list) = put_item(
        &app,
        &admin,
        "TRAINING",
        json!({"name_zh": "有培训", "name_en": "Training"}),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len() as i64, items0 + 1);
    assert_eq!(items.last().map(|i| i["code"].clone()), Some(json!("TRAINING")));
    let (_, report) = app.get(&shi, "/api/v1/network/compliance").await?;
    assert_eq!(report["total"]["passed"], 0);

    // Made inactive (never deleted), it no longer counts.
    let (status, list) = put_item(&app, &admin, "TRAINING", json!({"name_zh": "有培训", "active": false})).await?;
    assert_eq!(status, StatusCode::OK);
    assert!(list["items"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i["code"] == "TRAINING" && i["active"] == false)));
    let (_, report) = app.get(&shi, "/api/v1/network/compliance").await?;
    assert_eq!(report["total"]["passed"].as_i64(), Some(passed_before));
    assert_eq!(app.count(audit_sql).await?, audit0 + 2);

    // One item at least stays active.
    let (_, list) = app.get(&shi, "/api/v1/network/checklist").await?;
    let active: Vec<Value> = list["items"]
        .as_array()
        .map(|items| items.iter().filter(|i| i["active"] == true).cloned().collect())
        .unwrap_or_default();
    for (n, item) in active.iter().enumerate() {
        let code = item["code"].as_str().unwrap();
        let (status, _) = put_item(&app, &admin, code, json!({"name_zh": item["name_zh"], "active": false})).await?;
        let expected = if n + 1 == active.len() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "deactivating {code}");
    }

    // The dashboard's form renames an item (administrators only see it).
    let (page, csrf) = app.sign_in("admin").await?;
    let html = page.get(app.url("/network")).send().await?.text().await?;
    assert!(html.contains("action=\"/network/checklist\""));
    let res = page
        .post(app.url("/network/checklist"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("code", "TRAINING"),
            ("name_zh", "有应急培训"),
            ("name_en", "Training"),
            ("active", "1"),
        ])
        .send()
        .await?;
    assert!(
        res.status().is_redirection() || res.status().is_success(),
        "{}",
        res.status()
    );
    let (_, list) = app.get(&shi, "/api/v1/network/checklist").await?;
    assert!(list["items"].as_array().is_some_and(|items| items
        .iter()
        .any(|i| i["code"] == "TRAINING" && i["name_zh"] == "有应急培训" && i["active"] == true)));
    let (lx_page, _) = app.sign_in("lixia").await?;
    let html = lx_page.get(app.url("/network")).send().await?.text().await?;
    assert!(!html.contains("action=\"/network/checklist\""));
    Ok(())
}
