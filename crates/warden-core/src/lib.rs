//! Warden's domain: what the measures (工信部网安〔2017〕202号) define, with no I/O.

pub mod indicator;
pub mod taxonomy;
