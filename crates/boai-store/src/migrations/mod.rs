//! Forward-only migrations, the same on SQLite and PostgreSQL (written with
//! sea-query's schema builder, never backend-specific SQL). A migration once
//! released is never edited: add a new one.

use sea_orm_migration::prelude::*;

mod common;
mod m0001_platform;
mod m0002_funds;
mod m0003_ledger;
mod m0004_transparency;
pub mod m0005_network;
mod m0006_members;
mod m0007_relief;
mod m0008_giving;
mod m0009_privacy;
mod m0010_gift_journal_index;
mod m0011_ledger_nodes_clustered;
mod m0012_throttles;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_platform::Migration),
            Box::new(m0002_funds::Migration),
            Box::new(m0003_ledger::Migration),
            Box::new(m0004_transparency::Migration),
            Box::new(m0005_network::Migration),
            Box::new(m0006_members::Migration),
            Box::new(m0007_relief::Migration),
            Box::new(m0008_giving::Migration),
            Box::new(m0009_privacy::Migration),
            Box::new(m0010_gift_journal_index::Migration),
            Box::new(m0011_ledger_nodes_clustered::Migration),
            Box::new(m0012_throttles::Migration),
        ]
    }
}
