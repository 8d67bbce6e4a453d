//! The start page's to-do list: what waits for the signed-in user, with a
//! count and a link to the filtered list where it is done. Each item shows
//! only to a role that may do it; an item with nothing waiting is left out.
//! Modules add their items here as they arrive.

use crate::auth::Identity;
use crate::i18n::{t, Lang};
use crate::AppState;
use boai_domain::accounts::Permission;
use boai_domain::relief::review::CaseStatus;
use boai_store::members::MemberFilter;
use boai_store::relief::CaseFilter;
use boai_store::{Page, ScopedStore, StoreError};

/// One thing waiting.
#[derive(Debug, Clone)]
pub struct Todo {
    pub label: String,
    pub count: u64,
    pub href: String,
    /// Past a deadline: shown in red.
    pub late: bool,
}

/// What waits for `identity`, most pressing first.
pub async fn todos(
    state: &AppState,
    store: &ScopedStore,
    identity: &Identity,
    lang: Lang,
) -> Result<Vec<Todo>, StoreError> {
    let role = identity.actor.role;
    let one = Page::new(Some(1), Some(1));
    let mut out = Vec::new();
    let mut add = |key: &str, count: u64, href: &str, late: bool| {
        if count > 0 {
            out.push(Todo {
                label: t(lang, key).to_owned(),
                count,
                href: href.to_owned(),
                late,
            });
        }
    };
    if role.can(Permission::ViewRelief) {
        let overdue = CaseFilter {
            overdue: true,
            ..CaseFilter::default()
        };
        let (_, late) = store.relief_cases(&overdue, one).await?;
        add("todo.relief_overdue", late, "/relief/cases?overdue=1", true);
    }
    if role.can(Permission::HandleRelief) {
        let pending = CaseFilter {
            status: Some(CaseStatus::Pending),
            ..CaseFilter::default()
        };
        let (_, n) = store.relief_cases(&pending, one).await?;
        add("todo.relief_pending", n, "/relief/cases?status=pending", false);
    }
    if role.can(Permission::ManageFunds) {
        let payable = store.relief_payable(None).await?.len() as u64;
        add("todo.relief_payable", payable, "/relief/cases?status=approved", false);
    }
    if role.can(Permission::ViewFunds) {
        let deadlines = store
            .disclosure_deadlines(&state.config.disclosure_rules, state.store.china_today())
            .await?;
        let overdue = deadlines.iter().filter(|d| d.deadline.overdue()).count() as u64;
        let soon = deadlines
            .iter()
            .filter(|d| !d.deadline.overdue() && d.deadline.due_on.is_some() && d.deadline.days_left <= 14)
            .count() as u64;
        add("todo.disclosures_overdue", overdue, "/transparency/deadlines", true);
        add("todo.disclosures_due", soon, "/transparency/deadlines", false);
    }
    if role.can(Permission::RecordGifts) {
        let (_, unreconciled) = store.bank_unreconciled().await?;
        add("todo.bank_unreconciled", unreconciled, "/fundraising/bank", false);
    }
    if role.can(Permission::ManageMembers) || role.can(Permission::ManageDues) {
        let arrears = MemberFilter {
            arrears_only: true,
            ..MemberFilter::default()
        };
        let (_, n) = store.members_list(&arrears, one).await?;
        add("todo.members_arrears", n, "/members/arrears", false);
    }
    Ok(out)
}
