//! Reusable pieces every module's pages use: SVG charts, Excel export, and
//! list paging.

pub mod chart;
pub mod export;
pub mod list;
