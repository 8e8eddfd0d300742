//! The simulated clock of training instances (DESIGN §5.2, Art. 7's training).

use crate::error::ServiceError;
use crate::proto::*;
use crate::service::{Result, Service};
use warden_core::lifecycle::*;
use warden_core::org::Actor;

impl Service {
    /// DESIGN §5.2: moves the simulated clock; 404 when the server runs on the system clock.
    pub fn advance_clock(&self, actor: &Actor, seconds: i64) -> Result<ClockResponse> {
        let Some(sim) = &self.simulated else {
            return Err(ServiceError::NotFound(
                "the clock (this server runs on the system clock)".into(),
            ));
        };
        if !can_advance_clock(actor) {
            return Err(Refusal {
                code: RefusalCode::Role,
                message: "only admins of the ministry may move the clock".into(),
            }
            .into());
        }
        if !(0..=10 * 366 * 86_400).contains(&seconds) {
            return Err(ServiceError::InvalidBody(
                "seconds: from 0 to ten years; the clock never goes back".into(),
            ));
        }
        let now = sim
            .advance(time::Duration::seconds(seconds))
            .map_err(|e| ServiceError::InvalidBody(e.into()))?;
        tracing::info!(seconds, by = %actor.label(), "simulated clock advanced");
        Ok(ClockResponse {
            now: now.to_offset(warden_core::calendar::SHANGHAI),
        })
    }
}
