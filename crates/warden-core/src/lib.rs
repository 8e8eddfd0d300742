//! Warden's domain: what the measures (工信部网安〔2017〕202号) define, with no I/O.
//!
//! Everything here is pure: time comes in as an argument (see [`clock`]), data files come in
//! as text, and every lifecycle transition returns the new state and its events or a refusal.

pub mod allowlist;
pub mod bulletin;
pub mod calendar;
pub mod clock;
pub mod indicator;
pub mod lifecycle;
pub mod membership;
pub mod notice;
pub mod org;
pub mod penalties;
pub mod policy;
pub mod resources;
pub mod stats;
pub mod taxonomy;
