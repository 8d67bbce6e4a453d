//! The demo's online giving, bank reconciliation and major donors (issue 5),
//! built on the gifts the funds demo recorded, adding no gift: a few paid
//! online orders for demo online gifts (with their accepted notifications),
//! two expired orders, one imported bank statement (three lines matched to
//! bank-transfer gifts, two credits unmatched, one bank fee), the default
//! recognition levels, and visits to three organisation donors (one
//! follow-up due). Deterministic; one transaction with multi-row inserts.

use super::DEMO_NAMESPACE;
use crate::audit::{append_many, AuditChange};
use crate::entities::{
    bank_statement_lines, donor_visits, donors, gifts, payment_notifications, payment_orders, projects,
    recognition_levels,
};
use crate::{Actor, Store, StoreError, StoreResult};
use boai_domain::accounts::Role;
use boai_domain::audit::AuditAction;
use boai_domain::clock::china_date;
use boai_domain::fundraising::major_donors::default_levels;
use boai_domain::fundraising::reconciliation::builtin_layouts;
use boai_domain::ids::OrgId;
use boai_domain::scope::Scope;
use chrono::Duration;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

fn id(name: &str) -> Uuid {
    Uuid::new_v5(&DEMO_NAMESPACE, name.as_bytes())
}

pub(crate) async fn seed_giving(store: &Store) -> StoreResult<()> {
    let now = store.now();
    let today = china_date(now);
    let txn = store.begin_write().await?;
    let root = crate::entities::orgs::Entity::find()
        .filter(crate::entities::orgs::Column::ParentId.is_null())
        .one(&txn)
        .await?
        .ok_or_else(|| StoreError::Corrupt("no city".into()))?;
    let system = Actor {
        user_id: None,
        username: "system".to_owned(),
        role: Role::Admin,
        org_id: OrgId(root.id),
        scope: Scope {
            org_id: OrgId(root.id),
            path: root.path.clone(),
        },
        ip: None,
    };
    let mut changes = Vec::new();
    let mut change = |entity: &'static str, entity_id: String, org: Uuid, after: serde_json::Value| {
        changes.push(AuditChange {
            action: AuditAction::Create,
            entity,
            entity_id,
            org_id: OrgId(org),
            before: None,
            after: Some(after),
        })
    };

    // Recognition levels.
    let levels = default_levels();
    recognition_levels::Entity::insert_many(levels.iter().map(|l| recognition_levels::ActiveModel {
        id: Set(id(&format!("level-{}", l.threshold_fen))),
        threshold_fen: Set(l.threshold_fen),
        title: Set(l.title.clone()),
        created_at: Set(now),
    }))
    .exec_without_returning(&txn)
    .await?;
    change(
        "recognition_levels",
        "levels".to_owned(),
        root.id,
        serde_json::to_value(&levels).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    );

    // Paid online orders for the first demo online gifts.
    let online: Vec<gifts::Model> = gifts::Entity::find()
        .filter(gifts::Column::Channel.eq("online"))
        .filter(gifts::Column::Status.eq("confirmed"))
        .order_by_asc(gifts::Column::CertificateNo)
        .limit(3)
        .all(&txn)
        .await?;
    let names: std::collections::HashMap<Uuid, String> = projects::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let general = projects::Entity::find()
        .filter(projects::Column::Kind.eq("general"))
        .one(&txn)
        .await?
        .ok_or_else(|| StoreError::Corrupt("no general fund".into()))?;
    let mut orders = Vec::new();
    let mut notices = Vec::new();
    for (n, g) in online.iter().enumerate() {
        let no = format!("G{}", id(&format!("order-{}", g.certificate_no)).simple());
        let txn_id = format!("SBXDEMO{:04}", n + 1);
        orders.push(payment_orders::ActiveModel {
            id: Set(id(&format!("order-row-{}", g.certificate_no))),
            out_trade_no: Set(no.clone()),
            provider: Set("sandbox".to_owned()),
            project_id: Set(g.project_id),
            org_id: Set(g.org_id),
            amount_fen: Set(g.amount_fen),
            currency: Set("CNY".to_owned()),
            description: Set(format!(
                "捐赠-{}",
                names.get(&g.project_id).cloned().unwrap_or_default()
            )),
            donor_kind: Set(None),
            donor_name: Set(None),
            donor_phone_enc: Set(None),
            donor_id_card_enc: Set(None),
            donor_credit_code: Set(None),
            donor_public: Set(false),
            status: Set("paid".to_owned()),
            expires_at: Set(g.created_at + Duration::minutes(30)),
            transaction_id: Set(Some(txn_id.clone())),
            paid_at: Set(Some(g.created_at)),
            gift_id: Set(Some(g.id)),
            refunded_fen: Set(0),
            created_at: Set(g.created_at),
            updated_at: Set(g.created_at),
        });
        notices.push(payment_notifications::ActiveModel {
            id: Set(id(&format!("notice-{}", g.certificate_no))),
            provider: Set("sandbox".to_owned()),
            notification_id: Set(id(&format!("notice-id-{}", g.certificate_no)).to_string()),
            kind: Set("payment".to_owned()),
            out_trade_no: Set(no.clone()),
            transaction_id: Set(Some(txn_id)),
            out_refund_no: Set(None),
            amount_fen: Set(g.amount_fen),
            received_at: Set(g.created_at),
        });
        change(
            "payment_order",
            no,
            g.org_id,
            serde_json::json!({"status": "paid", "gift_id": g.id, "amount_fen": g.amount_fen}),
        );
    }
    for (n, fen) in [5_000i64, 20_000].into_iter().enumerate() {
        let no = format!("G{}", id(&format!("expired-order-{n}")).simple());
        let created = now - Duration::days(2 + n as i64);
        orders.push(payment_orders::ActiveModel {
            id: Set(id(&format!("expired-order-row-{n}"))),
            out_trade_no: Set(no.clone()),
            provider: Set("sandbox".to_owned()),
            project_id: Set(general.id),
            org_id: Set(general.org_id),
            amount_fen: Set(fen),
            currency: Set("CNY".to_owned()),
            description: Set(format!("捐赠-{}", general.name)),
            donor_kind: Set(None),
            donor_name: Set(None),
            donor_phone_enc: Set(None),
            donor_id_card_enc: Set(None),
            donor_credit_code: Set(None),
            donor_public: Set(false),
            status: Set("expired".to_owned()),
            expires_at: Set(created + Duration::minutes(30)),
            transaction_id: Set(None),
            paid_at: Set(None),
            gift_id: Set(None),
            refunded_fen: Set(0),
            created_at: Set(created),
            updated_at: Set(created + Duration::minutes(31)),
        });
        change(
            "payment_order",
            no,
            general.org_id,
            serde_json::json!({"status": "expired", "amount_fen": fen}),
        );
    }
    if !orders.is_empty() {
        payment_orders::Entity::insert_many(orders)
            .exec_without_returning(&txn)
            .await?;
    }
    if !notices.is_empty() {
        payment_notifications::Entity::insert_many(notices)
            .exec_without_returning(&txn)
            .await?;
    }

    // One imported statement: three bank transfers matched, two credits
    // unmatched, one fee.
    let transfers: Vec<gifts::Model> = gifts::Entity::find()
        .filter(gifts::Column::Channel.eq("bank_transfer"))
        .filter(gifts::Column::Status.eq("confirmed"))
        .order_by_asc(gifts::Column::CertificateNo)
        .limit(3)
        .all(&txn)
        .await?;
    let layout = builtin_layouts().into_iter().next().map(|l| l.name).unwrap_or_default();
    let batch = id("statement-1");
    let mut lines = Vec::new();
    let mut line = |n: usize, date, fen: i64, party: &str, memo: &str, status: &str, gift: Option<Uuid>| {
        let reference = format!("DEMO{:06}", n);
        lines.push(bank_statement_lines::ActiveModel {
            id: Set(id(&format!("line-{reference}"))),
            org_id: Set(root.id),
            reference: Set(reference.clone()),
            txn_date: Set(date),
            amount_fen: Set(fen),
            counterparty: Set(party.to_owned()),
            counterparty_account: Set(None),
            memo: Set(memo.to_owned()),
            layout: Set(layout.clone()),
            batch_id: Set(batch),
            status: Set(status.to_owned()),
            gift_id: Set(gift),
            proposed_gift_id: Set(gift),
            imported_by: Set("caiwu".to_owned()),
            imported_at: Set(now),
            reconciled_by: Set(gift.map(|_| "caiwu".to_owned())),
            reconciled_at: Set(gift.map(|_| now)),
        });
        (reference, fen, status.to_owned())
    };
    let mut recorded = Vec::new();
    for (n, g) in transfers.iter().enumerate() {
        recorded.push(line(
            n + 1,
            g.received_on,
            g.amount_fen,
            "捐赠人",
            "捐款",
            "matched",
            Some(g.id),
        ));
    }
    recorded.push(line(
        11,
        today - Duration::days(3),
        20_000,
        "济南某商贸有限公司",
        "爱心捐款",
        "unmatched",
        None,
    ));
    recorded.push(line(
        12,
        today - Duration::days(12),
        3_333,
        "王某",
        "汇款",
        "unmatched",
        None,
    ));
    recorded.push(line(
        13,
        today - Duration::days(1),
        -1_500,
        "本行",
        "手续费",
        "debit",
        None,
    ));
    bank_statement_lines::Entity::insert_many(lines)
        .exec_without_returning(&txn)
        .await?;
    for (reference, fen, status) in recorded {
        change(
            "bank_statement_line",
            reference.clone(),
            root.id,
            serde_json::json!({"reference": reference, "amount_fen": fen, "status": status, "batch_id": batch}),
        );
    }

    // Visits to three organisation donors.
    let orgs: Vec<donors::Model> = donors::Entity::find()
        .filter(donors::Column::Kind.eq("organisation"))
        .order_by_asc(donors::Column::Name)
        .limit(3)
        .all(&txn)
        .await?;
    let mut visits = Vec::new();
    for (n, d) in orgs.iter().enumerate() {
        let visited = today - Duration::days(20 + 10 * n as i64);
        let (follow_up, done) = match n {
            0 => (Some(today - Duration::days(1)), false),
            1 => (Some(today + Duration::days(14)), false),
            _ => (Some(visited + Duration::days(7)), true),
        };
        let vid = id(&format!("visit-{}", d.id));
        visits.push(donor_visits::ActiveModel {
            id: Set(vid),
            donor_id: Set(d.id),
            org_id: Set(root.id),
            visited_on: Set(visited),
            visitor: Set("市红十字会 募捐部".to_owned()),
            notes: Set(Some("介绍年度救助项目进展, 送达年度捐赠明细".to_owned())),
            follow_up_on: Set(follow_up),
            follow_up_done: Set(done),
            created_by: Set("shi".to_owned()),
            created_at: Set(now),
        });
        change(
            "donor_visit",
            vid.to_string(),
            root.id,
            serde_json::json!({"donor_id": d.id, "visited_on": visited, "follow_up_on": follow_up}),
        );
    }
    if !visits.is_empty() {
        donor_visits::Entity::insert_many(visits)
            .exec_without_returning(&txn)
            .await?;
    }
    append_many(&txn, &system, now, changes).await?;
    txn.commit().await?;
    Ok(())
}
