//! SeaORM entities: one file per table. Ids are UUIDs, money integer fen,
//! times UTC (microseconds). These types stay inside the store; other crates
//! see the domain's records instead.

pub mod accounts;
pub mod api_tokens;
pub mod app_meta;
pub mod audit_head;
pub mod audit_log;
pub mod bank_layouts;
pub mod bank_statement_lines;
pub mod council_meetings;
pub mod council_members;
pub mod disclosures;
pub mod donor_visits;
pub mod donors;
pub mod dues_payments;
pub mod dues_rates;
pub mod gifts;
pub mod idempotency_keys;
pub mod journal_entries;
pub mod journal_lines;
pub mod ledger_checkpoints;
pub mod ledger_entries;
pub mod ledger_nodes;
pub mod member_reminders;
pub mod member_types;
pub mod members;
pub mod org_moves;
pub mod org_units;
pub mod orgs;
pub mod payment_notifications;
pub mod payment_orders;
pub mod payment_refunds;
pub mod payment_rejections;
pub mod projects;
pub mod recognition_levels;
pub mod relief_attachments;
pub mod relief_cases;
pub mod relief_notifications;
pub mod relief_programmes;
pub mod relief_reviews;
pub mod sequences;
pub mod sessions;
pub mod users;
pub mod wuyou_assessments;
pub mod wuyou_items;
