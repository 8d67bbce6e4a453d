//! Reusable pieces every module's pages use: SVG charts, Excel export, list
//! paging, and the PDF donation certificate.

pub mod certificate;
pub mod chart;
pub mod confirm;
pub mod export;
pub mod list;
pub mod statement;
