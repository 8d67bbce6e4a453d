//! The authorization matrix, generated from the route table itself
//! (`boai_web::route_table()`), so a new route cannot be forgotten:
//! every route × every caller (anonymous and one user of every role) × every
//! sample record its path can name (inside and outside the caller's subtree,
//! using real demo records) gets the answer its declared access promises:
//!
//! - anonymous: public routes answer (listed here explicitly as well); API
//!   routes 401 problem+json; pages redirect to `/login`;
//! - a role without the permission: 403, even with an empty or broken body
//!   (never 400/422: authorization comes before the body);
//! - with the permission, in scope: neither 401, 403 nor 404;
//! - out of scope: exactly the answer for an id that does not exist (same
//!   status, same body once the id is swapped), and 404 for reads;
//! - every state-changing page form without the CSRF token: 403, nothing
//!   written (the audit trail does not grow);
//! - every HTML answer carries the CSP (with `frame-ancestors 'none'`) and
//!   `X-Content-Type-Options: nosniff`.
//!
//! It also checks that the table covers every route served (each path of
//! `/api/openapi.json` is in it, and no source file but `routes.rs` adds
//! routes to an axum `Router`). It runs on the backend the testkit picks.

use boai_domain::accounts::Role;
use boai_store::demo::org_id;
use boai_testkit::{TestApp, PASSWORD};
use boai_web::routes::{Access, RouteInfo};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// Routes that answer without signing in. Changing this list is a
/// deliberate act: it must match the table's `Access::Public` exactly.
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/static/app.css"),
    ("GET", "/static/ledger-proof.js"),
    ("GET", "/lang/{lang}"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/m/{module}"),
    ("GET", "/api/openapi.json"),
    ("POST", "/api/v1/auth/token"),
    ("GET", "/certificates/verify"),
    ("GET", "/ledger/checkpoint"),
    ("GET", "/ledger/key"),
    ("GET", "/ledger/tile/{*path}"),
    ("GET", "/api/v1/ledger/proofs/{index}"),
    ("GET", "/api/v1/ledger/trace/{index}"),
    ("GET", "/transparency/totals.json"),
    ("GET", "/transparency"),
    ("GET", "/transparency/find"),
    ("POST", "/transparency/find"),
    ("GET", "/transparency/verify"),
    ("GET", "/transparency/disclosures"),
    ("GET", "/transparency/disclosures/{id}"),
    ("GET", "/transparency/disclosures/{id}/file"),
    ("GET", "/api/v1/transparency/disclosures"),
    ("GET", "/give"),
    ("POST", "/give"),
    ("GET", "/give/orders/{no}"),
    ("GET", "/give/orders/{no}/certificate.pdf"),
    ("GET", "/sandbox/pay/{no}"),
    ("POST", "/sandbox/pay/{no}"),
    ("POST", "/api/v1/giving/orders"),
    ("GET", "/api/v1/giving/orders/{no}"),
    ("POST", "/api/v1/giving/notify/{provider}"),
    ("GET", "/relief/apply"),
    ("POST", "/relief/apply"),
    ("GET", "/relief/status"),
    ("POST", "/relief/status"),
    ("GET", "/relief/aided/{index}"),
    ("POST", "/api/v1/relief/status"),
    ("GET", "/api/v1/relief/aided/{index}"),
];

/// Page forms whose valid-CSRF submission is not sent by the matrix (the
/// route is still checked for anonymous, role and missing-CSRF answers):
/// `/logout` would end the session the rest of the matrix uses; it has its
/// own test in `tests/sessions.rs`.
const NO_VALID_SUBMIT: &[&str] = &["/logout"];

/// Public routes that authenticate the sender by signature, not by a user:
/// payment providers' notifications answer 401 to an unsigned one (the
/// providers' protocol), signed in or not.
const SIGNED_BY_SENDER: &[&str] = &["/api/v1/giving/notify/{provider}"];

/// Whose a sample record is.
#[derive(Debug, Clone)]
enum Owner {
    /// Owned by this organisation: in scope when it is in the caller's subtree.
    Org(uuid::Uuid),
    /// Readable by every caller allowed the route (public records,
    /// settings).
    Everyone,
    /// The city's (projects, relief programmes): every caller allowed the
    /// route reads it; only callers whose subtree holds it change it (others
    /// are refused with a 4xx, which reveals nothing they cannot read).
    City,
    /// An API token of this user: only its owner may touch it.
    User(&'static str),
    /// No such record exists in the demo (a made-up id): only 401/403 are
    /// checked, since 404 is the right answer for anybody allowed.
    Missing,
}

#[derive(Debug, Clone)]
struct Sample {
    id: String,
    owner: Owner,
}

fn sample(id: impl ToString, owner: Owner) -> Sample {
    Sample {
        id: id.to_string(),
        owner,
    }
}

/// A caller of the matrix.
struct Caller {
    name: &'static str,
    role: Option<Role>,
    org: uuid::Uuid,
    token: String,
    browser: Option<(reqwest::Client, String)>,
}

/// The demo's organisation tree: id → parent.
struct Tree(HashMap<uuid::Uuid, Option<uuid::Uuid>>);

impl Tree {
    fn contains(&self, ancestor: uuid::Uuid, mut org: uuid::Uuid) -> bool {
        loop {
            if org == ancestor {
                return true;
            }
            match self.0.get(&org).copied().flatten() {
                Some(parent) => org = parent,
                None => return false,
            }
        }
    }
}

async fn get_json(c: &reqwest::Client, url: String, token: &str) -> anyhow::Result<Value> {
    let res = c.get(&url).bearer_auth(token).send().await?;
    anyhow::ensure!(res.status() == StatusCode::OK, "{url}: {}", res.status());
    Ok(res.json().await?)
}

async fn org_tree(app: &TestApp, token: &str) -> anyhow::Result<Tree> {
    let c = app.client();
    let mut map = HashMap::new();
    let mut page = 1;
    loop {
        let body = get_json(&c, app.url(&format!("/api/v1/orgs?per_page=100&page={page}")), token).await?;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        for o in &items {
            let id: uuid::Uuid = o["id"].as_str().unwrap().parse()?;
            let parent = o["parent_id"].as_str().and_then(|p| p.parse().ok());
            map.insert(id, parent);
        }
        if items.is_empty() || map.len() as u64 >= body["total"].as_u64().unwrap_or(0) {
            break;
        }
        page += 1;
    }
    Ok(Tree(map))
}

/// Up to one record per kind of owner: in 历下区's first unit, in 历下区
/// itself or another of its units, in another district, and the city.
fn spread(tree: &Tree, records: Vec<(String, uuid::Uuid)>) -> Vec<Sample> {
    let (lx, lx1, city) = (org_id("JN-LX").0, org_id("JN-LX-001").0, org_id("JN").0);
    let buckets: [&dyn Fn(uuid::Uuid) -> bool; 4] = [
        &|o| tree.contains(lx1, o),
        &|o| tree.contains(lx, o) && !tree.contains(lx1, o),
        &|o| o != city && !tree.contains(lx, o),
        &|o| o == city,
    ];
    buckets
        .iter()
        .filter_map(|in_bucket| records.iter().find(|(_, org)| in_bucket(*org)))
        .map(|(id, org)| sample(id, Owner::Org(*org)))
        .collect()
}

/// `(id, owning org)` of a list's items.
async fn owned_items(
    app: &TestApp,
    token: &str,
    path: &str,
    org_field: &str,
) -> anyhow::Result<Vec<(String, uuid::Uuid)>> {
    let body = get_json(&app.client(), app.url(path), token).await?;
    Ok(body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|i| Some((i["id"].as_str()?.to_owned(), i[org_field].as_str()?.parse().ok()?)))
        .collect())
}

/// Real demo records for every kind of path parameter.
struct Samples {
    by_kind: HashMap<&'static str, Vec<Sample>>,
}

impl Samples {
    async fn load(
        app: &TestApp,
        tree: &Tree,
        shi: &str,
        admin: &str,
        tokens: &HashMap<&'static str, String>,
    ) -> anyhow::Result<Self> {
        let mut by_kind: HashMap<&'static str, Vec<Sample>> = HashMap::new();
        let orgs = ["JN-LX-001", "JN-LX", "JN-LX-002", "JN-SZ", "JN-SZ-001", "JN"]
            .iter()
            .map(|code| sample(org_id(code), Owner::Org(org_id(code).0)))
            .collect();
        by_kind.insert("org", orgs);
        let units = ["JN-LX-001", "JN-LX-002", "JN-SZ-001"]
            .iter()
            .map(|code| sample(org_id(code), Owner::Org(org_id(code).0)))
            .collect();
        by_kind.insert("unit", units);
        // Councils (理事会) are the city's and the districts'.
        let branches = ["JN-LX", "JN-SZ", "JN"]
            .iter()
            .map(|code| sample(org_id(code), Owner::Org(org_id(code).0)))
            .collect();
        by_kind.insert("branch", branches);
        let gifts = owned_items(app, shi, "/api/v1/donations?per_page=100", "org_id").await?;
        by_kind.insert("gift", spread(tree, gifts.clone()));
        // Donors are seen through their gifts: a donor whose gifts are all
        // owned by one organisation belongs to it.
        let body = get_json(&app.client(), app.url("/api/v1/donations?per_page=100"), shi).await?;
        let mut donor_orgs: HashMap<String, BTreeSet<uuid::Uuid>> = HashMap::new();
        for g in body["items"].as_array().cloned().unwrap_or_default() {
            if let (Some(d), Some(o)) = (
                g["donor_id"].as_str(),
                g["org_id"].as_str().and_then(|o| o.parse().ok()),
            ) {
                donor_orgs.entry(d.to_owned()).or_default().insert(o);
            }
        }
        let mut donors: Vec<(String, uuid::Uuid)> = donor_orgs
            .into_iter()
            .filter(|(_, orgs)| orgs.len() == 1)
            .filter_map(|(d, orgs)| Some((d, *orgs.iter().next()?)))
            .collect();
        donors.sort();
        by_kind.insert("donor", spread(tree, donors));
        by_kind.insert(
            "member",
            spread(
                tree,
                owned_items(app, shi, "/api/v1/members?per_page=100", "unit_id").await?,
            ),
        );
        by_kind.insert(
            "case",
            spread(
                tree,
                owned_items(app, shi, "/api/v1/relief/cases?per_page=100", "org_id").await?,
            ),
        );
        let city = org_id("JN").0;
        let everyone_if_city = |v: Vec<(String, uuid::Uuid)>| -> Vec<Sample> {
            let mut out = spread(tree, v);
            for s in &mut out {
                if matches!(s.owner, Owner::Org(o) if o == city) {
                    s.owner = Owner::City;
                }
            }
            out
        };
        by_kind.insert(
            "project",
            everyone_if_city(owned_items(app, shi, "/api/v1/projects?per_page=100", "org_id").await?),
        );
        // Programmes are the city's (they carry no organisation of their own).
        let programmes = get_json(&app.client(), app.url("/api/v1/relief/programmes?per_page=100"), shi).await?;
        let programmes: Vec<Sample> = programmes["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .take(1)
            .filter_map(|p| Some(sample(p["id"].as_str()?, Owner::City)))
            .collect();
        by_kind.insert("programme", programmes);
        let disclosures = get_json(&app.client(), app.url("/api/v1/transparency/disclosures"), shi).await?;
        let first = disclosures["items"][0]["id"].as_str().unwrap().to_owned();
        by_kind.insert("disclosure", vec![sample(first, Owner::Everyone)]);
        let checklist = get_json(&app.client(), app.url("/api/v1/network/checklist"), shi).await?;
        let code = checklist["items"][0]["code"].as_str().unwrap_or("C1").to_owned();
        by_kind.insert("checklist", vec![sample(code, Owner::Everyone)]);
        let users = get_json(&app.client(), app.url("/api/v1/users?per_page=100"), admin).await?;
        let accounts: Vec<(String, uuid::Uuid)> = users["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|u| Some((u["id"].as_str()?.to_owned(), u["org_id"].as_str()?.parse().ok()?)))
            .collect();
        by_kind.insert("user", spread(tree, accounts));
        // Each caller's spare API token, and somebody else's.
        let mut token_samples = Vec::new();
        for (name, spare) in tokens {
            token_samples.push(sample(spare, Owner::User(name)));
        }
        token_samples.sort_by(|a, b| a.id.cmp(&b.id));
        by_kind.insert("token", token_samples);
        for kind in ["gift", "donor", "member", "case", "project", "programme", "user"] {
            let n = by_kind.get(kind).map(Vec::len).unwrap_or(0);
            anyhow::ensure!(n > 0, "the demo has no {kind} to test with");
        }
        Ok(Samples { by_kind })
    }

    /// The kind of record a path parameter names, by route.
    fn kind(path: &str, param: &str) -> &'static str {
        let has = |p: &str| path.contains(p);
        match param {
            "{org}" => "branch",
            "{code}" => "checklist",
            "{lang}" => "lang",
            "{module}" => "module",
            "{*path}" => "tile",
            "{index}" => "index",
            "{no}" => "order",
            "{provider}" => "provider",
            "{year}" => "year",
            "{file}" => "missing",
            "{id}" if has("/network/units/") => "unit",
            "{id}" if has("/orgs/") => "org",
            "{id}" if has("/users/") => "user",
            "{id}" if has("/tokens/") => "token",
            "{id}" if has("/projects/") => "project",
            "{id}" if has("/donations/") || has("/fundraising/gifts/") => "gift",
            "{id}" if has("/disclosures/") => "disclosure",
            "{id}" if has("/major-donors/") || has("/giving/donors/") => "donor",
            "{id}" if has("/relief/cases/") => "case",
            "{id}" if has("/relief/programmes/") => "programme",
            "{id}" if has("/members/") => "member",
            // Records the demo does not hold (journal entries to reverse,
            // bank lines, donor visits, council meetings): made-up ids.
            "{id}" if has("/funds/entries/") || has("/bank/lines/") || has("/visits/") || has("/meetings/") => {
                "missing"
            }
            _ => panic!("tests/authz.rs has no sample for {param} in {path}: add one to Samples"),
        }
    }

    fn of(&self, kind: &'static str) -> Vec<Sample> {
        let fixed = |v: &str| vec![sample(v, Owner::Everyone)];
        match kind {
            "lang" => fixed("en"),
            "module" => fixed("volunteers"),
            "tile" => fixed("8/0/000.p/1"),
            "index" => fixed("0"),
            "order" => vec![sample("JZ000000000000", Owner::Missing)],
            "provider" => fixed("sandbox"),
            "year" => fixed("2026"),
            "missing" => vec![sample(uuid::Uuid::new_v4(), Owner::Missing)],
            kind => self.by_kind.get(kind).cloned().unwrap_or_default(),
        }
    }
}

/// One concrete request of a route: its path, the record it names (if any),
/// and the same path with that record replaced by one that does not exist.
struct Target {
    path: String,
    owner: Owner,
    ghost: Option<String>,
    /// A later parameter names a record the demo does not hold (a relief
    /// case's attachment): 404 is right even in scope.
    sub_missing: bool,
}

fn targets(route: &RouteInfo, samples: &Samples) -> Vec<Target> {
    let params: Vec<&str> = route
        .path
        .split('/')
        .filter(|s| s.starts_with('{') && s.ends_with('}'))
        .collect();
    if params.is_empty() {
        return vec![Target {
            path: route.path.to_owned(),
            owner: Owner::Everyone,
            ghost: None,
            sub_missing: false,
        }];
    }
    // The first parameter carries the scope; later ones get their first sample.
    let first = params[0];
    let mut out = Vec::new();
    for s in samples.of(Samples::kind(route.path, first)) {
        let mut path = route.path.replacen(first, &s.id, 1);
        for p in &params[1..] {
            let v = samples
                .of(Samples::kind(route.path, p))
                .first()
                .map(|s| s.id.clone())
                .unwrap_or_default();
            path = path.replacen(p, &v, 1);
        }
        let ghost = match s.owner {
            Owner::Org(_) | Owner::User(_) => Some(path.replacen(&s.id, &uuid::Uuid::new_v4().to_string(), 1)),
            _ => None,
        };
        out.push(Target {
            path,
            owner: s.owner,
            ghost,
            sub_missing: params[1..].iter().any(|p| Samples::kind(route.path, p) == "missing"),
        });
    }
    out
}

/// How a request carries its body (always empty or broken: nothing valid is
/// ever sent, so nothing is created by the matrix itself).
fn is_multipart(route: &RouteInfo) -> bool {
    route.body_limit.is_some()
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    location: String,
    content_type: String,
    body: String,
}

async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    route: &RouteInfo,
    path: &str,
    bearer: Option<&str>,
    csrf: Option<&str>,
) -> anyhow::Result<Answer> {
    let method = Method::from_bytes(route.method.as_str().as_bytes())?;
    let mut req = client.request(method.clone(), app.url(path));
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    if method != Method::GET {
        if route.is_api() {
            req = req.header("content-type", "application/json").body("{");
        } else if is_multipart(route) {
            // A multipart form with at most the csrf field (written by hand:
            // the workspace's reqwest has no multipart feature).
            let boundary = "authz-matrix-boundary";
            let mut body = String::new();
            if let Some(csrf) = csrf {
                body.push_str(&format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
                ));
            }
            body.push_str(&format!("--{boundary}--\r\n"));
            req = req
                .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                .body(body);
        } else {
            let fields: Vec<(&str, &str)> = csrf.map(|c| vec![("csrf", c)]).unwrap_or_default();
            req = req.form(&fields);
        }
    }
    let res = req.send().await?;
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (status, location, content_type) = (res.status(), header("location"), header("content-type"));
    // Every HTML answer, whoever asks, carries the security headers.
    if content_type.starts_with("text/html") {
        let csp = header("content-security-policy");
        anyhow::ensure!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{} {path}: HTML without the CSP: {csp:?}",
            route.method
        );
        anyhow::ensure!(
            header("x-content-type-options") == "nosniff",
            "{} {path}: HTML without nosniff",
            route.method
        );
    }
    let body = if content_type.starts_with("application/pdf") || content_type.contains("spreadsheet") {
        String::new()
    } else {
        res.text().await.unwrap_or_default()
    };
    Ok(Answer {
        status,
        location,
        content_type,
        body,
    })
}

async fn audit_count(db: &sea_orm::DatabaseConnection) -> anyhow::Result<i64> {
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM audit_log",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no count"))?;
    Ok(row.try_get::<i64>("", "n")?)
}

/// The served paths the table must cover: every path of the OpenAPI document.
#[tokio::test]
async fn the_table_covers_every_route_served() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let table = boai_web::route_table();
    let doc: Value = reqwest::get(app.url("/api/openapi.json")).await?.json().await?;
    let in_table: BTreeSet<(String, String)> = table
        .iter()
        .map(|r| (r.method.as_str().to_ascii_lowercase(), r.path.to_owned()))
        .collect();
    let mut missing = Vec::new();
    for (path, ops) in doc["paths"].as_object().cloned().unwrap_or_default() {
        for method in ops
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            // utoipa writes a catch-all `{*path}` as `{path}`.
            let path = if path.starts_with("/ledger/tile/") {
                "/ledger/tile/{*path}".to_owned()
            } else {
                path.clone()
            };
            if !in_table.contains(&(method.clone(), path.clone())) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "served but not in the route table: {missing:?}");
    // No method+path twice (axum would also refuse it at start).
    assert_eq!(in_table.len(), table.len(), "a route is in the table twice");
    // The table is the only way in: no other source adds routes.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("routes.rs") {
                let text = std::fs::read_to_string(&path)?;
                if text.contains(".route(") || text.contains(".nest(") || text.contains(".merge(") {
                    offenders.push(path.display().to_string());
                }
            }
        }
    }
    assert!(offenders.is_empty(), "routes added outside routes.rs: {offenders:?}");
    // The public list here and the table agree.
    let public_in_table: BTreeSet<(String, String)> = table
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
        .collect();
    let public_listed: BTreeSet<(String, String)> =
        PUBLIC.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(
        public_in_table, public_listed,
        "the table's public routes differ from PUBLIC"
    );
    Ok(())
}

/// The matrix.
#[tokio::test]
async fn every_route_every_role_every_scope() -> anyhow::Result<()> {
    let app = TestApp::with_config(boai_web::WebConfig {
        // The matrix hits public look-ups many times from one address.
        login_rate_per_minute: 1_000_000,
        ..Default::default()
    })
    .await?;
    app.add_user("partner", Role::Partner, "JN").await?;
    let users: [(&'static str, Role, &str); 7] = [
        ("admin", Role::Admin, "JN"),
        ("shi", Role::CityStaff, "JN"),
        ("caiwu", Role::Finance, "JN"),
        ("lixia", Role::DistrictStaff, "JN-LX"),
        ("supervisor", Role::Supervisor, "JN"),
        ("jiceng", Role::GrassrootsOperator, "JN-LX-001"),
        ("partner", Role::Partner, "JN"),
    ];
    // Every role appears.
    for role in Role::ALL {
        assert!(users.iter().any(|u| u.1 == role), "no caller with role {role:?}");
    }
    let mut callers = vec![Caller {
        name: "anonymous",
        role: None,
        org: uuid::Uuid::nil(),
        token: String::new(),
        browser: None,
    }];
    let mut spares = HashMap::new();
    for (name, role, org) in users {
        let token = app.token(name).await?;
        let spare: Value = app
            .client()
            .post(app.url("/api/v1/auth/token"))
            .json(&serde_json::json!({"username": name, "password": PASSWORD, "name": "matrix-spare"}))
            .send()
            .await?
            .json()
            .await?;
        spares.insert(name, spare["id"].as_str().unwrap().to_owned());
        callers.push(Caller {
            name,
            role: Some(role),
            org: org_id(org).0,
            token,
            browser: Some(app.sign_in(name).await?),
        });
    }
    let shi = callers
        .iter()
        .find(|c| c.name == "shi")
        .map(|c| c.token.clone())
        .unwrap_or_default();
    let tree = org_tree(&app, &shi).await?;
    let admin = callers
        .iter()
        .find(|c| c.name == "admin")
        .map(|c| c.token.clone())
        .unwrap_or_default();
    let samples = Samples::load(&app, &tree, &shi, &admin, &spares).await?;
    let raw = app.db.raw().await?;
    let anonymous = app.client();

    let mut failures: Vec<String> = Vec::new();
    let mut checked = 0u64;
    let (mut routes, mut pairs) = (0u64, 0u64);
    let table = boai_web::route_table();
    for route in &table {
        routes += 1;
        let method = route.method.as_str();
        let targets = targets(route, &samples);
        // Public page forms check a double-submit CSRF token (403 without it).
        let public_form = !route.is_api() && method != "GET";
        let unauthorized_ok = SIGNED_BY_SENDER.contains(&route.path);
        for caller in &callers {
            pairs += 1;
            for target in &targets {
                checked += 1;
                let what = format!("{method} {} as {}", target.path, caller.name);
                let Some(role) = caller.role else {
                    // Anonymous.
                    let a = send(&app, &anonymous, route, &target.path, None, None).await?;
                    if route.access == Access::Public {
                        // A public form may refuse a missing double-submit CSRF
                        // token, never the lack of a session.
                        if (a.status == StatusCode::UNAUTHORIZED && !unauthorized_ok)
                            || (a.status == StatusCode::FORBIDDEN && !public_form)
                            || a.location.starts_with("/login")
                        {
                            failures.push(format!("{what}: public route refused: {}", a.status));
                        }
                    } else if route.is_api() {
                        if a.status != StatusCode::UNAUTHORIZED
                            || !a.content_type.starts_with("application/problem+json")
                        {
                            failures.push(format!(
                                "{what}: want 401 problem+json, got {} {}",
                                a.status, a.content_type
                            ));
                        }
                    } else if !(a.status == StatusCode::SEE_OTHER && a.location.starts_with("/login")) {
                        failures.push(format!(
                            "{what}: want a redirect to /login, got {} {:?}",
                            a.status, a.location
                        ));
                    }
                    continue;
                };
                let (browser, csrf) = caller
                    .browser
                    .as_ref()
                    .map(|(c, t)| (c, t.as_str()))
                    .unwrap_or((&anonymous, ""));
                // API routes are called with the caller's token, pages with
                // the browser session (and its CSRF token on forms).
                let call = |path: String| {
                    let route = route.clone();
                    let (app, anonymous) = (&app, &anonymous);
                    async move {
                        if route.is_api() {
                            send(app, anonymous, &route, &path, Some(&caller.token), None).await
                        } else {
                            send(app, browser, &route, &path, None, Some(csrf)).await
                        }
                    }
                };
                let allowed = match route.access {
                    Access::Public => {
                        let a = call(target.path.clone()).await?;
                        if (a.status == StatusCode::UNAUTHORIZED && !unauthorized_ok)
                            || (a.status == StatusCode::FORBIDDEN && !public_form)
                        {
                            failures.push(format!("{what}: public route refused a signed-in caller: {}", a.status));
                        }
                        continue;
                    }
                    Access::SignedIn => true,
                    Access::Needs(p) => role.can(p),
                };
                let page_form = !route.is_api() && method != "GET";
                if !allowed {
                    let a = call(target.path.clone()).await?;
                    if a.status != StatusCode::FORBIDDEN || a.body.contains("CSRF") {
                        failures.push(format!(
                            "{what}: lacks the permission, want 403 (role), got {} {}",
                            a.status,
                            snippet(&a.body)
                        ));
                    }
                    continue;
                }
                // Forms without the CSRF token: 403 and nothing written.
                if page_form {
                    let before = audit_count(&raw).await?;
                    let a = send(&app, browser, route, &target.path, None, None).await?;
                    let after = audit_count(&raw).await?;
                    if a.status != StatusCode::FORBIDDEN || after != before {
                        failures.push(format!(
                            "{what}: form without CSRF token, want 403 and nothing written, got {} (audit {before} → {after})",
                            a.status
                        ));
                    }
                    if NO_VALID_SUBMIT.contains(&route.path) {
                        continue;
                    }
                }
                let in_scope = match &target.owner {
                    Owner::Org(org) => tree.contains(caller.org, *org),
                    Owner::User(owner) => *owner == caller.name,
                    Owner::City => method == "GET" || caller.org == org_id("JN").0,
                    Owner::Everyone | Owner::Missing => true,
                };
                let a = call(target.path.clone()).await?;
                if matches!(target.owner, Owner::City) && !in_scope {
                    if !a.status.is_client_error() {
                        failures.push(format!(
                            "{what}: a change to the city's record, want a 4xx, got {}",
                            a.status
                        ));
                    }
                    continue;
                }
                if a.status == StatusCode::UNAUTHORIZED || a.status == StatusCode::FORBIDDEN {
                    failures.push(format!("{what}: allowed, got {} {}", a.status, snippet(&a.body)));
                    continue;
                }
                if matches!(target.owner, Owner::Missing) {
                    continue;
                }
                if in_scope {
                    if (a.status == StatusCode::NOT_FOUND && !target.sub_missing) || a.location.starts_with("/login") {
                        failures.push(format!("{what}: in scope, got {} {}", a.status, snippet(&a.body)));
                    }
                } else if let Some(ghost) = &target.ghost {
                    let g = call(ghost.clone()).await?;
                    let ghost_id = ghost
                        .split('/')
                        .find(|s| !target.path.split('/').any(|t| t == *s))
                        .unwrap_or_default();
                    let real_id = target
                        .path
                        .split('/')
                        .find(|s| !ghost.split('/').any(|t| t == *s))
                        .unwrap_or_default();
                    let same = a.status == g.status
                        && a.content_type == g.content_type
                        && a.body.replace(real_id, ghost_id) == g.body;
                    if !same || (method == "GET" && a.status != StatusCode::NOT_FOUND) {
                        failures.push(format!(
                            "{what}: out of scope, want the answer for a missing id ({} {}), got {} {}",
                            g.status,
                            snippet(&g.body),
                            a.status,
                            snippet(&a.body)
                        ));
                    }
                }
            }
        }
    }
    println!(
        "authz matrix: {routes} routes × {} callers = {pairs} route-caller pairs; {checked} routes × roles × scopes checked",
        callers.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    Ok(())
}

fn snippet(body: &str) -> String {
    let title = body
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .map(str::to_owned);
    title.unwrap_or_else(|| body.chars().take(160).collect())
}
