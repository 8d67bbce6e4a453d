//! Gifts and donors: the JSON API (`/api/v1/donations`, `/api/v1/donors`),
//! the staff pages, the PDF certificate and the public page that says
//! whether a certificate is genuine. The certificate's QR code carries the
//! certificate's public data signed with the installation's key; the page
//! checks the signature and then the record, so a guessed number or an
//! altered amount proves nothing.

pub mod api;
pub mod certificates;
pub mod dashboard;
pub mod major_donors;
pub mod pages;
pub mod payments;
pub mod reconciliation;
