//! The fundraising dashboard's figures (issue 5): gifts in scope, net of
//! refunds, by channel, by month (China dates, the last 12 months), by
//! district (the gift's organisation's district branch), by project (top
//! ten), the online share (online, WeChat, Alipay), and the bank credits not
//! yet reconciled. Sums are taken in the database (cast to BIGINT: a
//! PostgreSQL SUM of bigint is NUMERIC) and folded here.

use crate::entities::{gifts, orgs, projects};
use crate::{ScopedStore, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::clock::china_date;
use boai_domain::fundraising::Channel;
use boai_domain::money::Fen;
use chrono::{Datelike, NaiveDate};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// The dashboard's figures.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Dashboard {
    pub total: Fen,
    pub gifts: i64,
    /// (channel, net amount, count), largest first.
    pub by_channel: Vec<(Channel, Fen, i64)>,
    /// ("YYYY-MM", net amount) for the last 12 months, oldest first.
    pub by_month: Vec<(String, Fen)>,
    /// (district name, net amount), largest first.
    pub by_district: Vec<(String, Fen)>,
    /// (project name, net amount), largest first, at most ten.
    pub top_projects: Vec<(String, Fen)>,
    /// Online, WeChat and Alipay together.
    pub online: Fen,
    /// Per mille of the total.
    pub online_share_permille: i64,
    pub unreconciled: Fen,
    pub unreconciled_lines: u64,
}

impl ScopedStore {
    /// The fundraising dashboard of the caller's scope.
    pub async fn fundraising_dashboard(&self) -> StoreResult<Dashboard> {
        self.actor.require(Permission::ViewGifts)?;
        let net = || Expr::cust("CAST(SUM(amount_fen - refunded_fen) AS BIGINT)");
        let count = || Expr::cust("CAST(COUNT(*) AS BIGINT)");
        let by_channel: Vec<(String, i64, i64)> = self
            .select::<gifts::Entity>()
            .select_only()
            .column(gifts::Column::Channel)
            .expr_as(net(), "net")
            .expr_as(count(), "n")
            .group_by(gifts::Column::Channel)
            .into_tuple()
            .all(&self.store.read)
            .await?;
        let today = china_date(self.store.now());
        let start = NaiveDate::from_ymd_opt(today.year() - 1, today.month(), 1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
            .unwrap_or(today);
        let by_day: Vec<(NaiveDate, i64)> = self
            .select::<gifts::Entity>()
            .filter(gifts::Column::ReceivedOn.gte(start))
            .select_only()
            .column(gifts::Column::ReceivedOn)
            .expr_as(net(), "net")
            .group_by(gifts::Column::ReceivedOn)
            .into_tuple()
            .all(&self.store.read)
            .await?;
        let by_org: Vec<(Uuid, i64)> = self
            .select::<gifts::Entity>()
            .select_only()
            .column(gifts::Column::OrgId)
            .expr_as(net(), "net")
            .group_by(gifts::Column::OrgId)
            .into_tuple()
            .all(&self.store.read)
            .await?;
        let by_project: Vec<(Uuid, i64)> = self
            .select::<gifts::Entity>()
            .select_only()
            .column(gifts::Column::ProjectId)
            .expr_as(net(), "net")
            .group_by(gifts::Column::ProjectId)
            .into_tuple()
            .all(&self.store.read)
            .await?;
        let mut d = Dashboard::default();
        for (c, sum, n) in by_channel {
            let Some(channel) = Channel::parse(&c) else { continue };
            d.total.0 += sum;
            d.gifts += n;
            if matches!(channel, Channel::Online | Channel::Wechat | Channel::Alipay) {
                d.online.0 += sum;
            }
            d.by_channel.push((channel, Fen(sum), n));
        }
        d.by_channel.sort_by_key(|c| std::cmp::Reverse(c.1));
        d.online_share_permille = if d.total.0 > 0 {
            d.online.0 * 1000 / d.total.0
        } else {
            0
        };
        let mut months: BTreeMap<String, i64> = BTreeMap::new();
        let mut m = start;
        while m <= today {
            months.insert(m.format("%Y-%m").to_string(), 0);
            m = m
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(today + chrono::Days::new(1));
        }
        for (day, sum) in by_day {
            *months.entry(day.format("%Y-%m").to_string()).or_default() += sum;
        }
        d.by_month = months.into_iter().map(|(k, v)| (k, Fen(v))).collect();
        // District of each organisation: the second segment of its path.
        let all_orgs = orgs::Entity::find().all(&self.store.read).await?;
        let by_id: HashMap<Uuid, &orgs::Model> = all_orgs.iter().map(|o| (o.id, o)).collect();
        let mut districts: HashMap<String, i64> = HashMap::new();
        for (org, sum) in by_org {
            let name = by_id
                .get(&org)
                .and_then(|o| {
                    let seg = o.path.trim_matches('/').split('/').nth(1)?;
                    let id: Uuid = seg.parse().ok()?;
                    by_id.get(&id).map(|d| d.name.clone())
                })
                .unwrap_or_else(|| "市本级".to_owned());
            *districts.entry(name).or_default() += sum;
        }
        d.by_district = districts.into_iter().map(|(k, v)| (k, Fen(v))).collect();
        d.by_district.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let names: HashMap<Uuid, String> = projects::Entity::find()
            .filter(projects::Column::Id.is_in(by_project.iter().map(|p| p.0).collect::<Vec<_>>()))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        d.top_projects = by_project
            .into_iter()
            .map(|(id, sum)| (names.get(&id).cloned().unwrap_or_default(), Fen(sum)))
            .collect();
        d.top_projects.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        d.top_projects.truncate(10);
        let (unreconciled, lines) = self.bank_unreconciled().await?;
        d.unreconciled = unreconciled;
        d.unreconciled_lines = lines;
        Ok(d)
    }
}
