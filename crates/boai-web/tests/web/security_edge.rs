//! Issue 24, the edges an outside probe found: hostile spreadsheets (the
//! server under a memory cap), the sandbox provider only where configured,
//! open redirects, silent connections and per-address connection limits,
//! `/metrics` not public, `Cache-Control: no-store` on personal data, a 413
//! from the notification endpoint as problem+json, the sandbox's order map
//! pruned, `X-Forwarded-For` believed only from a trusted proxy.

use boai_domain::Clock;
use boai_testkit::{hidden_field, hostile, TestApp, PASSWORD};
use boai_web::payments::provider::OrderRequest;
use boai_web::payments::PaymentProvider;
use boai_web::{MetricsAccess, WebConfig};
use reqwest::StatusCode;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Set in the child process that runs the memory-capped server.
const CHILD: &str = "BOAI_SECURITY_EDGE_CHILD";
/// The child's address space, in KiB: the demo server needs a few hundred
/// megabytes; the hostile files asked the reader for 2 GB to 512 GiB.
const MEMORY_CAP_KIB: u64 = 1024 * 1024;

/// The server of [`hostile_spreadsheets_are_refused_by_a_memory_capped_server`],
/// run in a child process (the test binary again) under `ulimit -v`. Not a
/// test of its own: without the variable it returns at once.
#[tokio::test]
async fn memory_capped_server_child() -> anyhow::Result<()> {
    if std::env::var_os(CHILD).is_none() {
        return Ok(());
    }
    let app = TestApp::demo().await?;
    println!("BASE {}", app.base);
    std::io::stdout().flush()?;
    // Serve until the parent closes our stdin, then say how much memory the
    // process used at most.
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await?;
    let status = std::fs::read_to_string("/proc/self/status")?;
    let figure = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    println!(
        "PEAK resident {}, address space {}",
        figure("VmHWM:"),
        figure("VmPeak:")
    );
    std::io::stdout().flush()?;
    drop(app);
    Ok(())
}

/// Multipart body of a page upload: csrf, mode and the file.
fn multipart(csrf: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----BoaiHostileBoundary";
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf), ("mode", "all_or_nothing")] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.xlsx\"\r\n\
             Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Every importer (members, units, bank statements), through the API and
/// through the pages, refuses each hostile spreadsheet with 422 and a
/// Chinese reason, while the server — a child process whose address space
/// is capped — stays up. Before the fix the first file made the reader ask
/// for 512 GiB and the process died.
#[tokio::test]
async fn hostile_spreadsheets_are_refused_by_a_memory_capped_server() -> anyhow::Result<()> {
    if std::env::var_os(CHILD).is_some() {
        return Ok(());
    }
    let files = hostile::spreadsheets()?;
    let exe = std::env::current_exe()?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_CAP_KIB} && exec \"$0\" \"$@\""))
        .arg(&exe)
        .args([
            "security_edge::memory_capped_server_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(120), lines.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the capped server ended before listening"))?;
        // libtest writes "test … ... " before the test's own output.
        if let Some((_, base)) = line.split_once("BASE ") {
            break base.trim().to_owned();
        }
    };
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let token: Value = c
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "shi", "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let token = token["token"].as_str().unwrap_or_default().to_owned();
    let started = Instant::now();
    for (what, bytes) in &files {
        for path in [
            "/api/v1/members/import",
            "/api/v1/network/units/import",
            "/api/v1/giving/bank/statements",
        ] {
            let res = c
                .post(format!("{base}{path}"))
                .bearer_auth(&token)
                .body(bytes.clone())
                .send()
                .await;
            let res = match res {
                Ok(res) => res,
                Err(e) => {
                    let exit = child.try_wait()?;
                    anyhow::bail!(
                        "{what} ({} bytes) to {path}: no answer ({e}); server exit: {exit:?}",
                        bytes.len()
                    );
                }
            };
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{what} to {path}");
            assert_eq!(
                res.headers()["content-type"],
                "application/problem+json",
                "{what} to {path}"
            );
            let problem: Value = res.json().await?;
            let reason = field_error(&problem, "file");
            assert!(
                reason.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{what} to {path}: a Chinese reason beside the file: {problem}"
            );
        }
    }
    // The pages: the reason beside the file field, 422.
    let login = c.get(format!("{base}/login")).send().await?.text().await?;
    let csrf = hidden_field(&login, "csrf").unwrap_or_default();
    let res = c
        .post(format!("{base}/login"))
        .form(&[
            ("username", "shi"),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("next", "/dashboard"),
        ])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, far_apart) = &files[0];
    for (form_page, csrf_field) in [
        ("/members/import", "csrf"),
        ("/network/import", "csrf"),
        ("/fundraising/bank", "csrf"),
    ] {
        let page = c.get(format!("{base}{form_page}")).send().await?.text().await?;
        let csrf = hidden_field(&page, csrf_field).unwrap_or_default();
        let (content_type, body) = multipart(&csrf, far_apart);
        let res = c
            .post(format!("{base}{form_page}"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "page {form_page}");
        let html = res.text().await?;
        assert!(html.contains("行数过多"), "page {form_page}: the reason is shown");
    }
    let took = started.elapsed();
    assert_eq!(c.get(format!("{base}/healthz")).send().await?.status(), StatusCode::OK);
    assert!(child.try_wait()?.is_none(), "the capped server is still running");
    drop(child.stdin.take());
    let peak = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the capped server ended without its figures"))?;
        if let Some((_, peak)) = line.split_once("PEAK ") {
            break peak.to_owned();
        }
    };
    let status = child.wait()?;
    assert!(status.success(), "the capped server ended cleanly: {status}");
    eprintln!(
        "{} hostile files × 3 importers (+3 pages) refused in {:.1} s under a {} MiB cap; server peak {peak}",
        files.len(),
        took.as_secs_f64(),
        MEMORY_CAP_KIB / 1024
    );
    Ok(())
}

/// The import functions themselves: each hostile file is refused with its
/// own reason, a harmless one is read.
#[test]
fn hostile_spreadsheets_are_refused_with_their_reason() -> anyhow::Result<()> {
    let expected = [
        ("far-apart cells", "行数过多"),
        ("declared dimension", "声明的范围"),
        ("shared formula range", "公式"),
        ("shared formula index", "结构异常"),
        ("one string in every cell", "单元格内容过多"),
        ("decompression bomb", "解压后过大"),
        ("external link", "外部链接"),
    ];
    let files = hostile::spreadsheets()?;
    assert_eq!(files.len(), expected.len());
    for ((what, bytes), (name, reason)) in files.iter().zip(expected) {
        assert_eq!(*what, name);
        assert!(
            bytes.len() < 1_100_000,
            "{what} is a small file ({} bytes)",
            bytes.len()
        );
        let started = Instant::now();
        match boai_import::read_table(bytes) {
            Ok(_) => anyhow::bail!("{what} was read"),
            Err(e) => assert!(e.contains(reason), "{what}: {e}"),
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{what} is judged quickly");
    }
    let table = boai_import::read_table(&hostile::harmless()?).map_err(anyhow::Error::msg)?;
    assert_eq!(table.len(), 2);
    assert_eq!(table[1][0], "张三");
    Ok(())
}

/// The sandbox provider off (a plain `serve`): every sandbox path is 404,
/// a notification signed with the sandbox's key records nothing, and the
/// public giving form says online giving is not open.
#[tokio::test]
async fn sandbox_is_404_unless_configured() -> anyhow::Result<()> {
    let app = TestApp::with_config(WebConfig {
        sandbox_payments: false,
        ..WebConfig::default()
    })
    .await?;
    let c = app.client();
    assert_eq!(
        c.get(app.url("/sandbox/pay/G20250101000001")).send().await?.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.post(app.url("/sandbox/pay/G20250101000001")).send().await?.status(),
        StatusCode::NOT_FOUND
    );
    // A notification as the sandbox would sign it.
    let sandbox = app.state.payments.sandbox();
    let body = boai_web::payments::SandboxProvider::payment_body("n1", "G20250101000001", "SBX1", 100, "CNY");
    let mut req = c
        .post(app.url("/api/v1/giving/notify/sandbox"))
        .header("content-type", "application/json");
    for (k, v) in sandbox.signed_headers(&body, app.clock.now().timestamp(), "nonce-1") {
        req = req.header(k, v);
    }
    assert_eq!(req.body(body).send().await?.status(), StatusCode::NOT_FOUND);
    let orders_before = count(&app, "SELECT COUNT(*) FROM payment_orders").await?;
    let res = c
        .post(app.url("/api/v1/giving/orders"))
        .json(&serde_json::json!({"amount": "10", "donor_kind": "anonymous"}))
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await?;
    assert!(field_error(&problem, "amount").contains("暂未开通"), "{problem}");
    let orders = count(&app, "SELECT COUNT(*) FROM payment_orders").await?;
    assert_eq!(orders, orders_before, "no order opened without a provider");
    Ok(())
}

/// The message of a problem's field error.
fn field_error(problem: &Value, field: &str) -> String {
    problem["errors"]
        .as_array()
        .and_then(|errors| errors.iter().find(|e| e["field"] == field))
        .and_then(|e| e["message"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn count(app: &TestApp, sql: &str) -> anyhow::Result<i64> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = app.db.raw().await?;
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// `next` after the language switch and after sign-in: only a path on this
/// site, checked after decoding, by one rule; anything else goes to the
/// start page, and nothing reaches the `Location` header unchecked (a CR,
/// LF or VT there was a 500).
#[tokio::test]
async fn next_is_a_same_site_path_or_the_start_page() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    // (raw query value, where the language switch goes)
    let table: &[(&str, &str)] = &[
        ("/%09/evil.example", "/"),
        ("//evil.example", "/"),
        ("%2F%2Fevil.example", "/"),
        ("/%2F/evil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("%5C%5Cevil.example", "/"),
        ("/%5C/evil.example", "/"),
        ("https://evil.example/", "/"),
        ("https:/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("%20/evil.example", "/"),
        ("/%0d%0aSet-Cookie:%20x=1", "/"),
        ("/%0aLocation:%20//evil.example", "/"),
        ("/%0b/evil.example", "/"),
        ("/%0d/evil.example", "/"),
        ("/%00", "/"),
        ("/%7F", "/"),
        ("/%C2%85/evil.example", "/"),
        ("", "/"),
        // Good ones stay (re-encoded where needed).
        ("/", "/"),
        ("/members?page=2", "/members?page=2"),
        ("/transparency/find?cert=A-1", "/transparency/find?cert=A-1"),
        ("/%252F%252Fevil.example", "/%2F%2Fevil.example"),
        ("/members?q=%E5%BC%A0", "/members?q=%E5%BC%A0"),
        ("/a%20b", "/a%20b"),
    ];
    let c = app.client();
    for (raw, want) in table {
        let res = c.get(app.url(&format!("/lang/en?next={raw}"))).send().await?;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "next={raw}");
        assert_eq!(res.headers()["location"], *want, "next={raw}");
    }
    // Sign-in: the same rule, the start page being /dashboard.
    for (raw, want) in table {
        let decoded: String = url_decode(raw);
        let c = app.client();
        let page = c.get(app.url("/login")).send().await?.text().await?;
        let csrf = hidden_field(&page, "csrf").unwrap_or_default();
        let res = c
            .post(app.url("/login"))
            .form(&[
                ("username", "caiwu"),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("next", &decoded),
            ])
            .send()
            .await?;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "next={raw}");
        let want = if *want == "/" && *raw != "/" {
            "/dashboard"
        } else {
            want
        };
        assert_eq!(res.headers()["location"], want, "sign-in next={raw}");
    }
    Ok(())
}

fn url_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => match u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A connection from `ip` (any 127/8 address reaches the server).
async fn connect_from(ip: &str, base: &str) -> anyhow::Result<TcpStream> {
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse()?;
    let socket = TcpSocket::new_v4()?;
    socket.bind(std::net::SocketAddr::new(ip.parse::<IpAddr>()?, 0))?;
    Ok(socket.connect(addr).await?)
}

/// Reads until the server closes the connection (or `limit` passes):
/// how long that took and what it sent.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (Option<Duration>, Vec<u8>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (Some(started.elapsed()), got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (None, got),
        }
    }
}

/// Silent connections are closed after the header-read timeout (also
/// between requests on a kept-alive connection); one address gets at most
/// `max_connections_per_ip` connections at once, others are served meanwhile.
#[tokio::test]
async fn silent_connections_are_closed_and_limited_per_address() -> anyhow::Result<()> {
    let app = TestApp::with_config(WebConfig {
        header_read_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(3),
        max_connections_per_ip: 3,
        ..WebConfig::default()
    })
    .await?;
    // A connection that sends nothing is closed after 2 s, unanswered.
    let mut silent = connect_from("127.0.0.1", &app.base).await?;
    let (closed, sent) = until_closed(&mut silent, Duration::from_secs(10)).await;
    let held = closed.ok_or_else(|| anyhow::anyhow!("a silent connection was held 10 s"))?;
    assert!(sent.is_empty(), "closed unanswered");
    assert!(
        held >= Duration::from_millis(1500) && held < Duration::from_secs(4),
        "held {held:?}"
    );
    eprintln!(
        "silent connection closed after {:.2} s (timeout 2 s)",
        held.as_secs_f64()
    );
    drop(silent);
    // Half a request line, then nothing: the same.
    let mut slow = connect_from("127.0.0.1", &app.base).await?;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await?;
    let (closed, _) = until_closed(&mut slow, Duration::from_secs(10)).await;
    assert!(
        closed.is_some_and(|d| d < Duration::from_secs(4)),
        "half a request: {closed:?}"
    );
    drop(slow);
    // Kept alive after an answer, then silent: closed too.
    let mut kept = connect_from("127.0.0.1", &app.base).await?;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await?;
    let (closed, answer) = until_closed(&mut kept, Duration::from_secs(10)).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        closed.is_some_and(|d| d < Duration::from_secs(4)),
        "kept alive: {closed:?}"
    );
    drop(kept);
    // Three silent connections from 127.0.0.1 use its allowance: a fourth is
    // closed at once, unanswered, while 127.0.0.2 is served.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.1", &app.base).await?);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fourth = connect_from("127.0.0.1", &app.base).await?;
    let _ = fourth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (closed, answer) = until_closed(&mut fourth, Duration::from_secs(1)).await;
    assert!(closed.is_some(), "the fourth connection is closed at once");
    assert!(answer.is_empty(), "and not answered");
    let mut other = connect_from("127.0.0.2", &app.base).await?;
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await?;
    let (_, answer) = until_closed(&mut other, Duration::from_secs(5)).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "another address is served");
    // Once those close, 127.0.0.1 is served again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = connect_from("127.0.0.1", &app.base).await?;
        again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await?;
        let (_, answer) = until_closed(&mut again, Duration::from_secs(5)).await;
        if answer.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "127.0.0.1 is served again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// `/metrics` for administrators only (the `serve` default): 404 to
/// anyone else; API answers and signed-in answers are `no-store`; a 413
/// from the notification endpoint is problem+json; `X-Forwarded-For` counts
/// only from a trusted proxy.
#[tokio::test]
async fn metrics_cache_413_and_forwarded_for() -> anyhow::Result<()> {
    let app = TestApp::with_config(WebConfig {
        metrics: MetricsAccess::Admin,
        trusted_proxies: boai_web::client_addr::TrustedProxies::parse(&["127.0.0.2"]).map_err(anyhow::Error::msg)?,
        ..WebConfig::default()
    })
    .await?;
    let c = app.client();
    // Metrics.
    assert_eq!(c.get(app.url("/metrics")).send().await?.status(), StatusCode::NOT_FOUND);
    let finance = app.token("caiwu").await?;
    let res = c.get(app.url("/metrics")).bearer_auth(&finance).send().await?;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let admin = app.token("admin").await?;
    let res = c.get(app.url("/metrics")).bearer_auth(&admin).send().await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await?.contains("http_requests_total"));
    // no-store: API answers with personal data, signed-in downloads.
    for path in ["/api/v1/donations", "/api/v1/orgs", "/api/v1/giving/donors"] {
        let res = c.get(app.url(path)).bearer_auth(&finance).send().await?;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    }
    let (page, _) = app.sign_in("caiwu").await?;
    let res = page.get(app.url("/relief/payments.xlsx")).send().await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store", "signed-in download");
    // The public ledger keeps its own caching.
    let res = c.get(app.url("/ledger/checkpoint")).send().await?;
    assert_ne!(
        res.headers().get("cache-control").map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    // 413 from the notification endpoint.
    let res = c
        .post(app.url("/api/v1/giving/notify/sandbox"))
        .header("content-type", "application/json")
        .body(vec![b' '; 3 * 1024 * 1024])
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await?;
    assert_eq!(problem["status"], 413);
    // X-Forwarded-For: from 127.0.0.1 (not a proxy) it is ignored, so the
    // public order form's per-client limit (60 a minute) counts 127.0.0.1;
    // from 127.0.0.2 (the trusted proxy) it names the client.
    let order = |from: &'static str, xff: String| {
        let url = app.url("/api/v1/giving/orders");
        async move {
            let client = reqwest::Client::builder()
                .local_address(from.parse::<IpAddr>()?)
                .build()?;
            let res = client
                .post(url)
                .header("x-forwarded-for", xff)
                .json(&serde_json::json!({}))
                .send()
                .await?;
            anyhow::Ok(res.status())
        }
    };
    for i in 0..60 {
        assert_eq!(
            order("127.0.0.1", format!("10.0.0.{i}")).await?,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    assert_eq!(
        order("127.0.0.1", "10.0.0.200".to_owned()).await?,
        StatusCode::TOO_MANY_REQUESTS,
        "a spoofed header does not buy a new allowance"
    );
    for _ in 0..60 {
        assert_eq!(
            order("127.0.0.2", "10.0.0.1".to_owned()).await?,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    assert_eq!(
        order("127.0.0.2", "10.0.0.1".to_owned()).await?,
        StatusCode::TOO_MANY_REQUESTS,
        "the forwarded client has used its allowance"
    );
    assert_eq!(
        order("127.0.0.2", "10.0.0.2".to_owned()).await?,
        StatusCode::UNPROCESSABLE_ENTITY,
        "another forwarded client has its own"
    );
    Ok(())
}

/// The sandbox forgets expired unpaid orders and never holds more than
/// `MAX_ORDERS`.
#[tokio::test]
async fn sandbox_order_map_is_pruned() -> anyhow::Result<()> {
    use boai_web::payments::sandbox::MAX_ORDERS;
    let app = TestApp::demo().await?;
    let sandbox = app.state.payments.sandbox();
    let now = app.clock.now();
    let request = |no: String, expire_at| OrderRequest {
        out_trade_no: no,
        amount_fen: 100,
        currency: "CNY".to_owned(),
        description: "test".to_owned(),
        notify_url: app.url("/api/v1/giving/notify/sandbox"),
        return_url: "/".to_owned(),
        expire_at,
    };
    let before = sandbox.order_count();
    for i in 0..10 {
        sandbox
            .create_order(&request(format!("T{i}"), now + chrono::Duration::minutes(30)))
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    assert_eq!(sandbox.order_count(), before + 10);
    app.clock.advance(chrono::Duration::hours(1));
    sandbox.prune();
    assert_eq!(sandbox.order_count(), 0, "expired unpaid orders are forgotten");
    let later = app.clock.now() + chrono::Duration::minutes(30);
    for i in 0..MAX_ORDERS + 50 {
        sandbox
            .create_order(&request(format!("U{i}"), later + chrono::Duration::seconds(i as i64)))
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    assert_eq!(sandbox.order_count(), MAX_ORDERS);
    assert!(sandbox.order("U0").is_none(), "the oldest went first");
    assert!(sandbox.order(&format!("U{}", MAX_ORDERS + 49)).is_some());
    Ok(())
}
