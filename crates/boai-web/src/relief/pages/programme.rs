//! A programme's page (figures by district and month) and its eligibility
//! rule form.

use super::*;
use crate::query::PageQuery;

/// One row of the rule form.
pub struct RuleRow {
    pub field: String,
    pub value: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "relief/programme.html")]
struct ProgrammePage {
    layout: Layout,
    p: Programme,
    figures: Figures,
    paid: String,
    budget: String,
    district_chart: String,
    month_chart: String,
    rows: Vec<RuleRow>,
    any: bool,
    fields: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    error: String,
    saved: bool,
}

impl ProgrammePage {
    fn yuan(&self, f: impl AsFen) -> String {
        yuan(f.fen())
    }

    fn level(&self, s: &boai_domain::relief::review::Step) -> &'static str {
        level_label(s.level)
    }
}

/// An amount in fen, however many references deep a template passes it.
trait AsFen {
    fn fen(&self) -> i64;
}

impl AsFen for i64 {
    fn fen(&self) -> i64 {
        *self
    }
}

impl<T: AsFen + ?Sized> AsFen for &T {
    fn fen(&self) -> i64 {
        (**self).fen()
    }
}

fn rule_rows(rule: &Rule, errors: &FieldErrors) -> Vec<RuleRow> {
    let mut rows: Vec<RuleRow> = rule
        .conditions
        .iter()
        .enumerate()
        .map(|(i, c)| RuleRow {
            field: c.field.as_str().to_owned(),
            value: c.value.clone(),
            error: errors
                .for_field(&format!("conditions[{i}]"))
                .unwrap_or_default()
                .to_owned(),
        })
        .collect();
    for _ in 0..2 {
        rows.push(RuleRow {
            field: String::new(),
            value: String::new(),
            error: String::new(),
        });
    }
    rows
}

#[derive(Debug, Deserialize)]
pub struct ProgrammeQuery {
    saved: Option<String>,
}

async fn programme_page<N: crate::auth::Need>(
    headers: &HeaderMap,
    user: &PageUser<N>,
    id: ProgrammeId,
    rule: Option<Rule>,
    errors: FieldErrors,
    saved: bool,
) -> Result<Response, PageError> {
    let p = user.store.relief_programme(id).await?;
    let figures = user.store.relief_figures(Some(id)).await?;
    let district_chart = BarChart {
        title: "各区县受助人数".to_owned(),
        unit: "人".to_owned(),
        bars: figures
            .by_district
            .iter()
            .map(|(d, t)| Bar {
                label: d.clone(),
                value: i64::try_from(t.people).unwrap_or(i64::MAX),
            })
            .collect(),
    }
    .to_svg();
    let month_chart = LineChart {
        title: "每月申请数".to_owned(),
        unit: "件".to_owned(),
        points: figures
            .by_month
            .iter()
            .map(|(m, t)| (m.clone(), i64::try_from(t.applications).unwrap_or(i64::MAX)))
            .collect(),
    }
    .to_svg();
    let shown = rule.unwrap_or_else(|| p.settings.rule.clone());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&ProgrammePage {
        layout: Layout::new(
            lang_of(headers),
            p.name.clone(),
            "/relief/programmes",
            Some(&user.identity),
        ),
        paid: yuan(figures.total.paid_fen),
        budget: p.settings.yearly_budget.display_yuan(),
        district_chart,
        month_chart,
        rows: rule_rows(&shown, &errors),
        any: shown.combine == Combine::Any,
        fields: Field::ALL.iter().map(|f| (f.as_str(), f.label_zh())).collect(),
        can_edit: user.identity.actor.role.can(Permission::ManageProjects),
        error: errors
            .0
            .iter()
            .filter(|e| !e.field.starts_with("conditions["))
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
        saved,
        figures,
        p,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn programme(
    headers: HeaderMap,
    user: PageUser<ViewRelief>,
    Path(id): Path<uuid::Uuid>,
    PageQuery(q): PageQuery<ProgrammeQuery>,
) -> Result<Response, PageError> {
    programme_page(
        &headers,
        &user,
        ProgrammeId(id),
        None,
        FieldErrors::new(),
        q.saved.is_some(),
    )
    .await
}

/// Saves the rule form: `combine`, then `field_i` / `value_i` rows (blank rows dropped).
pub async fn programme_rule(
    headers: HeaderMap,
    user: PageUser<crate::auth::ManageProjects>,
    Path(id): Path<uuid::Uuid>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let mut errors = FieldErrors::new();
    let mut conditions = Vec::new();
    for i in 0..22 {
        let field = form.get(&format!("field_{i}")).map(|s| s.trim()).unwrap_or_default();
        let value = form.get(&format!("value_{i}")).map(|s| s.trim()).unwrap_or_default();
        if field.is_empty() && value.is_empty() {
            continue;
        }
        match Field::parse(field) {
            Some(f) => conditions.push(Condition {
                field: f,
                op: f.operator(),
                value: value.to_owned(),
            }),
            None => errors.add("rule", format!("第 {} 行: 请选择条件", i + 1)),
        }
    }
    let rule = Rule {
        combine: Combine::parse(form.get("combine").map(String::as_str).unwrap_or("all")).unwrap_or(Combine::All),
        conditions,
    };
    if !errors.is_empty() {
        return programme_page(&headers, &user, ProgrammeId(id), Some(rule), errors, false).await;
    }
    let current = user.store.relief_programme(ProgrammeId(id)).await?;
    let settings = boai_domain::relief::Settings {
        rule: rule.clone(),
        ..current.settings
    };
    match user.store.relief_programme_update(ProgrammeId(id), settings).await {
        Ok(_) => Ok(Redirect::to(&format!("/relief/programmes/{id}?saved=1")).into_response()),
        Err(StoreError::Invalid(e)) => programme_page(&headers, &user, ProgrammeId(id), Some(rule), e, false).await,
        Err(e) => Err(e.into()),
    }
}
