//! 健診結果: each exam of the people the member may see; the rich edition adds charts.

use super::member::Signed;
use super::records::{self, Person};
use crate::app::AppState;
use crate::checkup::rules::RuleSet;
use crate::error::AppError;
use crate::flows::checkups::{self, ChartView, ExamView};
use crate::store::RecordStore;
use crate::tenant::{Edition, Service};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

pub fn routes() -> Router<AppState> {
    Router::new().route("/checkups", get(page))
}

/// The MHLW 第4期 rule set, parsed once.
static RULES: LazyLock<Option<RuleSet>> = LazyLock::new(|| {
    RuleSet::mhlw_4th().map_err(|e| tracing::error!(error = %e, "checkup rule set unreadable")).ok()
});

#[derive(Debug, Default, Deserialize)]
struct Filters {
    person: Option<String>,
}

#[derive(Serialize)]
struct PersonExams {
    person: String,
    exams: Vec<ExamView>,
    charts: Vec<ChartView>,
}

#[derive(Serialize)]
struct Page {
    people: Vec<Person>,
    person: String,
    groups: Vec<PersonExams>,
    rich: bool,
    rule_set: String,
}

async fn page(State(state): State<AppState>, signed: Signed, Query(f): Query<Filters>) -> Response {
    match render(&state, &signed, f).await {
        Ok(r) => r,
        Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
    }
}

async fn render(state: &AppState, signed: &Signed, f: Filters) -> Result<Response, AppError> {
    let rules = RULES.as_ref().ok_or_else(|| AppError::Document("rule set".to_owned()))?;
    let scope = records::scope(signed, state, Service::Checkups, f.person.as_deref())?;
    let months = signed.kenpo.settings.retention_months;
    let from = crate::domain::Month::of(state.clock.today_in_japan()).minus(months.saturating_sub(1));
    let records_ = state.db.checkups(&scope.ids(), &format!("{from}-01")).await?;
    records::record(
        state,
        signed,
        records_.iter().map(|r| &r.member_id),
        "checkups",
        f.person.as_deref().unwrap_or_default(),
    )
    .await?;
    let rich = signed.kenpo.settings.edition == Edition::Rich;
    let mut groups = Vec::new();
    for member in &scope.selected {
        let mut exams = Vec::new();
        let mut docs = Vec::new();
        for record in records_.iter().filter(|r| r.member_id == member.id) {
            match checkups::view(record, rules, signed.locale) {
                Ok((view, doc)) => {
                    exams.push(view);
                    docs.push(doc);
                }
                // Stored documents parsed when imported; one that no longer does is logged and
                // skipped rather than hiding the others.
                Err(e) => tracing::error!(checkup = %record.id, error = %e, "stored checkup unreadable"),
            }
        }
        if exams.is_empty() {
            continue;
        }
        let charts = if rich {
            let mut oldest_first: Vec<_> = docs.iter().collect();
            oldest_first.reverse();
            checkups::charts(&oldest_first, rules, signed.locale)
        } else {
            Vec::new()
        };
        groups.push(PersonExams { person: member.name.clone(), exams, charts });
    }
    let page = Page {
        people: scope.people(),
        person: f.person.unwrap_or_default(),
        groups,
        rich,
        rule_set: rules.id.clone(),
    };
    let html = state.templates.render("checkups.html", signed.locale, &signed.chrome(), page)?;
    Ok(Html(html).into_response())
}
