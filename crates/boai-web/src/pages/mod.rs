//! Pages shared by every module: the layout (navigation for all eleven
//! modules, language switch, the signed-in user), the public home page, the
//! dashboard, placeholders for modules not built yet, and the error page.

use crate::auth::{MaybeCaller, PageUser, SignedIn};
use crate::components::chart::{Bar, BarChart};
use crate::i18n::{t, Lang};
use crate::query::PageQuery;
use crate::PageError;
pub use errors::{error_page, html_errors, ErrorShown};

mod errors;
mod todo;
use askama::Template;
use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use boai_domain::accounts::Permission;
use boai_domain::orgs::OrgLevel;
use boai_store::orgs::OrgFilter;
use boai_store::Page;

/// One entry of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub active: bool,
    pub built: bool,
}

/// The eleven modules of PRODUCT.md: (path key, message key, href, built,
/// the permission its page needs — `None`: anyone signed in, or public).
type Module = (&'static str, &'static str, &'static str, bool, Option<Permission>);
const MODULES: [Module; 11] = [
    ("orgs", "nav.orgs", "/orgs", true, Some(Permission::ViewOrgs)),
    (
        "fundraising",
        "nav.fundraising",
        "/fundraising",
        true,
        Some(Permission::ViewGifts),
    ),
    ("funds", "nav.funds", "/funds", true, Some(Permission::ViewFunds)),
    ("transparency", "nav.transparency", "/transparency", true, None),
    ("relief", "nav.relief", "/relief", true, Some(Permission::ViewRelief)),
    ("registries", "nav.registries", "/m/registries", false, None),
    ("training", "nav.training", "/m/training", false, None),
    ("emergency", "nav.emergency", "/m/emergency", false, None),
    ("volunteers", "nav.volunteers", "/m/volunteers", false, None),
    (
        "councils",
        "nav.governance",
        "/councils",
        true,
        Some(Permission::ViewOrgs),
    ),
    ("opendata", "nav.opendata", "/m/opendata", false, None),
];

/// What every page's frame needs.
#[derive(Debug, Clone)]
pub struct Layout {
    pub lang: Lang,
    pub title: String,
    pub user: Option<UserBadge>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub system_nav: Vec<NavItem>,
    pub path: String,
}

#[derive(Debug, Clone)]
pub struct UserBadge {
    pub display_name: String,
    pub role: String,
}

impl Layout {
    pub fn new(lang: Lang, title: impl Into<String>, path: &str, identity: Option<&crate::auth::Identity>) -> Layout {
        let section = path
            .trim_start_matches('/')
            .trim_start_matches("m/")
            .split('/')
            .next()
            .unwrap_or_default();
        // A signed-in user sees only the modules their role may open.
        let may_open = |need: &Option<Permission>| match (need, identity) {
            (Some(permission), Some(id)) => id.actor.role.can(*permission),
            _ => true,
        };
        let nav = MODULES
            .iter()
            .filter(|(_, _, _, _, need)| may_open(need))
            .map(|(key, label, href, built, _)| NavItem {
                href,
                label: t(lang, label).to_owned(),
                active: *key == section,
                built: *built,
            })
            .collect();
        let system_nav = match identity {
            Some(id) => {
                let mut items = Vec::new();
                let role = id.actor.role;
                if role.can(Permission::ViewAudit) {
                    items.push(NavItem {
                        href: "/audit",
                        label: t(lang, "nav.audit").to_owned(),
                        active: section == "audit",
                        built: true,
                    });
                }
                if role.can(Permission::ViewUsers) {
                    items.push(NavItem {
                        href: "/users",
                        label: t(lang, "nav.users").to_owned(),
                        active: section == "users",
                        built: true,
                    });
                }
                if role.can(Permission::ManagePrivacy) {
                    items.push(NavItem {
                        href: "/privacy",
                        label: t(lang, "nav.privacy").to_owned(),
                        active: section == "privacy",
                        built: true,
                    });
                }
                items.push(NavItem {
                    href: "/account/tokens",
                    label: t(lang, "nav.tokens").to_owned(),
                    active: section == "account",
                    built: true,
                });
                items
            }
            None => Vec::new(),
        };
        Layout {
            lang,
            title: title.into(),
            user: identity.map(|id| UserBadge {
                display_name: id.display_name().to_owned(),
                role: id.actor.role.label_zh().to_owned(),
            }),
            csrf: identity.map(|id| id.csrf_token().to_owned()).unwrap_or_default(),
            nav,
            system_nav,
            path: path.to_owned(),
        }
    }

    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        t(self.lang, key)
    }
}

/// Renders a template into an HTML response (500 on a template bug).
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "页面渲染失败").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
}

pub async fn home(headers: HeaderMap, MaybeCaller(caller): MaybeCaller) -> Response {
    let lang = lang_of(&headers);
    render(&HomePage {
        layout: Layout::new(lang, t(lang, "app.name"), "/", caller.as_ref()),
    })
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    todos: Vec<todo::Todo>,
    org_count: u64,
    unit_count: u64,
    chart_svg: String,
}

pub async fn dashboard(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    headers: HeaderMap,
    user: PageUser<SignedIn>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let todos = todo::todos(&state, &user.store, &user.identity, lang).await?;
    let tree = user.store.orgs_tree().await?;
    let districts: Vec<_> = tree.iter().filter(|o| o.level == OrgLevel::District).collect();
    let bars = districts
        .iter()
        .map(|d| Bar {
            label: d.name.trim_end_matches("红十字会").to_owned(),
            value: i64::try_from(tree.iter().filter(|u| u.parent_id == Some(d.id)).count()).unwrap_or(i64::MAX),
        })
        .collect();
    let chart = BarChart {
        title: t(lang, "orgs.by_district").to_owned(),
        unit: "个".to_owned(),
        bars,
    };
    let (_, unit_count) = user
        .store
        .orgs_list(
            &OrgFilter {
                level: Some(OrgLevel::Unit),
                ..OrgFilter::default()
            },
            Page::new(Some(1), Some(1)),
        )
        .await?;
    Ok(render(&DashboardPage {
        layout: Layout::new(lang, t(lang, "nav.dashboard"), "/dashboard", Some(&user.identity)),
        todos,
        org_count: tree.len() as u64,
        unit_count,
        chart_svg: chart.to_svg(),
    }))
}

#[derive(Template)]
#[template(path = "module.html")]
struct ModulePage {
    layout: Layout,
    name: String,
}

pub async fn module_placeholder(
    headers: HeaderMap,
    Path(module): Path<String>,
    MaybeCaller(caller): MaybeCaller,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let Some((_, label, _, _, _)) = MODULES.iter().find(|(key, _, _, built, _)| *key == module && !built) else {
        return Err(crate::ApiError::NotFound.into());
    };
    let name = t(lang, label).to_owned();
    Ok(render(&ModulePage {
        layout: Layout::new(lang, name.clone(), &format!("/m/{module}"), caller.as_ref()),
        name,
    }))
}

#[derive(serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Switches the language and goes back.
pub async fn set_lang(Path(lang): Path<String>, PageQuery(q): PageQuery<NextQuery>) -> Response {
    let value = if lang == "en" { "en" } else { "zh" };
    let next = same_site_path(q.next.as_deref()).unwrap_or_else(|| "/".to_owned());
    let mut response = Redirect::to(&next).into_response();
    if let Ok(cookie) = format!("boai_lang={value}; Path=/; Max-Age=31536000; SameSite=Lax").parse() {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// A local path to go to after signing in; anything else becomes the
/// start page `/dashboard` (see [`same_site_path`]).
pub fn safe_next(next: Option<&str>) -> String {
    same_site_path(next).unwrap_or_else(|| "/dashboard".to_owned())
}

/// THE rule for a `next` a client sends (sign-in, language switch): the
/// value (already percent-decoded by the form or query) is taken only as a
/// path on this site — one leading `/` and not a second one, no backslash,
/// no control character (tab, CR, LF, VT, DEL, C1 …) anywhere, at most
/// 2,000 characters — so no browser can read it as another host and nothing
/// unchecked reaches a `Location` header. Spaces and non-ASCII characters
/// are percent-encoded. `None` means: go to the start page instead.
pub fn same_site_path(next: Option<&str>) -> Option<String> {
    let next = next?;
    let rest = next.strip_prefix('/')?;
    if rest.starts_with('/') || next.contains('\\') || next.chars().any(char::is_control) || next.len() > 2_000 {
        return None;
    }
    let mut out = String::with_capacity(next.len());
    for c in next.chars() {
        if c.is_ascii_graphic() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    Some(out)
}

/// The page language from the request's cookie.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    let is_en = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| pair.trim() == "boai_lang=en");
    if is_en {
        Lang::En
    } else {
        Lang::Zh
    }
}

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
}

/// A time as shown on pages: China Standard Time, to the minute.
pub fn china_time(at: chrono::DateTime<chrono::Utc>) -> String {
    match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(cst) => at.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string(),
        None => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}
