//! The gift writer's rows: [`BulkGiftWriter::build_rows`], THE place a
//! gift's plan becomes rows (journal entry and lines, ledger entry and tree
//! nodes, gift row, audit changes), and the statements a batch's rows make.

use super::*;

/// A gift's row: what staff see of it ([`Gift`]) and its commitment's salt.
pub(super) fn gift_row(gift: &Gift, commitment_salt: String) -> gifts::ActiveModel {
    let goods = gift.goods.as_ref();
    gifts::ActiveModel {
        id: Set(gift.id.0),
        certificate_no: Set(gift.certificate_no.clone()),
        donor_id: Set(gift.donor_id.map(|d| d.0)),
        project_id: Set(gift.project_id.0),
        org_id: Set(gift.org_id.0),
        channel: Set(gift.channel.as_str().to_owned()),
        amount_fen: Set(gift.amount.0),
        status: Set(gift.status.as_str().to_owned()),
        refunded_fen: Set(gift.refunded.0),
        goods_item: Set(goods.map(|g| g.item.clone())),
        goods_quantity: Set(goods.map(|g| g.quantity)),
        goods_unit: Set(goods.map(|g| g.unit.clone())),
        goods_lot: Set(goods.and_then(|g| g.lot.clone())),
        goods_expires_on: Set(goods.and_then(|g| g.expires_on)),
        received_on: Set(gift.received_on),
        note: Set(gift.note.clone()),
        journal_entry_id: Set(gift.journal_entry_id.0),
        ledger_index: Set(gift.ledger_index),
        commitment_salt: Set(Some(commitment_salt)),
        created_by: Set(gift.created_by.clone()),
        created_at: Set(gift.created_at),
    }
}

/// The first number of each sequence a batch takes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Numbers {
    pub(super) certificate: i64,
    pub(super) journal: i64,
    /// The first ledger index (the log's size before the batch).
    pub(super) ledger: u64,
}

/// A batch's rows, built in memory.
pub(super) struct BatchRows {
    pub(super) entry_rows: Vec<journal_entries::ActiveModel>,
    pub(super) line_rows: Vec<journal_lines::ActiveModel>,
    pub(super) ledger_rows: Vec<ledger_entries::ActiveModel>,
    pub(super) node_rows: Vec<ledger_nodes::ActiveModel>,
    pub(super) gift_rows: Vec<gifts::ActiveModel>,
    /// Balance moves per account, in account order (none negative).
    pub(super) moves: Vec<(uuid::Uuid, i64)>,
    /// Money raised per project and the time of its last gift, in project order.
    pub(super) projects_moved: Vec<(uuid::Uuid, (i64, DateTime<Utc>))>,
    /// Audit changes in chain order, with the position of the gift (and so
    /// the actor and time) each belongs to.
    pub(super) audit: Vec<(usize, AuditChange<'static>)>,
    pub(super) written: Vec<Gift>,
}

impl BatchRows {
    /// The statements that write the rows (all but the audit chain's) and
    /// move the balances and project totals.
    pub(super) fn statements(&mut self, backend: sea_orm::DbBackend) -> Vec<sea_orm::Statement> {
        use sea_orm::QueryTrait;
        let mut out = Vec::new();
        out.extend(insert_statements(backend, std::mem::take(&mut self.entry_rows)));
        out.extend(insert_statements(backend, std::mem::take(&mut self.line_rows)));
        out.extend(insert_statements(backend, std::mem::take(&mut self.ledger_rows)));
        out.extend(insert_statements(backend, std::mem::take(&mut self.node_rows)));
        out.extend(insert_statements(backend, std::mem::take(&mut self.gift_rows)));
        if !self.moves.is_empty() {
            // One statement for every account the batch moved.
            let mut by_account = sea_orm::sea_query::CaseStatement::new();
            for (account, delta) in &self.moves {
                by_account = by_account.case(accounts::Column::Id.eq(*account), Expr::val(*delta));
            }
            out.push(
                accounts::Entity::update_many()
                    .col_expr(
                        accounts::Column::BalanceFen,
                        Expr::col(accounts::Column::BalanceFen).add(Expr::expr(by_account.finally(Expr::val(0i64)))),
                    )
                    .filter(accounts::Column::Id.is_in(self.moves.iter().map(|(account, _)| *account)))
                    .build(backend),
            );
        }
        for (project, (amount, at)) in &self.projects_moved {
            out.push(
                projects::Entity::update_many()
                    .col_expr(
                        projects::Column::RaisedFen,
                        Expr::col(projects::Column::RaisedFen).add(*amount),
                    )
                    .col_expr(projects::Column::UpdatedAt, Expr::value(*at))
                    .filter(projects::Column::Id.eq(*project))
                    .build(backend),
            );
        }
        out
    }
}

impl BulkGiftWriter {
    /// Builds every row of `batch` (all but the audit chain's) with the
    /// numbers it was given, moving the frontier (and, when seeding, the
    /// digest) past it: THE place a gift's rows are made, from the plan
    /// `boai_domain::fundraising::plan` makes of it. No database access.
    pub(super) fn build_rows(
        &mut self,
        store: &Store,
        batch: &[BulkGift],
        donor_ids: Vec<Option<DonorId>>,
        donor_changes: Vec<Option<AuditChange<'static>>>,
        numbers: Numbers,
    ) -> StoreResult<BatchRows> {
        let n = batch.len();
        let mut entry_rows = Vec::with_capacity(n);
        let mut line_rows = Vec::with_capacity(2 * n);
        let mut ledger_rows = Vec::with_capacity(n);
        let mut node_rows = Vec::with_capacity(2 * n);
        let mut gift_rows = Vec::with_capacity(n);
        let mut audit = Vec::with_capacity(n + 8);
        let mut written = Vec::with_capacity(n);
        let mut balance_moves: HashMap<uuid::Uuid, i64> = HashMap::new();
        let mut raised: HashMap<uuid::Uuid, (i64, DateTime<Utc>)> = HashMap::new();

        for (i, (g, (donor_id, donor_change))) in batch.iter().zip(donor_ids.into_iter().zip(donor_changes)).enumerate()
        {
            let index = numbers.ledger + i as u64;
            let draw = GiftDraw {
                gift_id: GiftId(store.draws.id(Drawn::Gift, g.at)),
                entry_id: JournalEntryId(store.draws.id(Drawn::JournalEntry, g.at)),
                commitment_salt: store.draws.salt(),
            };
            let gift_numbers = GiftNumbers {
                certificate: numbers.certificate + i as i64,
                journal_seq: numbers.journal + i as i64,
                ledger_index: index,
            };
            let planned = plan::plan(&g.input, g.at, &self.city_code, gift_numbers, draw)
                .map_err(|e| funds_error(e, "amount_fen"))?;
            let entry = JournalEntry {
                id: planned.entry_id,
                seq: planned.journal_seq,
                at: g.at,
                kind: planned.entry.kind,
                project_id: planned.entry.project,
                amount: planned.entry.amount,
                reverses_id: None,
                gift_id: Some(planned.gift.id.0),
                counterparty: None,
                memo: None,
                decision_ref: None,
                ledger_index: Some(to_i64(index)?),
            };
            entry_rows.push(entry_row(&entry, g.actor.org_id, &g.actor.username));
            for (line_no, line) in planned.entry.lines.iter().enumerate() {
                let account = *self.accounts.get(&(line.fund.0, line.account)).ok_or_else(|| {
                    StoreError::Corrupt(format!("fund {} has no {} account", line.fund, line.account.as_str()))
                })?;
                *balance_moves.entry(account).or_default() += line.balance_delta();
                line_rows.push(line_row(entry.id, line_no, account, line));
            }
            let net = net_deltas(&planned.entry.lines);
            for (fund, delta) in &net {
                let (r, _, _, _) = funds::totals_delta(entry.kind, None, *delta);
                let slot = raised.entry(fund.0).or_insert((0, g.at));
                slot.0 += r;
                slot.1 = g.at;
            }
            let meta = EntryMeta {
                gift_id: entry.gift_id,
                public_donor: Some(planned.public_donor.clone()),
                commitment: Some(boai_ledger::commitment(
                    &planned.gift.certificate_no,
                    &planned.committed_name,
                    &planned.gift.commitment_salt,
                )),
                ..EntryMeta::default()
            };
            let public = ledger_entry_for(&entry, &net, &meta);
            if self.seeding {
                self.digest
                    .add(&public)
                    .map_err(|e| StoreError::Corrupt(format!("ledger digest: {e}")))?;
            }
            let body = public
                .to_canonical()
                .map_err(|e| StoreError::Corrupt(format!("ledger entry: {e}")))?;
            let leaf = tree::leaf_hash(&body);
            let siblings: Vec<Hash> = tree::left_siblings(index)
                .iter()
                .map(|id| {
                    self.frontier
                        .get(id)
                        .copied()
                        .ok_or_else(|| StoreError::Corrupt(format!("ledger: node {id:?} missing")))
                })
                .collect::<StoreResult<_>>()?;
            for (id, hash) in tree::appended(index, leaf, &siblings).map_err(|e| StoreError::Corrupt(e.to_string()))? {
                self.frontier.insert(id, hash);
                node_rows.push(ledger_nodes::ActiveModel {
                    level: Set(i16::from(id.level)),
                    idx: Set(to_i64(id.index)?),
                    hash: Set(hash.0.to_vec()),
                });
            }
            ledger_rows.push(ledger_entries::ActiveModel {
                idx: Set(to_i64(index)?),
                journal_id: Set(entry.id.0),
                body: Set(body),
            });
            let donor = g.input.donor.as_ref();
            let project_name = self.projects.get(&planned.gift.project_id.0).map(|p| p.name.clone());
            let salt = planned.gift.commitment_salt.clone();
            let gift = Gift {
                id: planned.gift.id,
                certificate_no: planned.gift.certificate_no,
                donor_id,
                donor_kind: donor.map(DonorForCreate::kind),
                donor_name: donor.map(|d| d.name().to_owned()),
                public_name: planned.public_donor,
                project_id: planned.gift.project_id,
                project_name: project_name.unwrap_or_default(),
                org_id: g.actor.org_id,
                channel: planned.gift.channel,
                amount: planned.gift.amount,
                status: GiftStatus::Confirmed,
                refunded: Fen::ZERO,
                goods: planned.gift.goods,
                received_on: planned.gift.received_on,
                note: planned.gift.note,
                journal_entry_id: entry.id,
                ledger_index: entry.ledger_index,
                created_by: g.actor.username.clone(),
                created_at: planned.gift.at,
            };
            gift_rows.push(gift_row(&gift, salt));
            if let Some(change) = donor_change {
                audit.push((i, change));
            }
            audit.push((
                i,
                AuditChange {
                    action: AuditAction::Create,
                    entity: "gift",
                    entity_id: gift.id.to_string(),
                    org_id: gift.org_id,
                    before: None,
                    after: Some(gift_audit(&gift)),
                },
            ));
            written.push(gift);
        }
        // Only the right edge of the tree is ever a left sibling again.
        let next = numbers.ledger + n as u64;
        let keep = tree::frontier(next);
        self.frontier.retain(|id, _| keep.contains(id));
        self.frontier_at = next;

        let mut moves: Vec<(uuid::Uuid, i64)> = balance_moves.into_iter().collect();
        moves.sort();
        if moves.iter().any(|(_, delta)| *delta < 0) {
            return Err(StoreError::Corrupt("a gift cannot lower a balance".into()));
        }
        let mut projects_moved: Vec<_> = raised.into_iter().collect();
        projects_moved.sort_by_key(|(id, _)| *id);
        Ok(BatchRows {
            entry_rows,
            line_rows,
            ledger_rows,
            node_rows,
            gift_rows,
            moves,
            projects_moved,
            audit,
            written,
        })
    }
}
