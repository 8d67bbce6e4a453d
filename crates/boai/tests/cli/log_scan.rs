//! No ID number, phone or bank account in the logs, the public pages or the
//! ledger. The real binary runs at `RUST_LOG=debug`, once with text logs and
//! once with JSON logs, through the main flows with known numbers: a staff
//! gift with the donor's 身份证 and phone, an online gift through the
//! sandbox (public form, payment page, signed notification over HTTP), a
//! member with 身份证, a relief application (staff API and the public form)
//! with ID, phone and bank account, a member import, failed sign-ins typed
//! with an ID number or a phone as the user name, a privacy export. Then
//! every line it logged, every public page (/, /transparency, a find-my-gift
//! result, /relief/aided/…, every ledger entry bundle, /transparency/totals.json)
//! is searched for the full numbers (phones also without separators).

use crate::support::{start_server_with, token, Server};
use anyhow::Context;
use boai_domain::validation::identity::id_card_check_char;
use boai_testkit::TestDb;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR demo";

fn id_card(birth: &str, n: u32) -> String {
    let body = format!("370102{birth}{:03}", n % 1000);
    format!("{body}{}", id_card_check_char(&body).unwrap_or('0'))
}

/// `boai serve` at `RUST_LOG=debug`, logging in `format` to `log`.
async fn start_server(
    url: &str,
    data: &str,
    format: &str,
    log: &std::path::Path,
    client: &reqwest::Client,
) -> anyhow::Result<Server> {
    let log = std::fs::File::create(log)?;
    start_server_with(url, data, client, |command, base| {
        command
            .env("RUST_LOG", "debug")
            .env("BOAI_LOG_FORMAT", format)
            .env("BOAI_PUBLIC_URL", base)
            // The flows pay through the sandbox, off on a plain serve.
            .env("BOAI_SANDBOX_PAYMENTS", "true")
            .stderr(log);
        Ok(())
    })
    .await
}

async fn get_json(client: &reqwest::Client, url: String, token: &str) -> anyhow::Result<Value> {
    let res = client.get(&url).bearer_auth(token).send().await?;
    anyhow::ensure!(res.status().is_success(), "GET {url}: {}", res.status());
    Ok(res.json().await?)
}

/// The secrets of one run and where they went in.
struct Known {
    /// Values that must never appear anywhere public or logged.
    values: Vec<String>,
}

impl Known {
    fn phone(&mut self, p: &str) -> String {
        self.values.push(p.to_owned());
        self.values.push(p.chars().filter(char::is_ascii_digit).collect());
        p.to_owned()
    }
    fn id(&mut self, id: String) -> String {
        self.values.push(id.clone());
        id
    }
    fn other(&mut self, v: &str) -> String {
        self.values.push(v.to_owned());
        v.to_owned()
    }
}

/// C2SP tile index `N` as path segments (`x001/234`).
fn tile_index(n: u64) -> String {
    let s = format!("{n:03}");
    let digits = s.len().div_ceil(3) * 3;
    let s = format!("{n:0digits$}");
    let groups: Vec<&str> = (0..s.len()).step_by(3).map(|i| &s[i..i + 3]).collect();
    let last = groups.len() - 1;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| if i < last { format!("x{g}") } else { (*g).to_owned() })
        .collect::<Vec<_>>()
        .join("/")
}

/// Runs the flows against a server; returns the public pages read afterwards.
async fn flows(
    client: &reqwest::Client,
    base: &str,
    run: u32,
    known: &mut Known,
) -> anyhow::Result<Vec<(String, String)>> {
    let caiwu = token(client, base, "caiwu").await?;
    let shi = token(client, base, "shi").await?;
    let projects = get_json(client, format!("{base}/api/v1/projects?per_page=100"), &caiwu).await?;
    let project = projects["items"]
        .as_array()
        .and_then(|items| items.iter().find(|p| p["code"] == "CATARACT"))
        .and_then(|p| p["id"].as_str())
        .context("no CATARACT project")?
        .to_owned();
    let unit = boai_store::demo::org_id("JN-LX-001").to_string();

    // 1. A staff gift with the donor's ID number and phone (with separators).
    let donor_id = known.id(id_card("19700312", 100 + run));
    let donor_phone = known.phone(&format!("139-1200-{:04}", 10 + run));
    let res = client
        .post(format!("{base}/api/v1/donations"))
        .bearer_auth(&caiwu)
        .json(
            &json!({"project_id": project, "amount_fen": 12_345, "channel": "bank_transfer",
                      "donor": {"kind": "person", "name": "日志甲", "phone": donor_phone, "id_card_no": donor_id}}),
        )
        .send()
        .await?;
    anyhow::ensure!(res.status() == 201, "staff gift: {}", res.text().await?);
    let staff_gift: Value = res.json().await?;
    // A bad ID number is refused; the answer and the log must not repeat it.
    let bad_id = known.other("370102197003120000");
    let res = client
        .post(format!("{base}/api/v1/donations"))
        .bearer_auth(&caiwu)
        .json(&json!({"project_id": project, "amount_fen": 100, "channel": "cash",
                      "donor": {"kind": "person", "name": "日志乙", "id_card_no": bad_id}}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 422, "bad ID number: {}", res.status());

    // 2. An online gift through the public form and the sandbox.
    let giver_id = known.id(id_card("19800101", 200 + run));
    let giver_phone = known.phone(&format!("138 1300 {:04}", 20 + run));
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let res = no_redirect
        .post(format!("{base}/give"))
        .form(&[
            ("project_id", project.as_str()),
            ("amount", "66.00"),
            ("donor_kind", "person"),
            ("name", "日志丙"),
            ("phone", giver_phone.as_str()),
            ("id_card_no", giver_id.as_str()),
        ])
        .send()
        .await?;
    anyhow::ensure!(res.status() == 303, "give: {} {}", res.status(), res.text().await?);
    let to = res.headers()["location"].to_str()?.to_owned();
    let no = to.trim_start_matches("/sandbox/pay/").to_owned();
    let res = no_redirect
        .post(format!("{base}{to}"))
        .form(&[("x", "")])
        .send()
        .await?;
    anyhow::ensure!(res.status() == 303, "sandbox pay: {}", res.status());
    let deadline = Instant::now() + Duration::from_secs(20);
    let online_cert = loop {
        let o: Value = client
            .get(format!("{base}/api/v1/giving/orders/{no}"))
            .send()
            .await?
            .json()
            .await?;
        if o["status"] == "paid" {
            break o["gift"]["certificate_no"].as_str().unwrap().to_owned();
        }
        anyhow::ensure!(Instant::now() < deadline, "order not paid: {o}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // 3. A member with an ID number and phone.
    let member_id = known.id(id_card("19650505", 300 + run));
    let member_phone = known.phone(&format!("137{:08}", 30_000_000 + run));
    let res = client
        .post(format!("{base}/api/v1/members"))
        .bearer_auth(&shi)
        .json(&json!({"unit_id": unit, "name": "日志丁", "type_code": "ordinary",
                      "id_card_no": member_id, "phone": member_phone}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 201, "member: {}", res.text().await?);
    // The same ID number again: refused as a duplicate (the message names it masked only).
    let res = client
        .post(format!("{base}/api/v1/members"))
        .bearer_auth(&shi)
        .json(&json!({"unit_id": unit, "name": "日志丁", "type_code": "ordinary", "id_card_no": member_id}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 422, "duplicate member: {}", res.status());

    // 4. A member import with ID numbers and phones.
    let import_id = known.id(id_card("19750707", 400 + run));
    let import_phone = known.phone(&format!("136{:08}", 40_000_000 + run));
    let csv = format!(
        "姓名或名称,所属基层组织代码,会员类型,身份证号码,统一社会信用代码,联系电话,入会日期\n\
         日志戊,JN-LX-002,普通会员,{import_id},,{import_phone},2024-03-01\n\
         日志己,JN-LX-002,普通会员,{import_id},,{import_phone},2024-03-01\n"
    );
    let res = client
        .post(format!("{base}/api/v1/members/import?mode=valid_rows"))
        .bearer_auth(&shi)
        .body(csv)
        .send()
        .await?;
    anyhow::ensure!(res.status() == 200, "import: {}", res.text().await?);

    // 5. Relief: by staff through the API, and by the public form.
    let programmes = get_json(client, format!("{base}/api/v1/relief/programmes"), &shi).await?;
    let uremia = programmes["items"]
        .as_array()
        .and_then(|items| items.iter().find(|p| p["name"] == "尿毒症救助"))
        .cloned()
        .context("no 尿毒症救助")?;
    let docs: Vec<Value> = uremia["documents"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|_| json!({"name": "d.png", "content_base64": base64_png()}))
                .collect()
        })
        .unwrap_or_default();
    let applicant_id = known.id(id_card("19740202", 500 + run));
    let applicant_phone = known.phone(&format!("135-5000-{:04}", 50 + run));
    let account = known.other(&format!("62220202001122{:05}", 33_000 + run));
    let res = client
        .post(format!("{base}/api/v1/relief/cases"))
        .bearer_auth(&shi)
        .json(&json!({
            "programme_id": uremia["id"], "unit_id": unit, "applicant_name": "日志庚",
            "id_card": applicant_id, "phone": applicant_phone, "district": "历下区",
            "household_size": 3, "household_income_fen": 240_000, "hardship": "低保", "diagnosis": "尿毒症",
            "hospital": "山东省立医院", "bank_name": "工商银行", "bank_account": account,
            "documents": docs, "health_consent": true,
        }))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 201, "relief case: {}", res.text().await?);
    let public_id = known.id(id_card("19760303", 600 + run));
    let public_phone = known.phone(&format!("134{:08}", 60_000_000 + run));
    let public_account = known.other(&format!("62170000123456{:05}", 66_000 + run));
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let form = browser
        .get(format!(
            "{base}/relief/apply?programme={}",
            uremia["id"].as_str().unwrap()
        ))
        .send()
        .await?
        .text()
        .await?;
    let csrf = boai_testkit::hidden_field(&form, "csrf").context("no csrf on the apply form")?;
    let fields = [
        ("csrf", csrf.as_str()),
        ("programme_id", uremia["id"].as_str().unwrap()),
        ("applicant_name", "日志辛"),
        ("id_card", public_id.as_str()),
        ("phone", public_phone.as_str()),
        ("district", "历下区"),
        ("household_size", "2"),
        ("household_income", "1800"),
        ("hardship", "低保"),
        ("diagnosis", "尿毒症"),
        ("bank_name", "建设银行"),
        ("bank_account", public_account.as_str()),
        ("health_consent", "health-2026-11"),
    ];
    let boundary = "----BoaiLogScan";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    for i in 0..uremia["documents"].as_array().map(Vec::len).unwrap_or_default() {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"doc_{i}\"; filename=\"d.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(PNG);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let res = browser
        .post(format!("{base}/relief/apply"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(res.status() == 200, "public relief form: {}", res.status());

    // 6. Failed sign-ins with an ID number or a phone typed as the user name.
    for (user, password) in [
        (donor_id.as_str(), "wrong-password-1"),
        (donor_phone.as_str(), "wrong-password-2"),
    ] {
        let res = client
            .post(format!("{base}/api/v1/auth/token"))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await?;
        anyhow::ensure!(res.status() == 401, "failed sign-in: {}", res.status());
    }
    let login = browser.get(format!("{base}/login")).send().await?.text().await?;
    let csrf = boai_testkit::hidden_field(&login, "csrf").context("no csrf on the login form")?;
    let res = browser
        .post(format!("{base}/login"))
        .form(&[
            ("username", member_phone.as_str()),
            ("password", member_id.as_str()),
            ("csrf", csrf.as_str()),
            ("next", "/dashboard"),
        ])
        .send()
        .await?;
    anyhow::ensure!(!res.status().is_redirection(), "a failed sign-in redirected");

    // 7. Staff search by ID number and by phone (the number is in the query string).
    for path in [
        format!("/api/v1/donors?q={donor_id}"),
        format!("/api/v1/members?q={member_id}"),
        format!("/fundraising/donors?q={donor_id}"),
    ] {
        let res = client.get(format!("{base}{path}")).bearer_auth(&shi).send().await?;
        anyhow::ensure!(res.status().as_u16() < 500, "{path}: {}", res.status());
    }

    // 8. A privacy export (its answer holds the numbers; the log must not).
    let res = client
        .post(format!("{base}/api/v1/privacy/exports"))
        .bearer_auth(&shi)
        .json(&json!({"id_card_no": applicant_id, "requested_by": "本人"}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 200, "privacy export: {}", res.status());

    // The public pages.
    let mut pages = Vec::new();
    let cert = staff_gift["certificate_no"].as_str().unwrap();
    let tail = &donor_phone[donor_phone.len() - 4..];
    for path in [
        "/".to_owned(),
        "/transparency".to_owned(),
        "/transparency/totals.json".to_owned(),
        format!("/transparency/find?cert={cert}&phone4={tail}"),
        format!(
            "/transparency/find?cert={online_cert}&phone4={}",
            &giver_phone[giver_phone.len() - 4..]
        ),
        format!("/give/orders/{no}"),
    ] {
        let text = client.get(format!("{base}{path}")).send().await?.text().await?;
        pages.push((path, text));
    }
    let paid = get_json(
        client,
        format!("{base}/api/v1/relief/cases?status=paid&per_page=5"),
        &shi,
    )
    .await?;
    for c in paid["items"].as_array().cloned().unwrap_or_default() {
        if let Some(i) = c["ledger_index"].as_i64() {
            let path = format!("/relief/aided/{i}");
            let text = client.get(format!("{base}{path}")).send().await?.text().await?;
            pages.push((path, text));
        }
    }
    let checkpoint = client
        .get(format!("{base}/ledger/checkpoint"))
        .send()
        .await?
        .text()
        .await?;
    let size: u64 = checkpoint
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .context("no tree size")?;
    for n in 0..size.div_ceil(256) {
        let width = (size - n * 256).min(256);
        let path = if width == 256 {
            format!("/ledger/tile/entries/{}", tile_index(n))
        } else {
            format!("/ledger/tile/entries/{}.p/{width}", tile_index(n))
        };
        let res = client.get(format!("{base}{path}")).send().await?;
        anyhow::ensure!(res.status() == 200, "{path}: {}", res.status());
        let bytes = res.bytes().await?;
        pages.push((path, String::from_utf8_lossy(&bytes).into_owned()));
    }
    Ok(pages)
}

fn base64_png() -> String {
    use std::fmt::Write;
    // Standard base64 of PNG, written out to keep the test free of a base64 dependency.
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in PNG.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = out.write_char(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_numbers_in_logs_public_pages_or_the_ledger() -> anyhow::Result<()> {
    let db = TestDb::fresh().await?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_string_lossy().into_owned();
    let url = db.url.clone();
    let out = Command::new(env!("CARGO_BIN_EXE_boai"))
        .args(["demo", "--gifts", "20", "--database-url", &url, "--data-dir", &data])
        .env("RUST_LOG", "warn")
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build()?;
    for (run, format) in [(1u32, "text"), (2, "json")] {
        let log = dir.path().join(format!("server-{format}.log"));
        let server = start_server(&url, &data, format, &log, &client).await?;
        let mut known = Known { values: Vec::new() };
        let pages = flows(&client, &server.base, run, &mut known).await?;
        drop(server);
        let text = std::fs::read_to_string(&log)?;
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.len() > 50 && text.contains("DEBUG"),
            "the server logged at debug level ({} lines)",
            lines.len()
        );
        if format == "json" {
            let bad = lines
                .iter()
                .filter(|l| serde_json::from_str::<Value>(l).is_err())
                .count();
            assert_eq!(bad, 0, "every line of the JSON log is JSON");
        }
        let mut leaks = Vec::new();
        for value in &known.values {
            for (i, line) in lines.iter().enumerate() {
                if line.contains(value.as_str()) {
                    leaks.push(format!("{format} log line {}: {value} in {line:.300}", i + 1));
                }
            }
            for (path, body) in &pages {
                if body.contains(value.as_str()) {
                    leaks.push(format!("public {path}: {value}"));
                }
            }
        }
        assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n"));
        assert!(pages.iter().any(|(p, _)| p.starts_with("/ledger/tile/entries/")));
    }
    Ok(())
}
