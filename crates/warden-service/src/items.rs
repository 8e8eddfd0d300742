//! The items TAXII collections are made of, and the cache of the public one.

use std::sync::Arc;
use warden_interop::stix::Ts;

/// One version of one object in a collection, with when it was added.
#[derive(Clone)]
pub struct Item {
    /// The object, serialised.
    pub json: String,
    pub kind: &'static str,
    pub id: String,
    pub version: Ts,
    pub added: time::OffsetDateTime,
    /// Where the next page starts after this item.
    pub cursor: i64,
}

/// The public collection of publications as last built, and when.
pub(crate) type PublicationsCache = std::sync::Mutex<Option<(std::time::Instant, Arc<Vec<Item>>)>>;
