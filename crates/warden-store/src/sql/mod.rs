//! The storage logic, written once for both backends: the store (`store`), the commit path
//! and its group committer (`committer`, `commit`), and one module per concern, each
//! implementing its trait. Rows are read by column name, next to their queries.

mod blocklist;
mod bulk;
mod cases;
mod codec;
mod commit;
mod committer;
mod deep;
mod imports;
mod jobs;
mod notices;
mod organisations;
mod sessions;
mod stats;
mod store;
mod timings;
mod trail;

pub use store::SqlStore;
