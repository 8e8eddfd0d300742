//! What Warden says and hears over the standard threat-sharing interfaces: STIX 2.1 objects
//! (built with serde: there is no maintained STIX crate), the STIX patterns Warden writes and
//! reads, and the TAXII 2.1 resources. No storage, no HTTP: the server turns its records into
//! these types and back.

pub mod feed;
pub mod ids;
pub mod inbound;
pub mod map;
pub mod misp;
pub mod pattern;
pub mod stix;
pub mod stream;
pub mod taxii;
pub mod threat;

pub use stix::Ts;
