//! The lifecycle of DESIGN §2 as pure state machines. Each transition is a function of
//! (actor, current state, command, now) that returns the new state and the events to record,
//! or a typed refusal. Role, organisation, jurisdiction and separation of duties are checked
//! here, whatever the entry point.

mod appeal;
mod case;
pub(crate) mod common;
mod enforcement;
mod inquiry;
mod measure;
mod offers;
mod visibility;

pub use appeal::*;
pub use case::*;
pub use common::*;
pub use enforcement::*;
pub use inquiry::*;
pub use measure::*;
pub use offers::*;
pub use visibility::*;
