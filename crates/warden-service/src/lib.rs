//! Warden's application layer: every operation of the platform, reading what it needs,
//! calling the core's transition (which checks role, organisation and jurisdiction), and
//! committing the result with its audit records. It knows nothing of HTTP: the server, the
//! command line and the tests all drive it through [`Service`] and the types of [`proto`].

pub mod admin;
pub mod appeals;
pub mod attribution;
pub mod audit;
pub mod authentication;
pub mod blocklist;
pub mod bulletins;
pub mod cases;
pub mod clock;
pub mod credentials;
pub mod demo;
pub mod enforcement;
pub mod error;
pub mod exports;
pub mod filters;
pub mod imports;
pub mod inquiries;
pub mod install;
pub mod items;
pub mod jobs;
pub mod keys;
pub mod limits;
pub mod lookups;
pub mod notices;
pub mod organisations;
pub mod people;
pub mod probes;
pub mod proto;
pub mod registry;
pub mod reports;
pub mod seed;
pub mod service;
pub mod statistics;
mod stats_cache;
pub mod stix_index;
pub mod taxii;

pub use error::ServiceError;
pub use service::{Idem, Service, ServiceBuilder};
