//! The indicator engine: an in-memory matcher over every active block measure's target
//! (addresses and networks by longest prefix, domains with or without subdomains, URLs by
//! lookup expressions, exact sets), the false-positive guards, and the blocklist renderers.
//! No storage and no HTTP: the server feeds it entries and changes.

pub mod allow;
pub mod attribution;
pub mod delta;
pub mod digests;
pub mod index;
pub mod live;
pub mod render;
pub mod sets;
pub mod strmap;
pub mod synth;
pub mod table;

pub use allow::{AllowEntry, AllowTarget, Allowlist};
pub use index::{Entry, Index};
pub use live::{Change, Live, Snapshot};
pub use render::{Format, Options, RpzAction};
