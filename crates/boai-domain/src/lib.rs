//! Boai's rules and types. No I/O: nothing here touches a database, a socket or
//! the wall clock (time arrives through [`clock::Clock`]). Other layers call
//! down into this crate; it calls nothing of theirs.

pub mod accounts;
pub mod audit;
pub mod capitals;
pub mod clock;
pub mod fundraising;
pub mod funds;
pub mod ids;
pub mod members;
pub mod money;
pub mod network;
pub mod orgs;
pub mod privacy;
pub mod relief;
pub mod scope;
pub mod transparency;
pub mod validation;

pub use clock::{Clock, FixedClock, SystemClock};
pub use money::Fen;
