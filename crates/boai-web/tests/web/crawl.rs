//! The crawl test (issue 22): signs in as every demo role and follows every
//! link its navigation and pages offer — pagers included — and submits every
//! GET filter form with its default values and with each field emptied, as a
//! browser would (`Accept: text/html`). Every answer must be 200 or a
//! deliberate redirect, an HTML page (never text/plain), and no link may lead
//! to a page the role may not open. A few URLs per path shape keep it short;
//! the same crawl in a real browser checks layout (e2e/crawl.test.mjs).

use boai_testkit::TestApp;
use scraper::{Html, Selector};
use std::collections::{BTreeSet, HashMap, VecDeque};

const ROLES: [&str; 6] = ["admin", "shi", "caiwu", "lixia", "supervisor", "jiceng"];
/// How many URLs of one shape (path with ids as `{}`, query keys) are visited.
const PER_SHAPE: usize = 1;
/// An upper bound on pages per role, so a new infinite pager cannot hang CI.
const MAX_PAGES: usize = 400;

/// A URL a page offers; a form's submissions are all visited (they differ
/// in values only), once per form and role.
struct Offer {
    url: String,
    form: Option<String>,
}

/// A path with its ids, numbers and query values blanked: `/orgs/{}?page`.
fn shape(url: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path: Vec<String> = path
        .split('/')
        .map(|seg| {
            let digits = seg.chars().filter(char::is_ascii_digit).count();
            if !seg.is_empty() && (seg.len() >= 8 && digits > 0 || digits == seg.len()) {
                "{}".to_owned()
            } else {
                seg.to_owned()
            }
        })
        .collect();
    let mut keys: Vec<&str> = query
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .filter(|k| !k.is_empty())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    format!("{}?{}", path.join("/"), keys.join("&"))
}

/// Links not to follow: signing out, switching language (tested on their
/// own), files, and downloads (checked by their own tests; the crawl keeps
/// to pages).
fn skip(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or_default();
    url.starts_with("/logout")
        || url.starts_with("/lang/")
        || url.starts_with("/static/")
        || url.starts_with("/sandbox/")
        || url.contains("format=")
        || [".pdf", ".xlsx", ".csv", ".json", ".js", ".css", ".txt"]
            .iter()
            .any(|ext| path.ends_with(ext))
        || path.starts_with("/ledger/")
        || path == "/metrics"
}

fn encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                boai_web::components::list::urlencode(k),
                boai_web::components::list::urlencode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The URLs a page offers: its same-site links and, for each GET form, the
/// form submitted with its defaults and once with each field emptied.
fn offered(page_url: &str, html: &str) -> Vec<Offer> {
    let doc = Html::parse_document(html);
    let a = Selector::parse("a[href]").unwrap();
    let mut out: Vec<Offer> = doc
        .select(&a)
        .filter_map(|el| el.value().attr("href"))
        .map(|href| href.replace("&amp;", "&"))
        .filter(|href| href.starts_with('/') && !href.starts_with("//"))
        .map(|href| Offer {
            url: href.split('#').next().unwrap_or_default().to_owned(),
            form: None,
        })
        .collect();
    let forms = Selector::parse("form").unwrap();
    let fields = Selector::parse("input[name], select[name], textarea[name]").unwrap();
    let option = Selector::parse("option").unwrap();
    for form in doc.select(&forms) {
        let method = form.value().attr("method").unwrap_or("get").to_ascii_lowercase();
        if method != "get" {
            continue;
        }
        let action = form
            .value()
            .attr("action")
            .map(str::to_owned)
            .unwrap_or_else(|| page_url.split('?').next().unwrap_or_default().to_owned());
        let mut pairs = Vec::new();
        for field in form.select(&fields) {
            let el = field.value();
            let name = el.attr("name").unwrap_or_default().to_owned();
            let value = match el.name() {
                "select" => {
                    let options: Vec<_> = field.select(&option).collect();
                    options
                        .iter()
                        .find(|o| o.value().attr("selected").is_some())
                        .or(options.first())
                        .map(|o| {
                            o.value()
                                .attr("value")
                                .map(str::to_owned)
                                .unwrap_or_else(|| o.text().collect())
                        })
                        .unwrap_or_default()
                }
                "textarea" => field.text().collect(),
                _ => match el.attr("type").unwrap_or("text") {
                    "submit" | "button" | "reset" | "file" => continue,
                    "checkbox" | "radio" if el.attr("checked").is_none() => continue,
                    _ => el.attr("value").unwrap_or_default().to_owned(),
                },
            };
            pairs.push((name, value));
        }
        let form_key = shape(&format!("{action}?{}", encode(&pairs)));
        out.push(Offer {
            url: format!("{action}?{}", encode(&pairs)),
            form: Some(form_key.clone()),
        });
        for i in 0..pairs.len() {
            let mut emptied = pairs.clone();
            emptied[i].1.clear();
            out.push(Offer {
                url: format!("{action}?{}", encode(&emptied)),
                form: Some(form_key.clone()),
            });
        }
    }
    out
}

/// Crawls as `role`: the failures, and a line for the report.
async fn crawl(client: reqwest::Client, base: String, role: &'static str) -> anyhow::Result<(Vec<String>, String)> {
    let mut failures = Vec::new();
    let mut seen_shapes: HashMap<String, usize> = HashMap::new();
    let mut forms_done: BTreeSet<String> = BTreeSet::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<(String, String)> = VecDeque::from([("/dashboard".to_owned(), "sign-in".to_owned())]);
    let mut visited = 0;
    while let Some((url, from)) = queue.pop_front() {
        if visited >= MAX_PAGES {
            failures.push(format!("{role}: more than {MAX_PAGES} pages; raise MAX_PAGES"));
            break;
        }
        visited += 1;
        let started = std::time::Instant::now();
        let res = client
            .get(format!("{base}{url}"))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await?;
        let status = res.status();
        let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = header("content-type").unwrap_or_default();
        let location = header("location");
        let body = res.text().await?;
        if std::env::var_os("BOAI_CRAWL_TIMES").is_some() {
            eprintln!("crawl-time {role} {} ms {url}", started.elapsed().as_millis());
        }
        let mut next = Vec::new();
        if status.is_redirection() {
            match location {
                Some(to) if to.starts_with("/login") => failures.push(format!("{role}: {url} (from {from}) → sign-in")),
                Some(to) => next.push(Offer { url: to, form: None }),
                None => failures.push(format!("{role}: {url} (from {from}) → {status} without Location")),
            }
        } else if status != 200 {
            failures.push(format!("{role}: {url} (from {from}) → {status}"));
        } else if content_type.starts_with("text/html") {
            next = offered(&url, &body);
        } else if content_type.starts_with("text/plain") {
            failures.push(format!("{role}: {url} (from {from}) → text/plain"));
        }
        let mut forms_here = BTreeSet::new();
        for offer in next {
            if skip(&offer.url) || seen.contains(&offer.url) {
                continue;
            }
            match offer.form {
                // Every submission of a form not yet tried by this role.
                Some(form) => {
                    if forms_done.contains(&form) {
                        continue;
                    }
                    forms_here.insert(form);
                }
                None => {
                    let n = seen_shapes.entry(shape(&offer.url)).or_default();
                    if *n >= PER_SHAPE {
                        continue;
                    }
                    *n += 1;
                }
            }
            seen.insert(offer.url.clone());
            queue.push_back((offer.url, url.clone()));
        }
        forms_done.extend(forms_here);
    }
    Ok((failures, format!("{role}: {visited} pages, {} forms", forms_done.len())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_reaches_every_page_it_is_offered() -> anyhow::Result<()> {
    let app = TestApp::demo().await?;
    let mut failures = Vec::new();
    let mut report = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for role in ROLES {
        let (client, _) = app.sign_in(role).await?;
        tasks.spawn(crawl(client, app.url(""), role));
    }
    while let Some(result) = tasks.join_next().await {
        let (failed, line) = result??;
        failures.extend(failed);
        report.push(line);
    }
    eprintln!("crawl: {}", report.join("; "));
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    Ok(())
}

#[test]
fn shapes_blank_ids_and_query_values() {
    assert_eq!(
        shape("/orgs/01936b2a-aaaa-7bbb-8ccc-000000000001?page=2&q=x"),
        "/orgs/{}?page&q"
    );
    assert_eq!(shape("/members"), "/members?");
    assert_ne!(shape("/members?page=2"), shape("/members"));
}

#[test]
fn get_forms_are_submitted_with_defaults_and_each_field_emptied() {
    let html = r#"<form method="get" action="/fundraising"><select name="project_id"><option value="">全部</option><option value="p1">A</option></select><input name="from" type="date" value="2026-01-01"><button>筛选</button></form>
    <form method="post" action="/x"><input name="a"></form><a href="/orgs?page=2&amp;q=">2</a><a href="https://else.where/">x</a>"#;
    let got: Vec<String> = offered("/fundraising", html).into_iter().map(|o| o.url).collect();
    assert_eq!(
        got,
        vec![
            "/orgs?page=2&q=".to_owned(),
            "/fundraising?project_id=&from=2026-01-01".to_owned(),
            "/fundraising?project_id=&from=2026-01-01".to_owned(),
            "/fundraising?project_id=&from=".to_owned(),
        ]
    );
}
