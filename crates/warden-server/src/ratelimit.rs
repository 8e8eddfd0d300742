//! A fixed-window limit per client for the endpoints that check passwords or take input
//! without an account (sign-in, HTTP Basic, public appeals). One process keeps its own counts:
//! behind several servers the limit applies per server, which is enough to stop a flood.
//!
//! A client is an IPv4 address or an IPv6 /64 (one subscriber's prefix: its addresses do not
//! each get a budget). Memory is bounded: past `cap` clients in a window, new ones share one
//! overflow budget, and each check is O(1); all counts start again with each window.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many clients one window tracks by themselves.
const CAP: usize = 100_000;
/// Clients past the cap share a budget this many times one client's.
const OVERFLOW_FACTOR: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Client {
    V4(u32),
    /// The upper 64 bits of the address.
    V6(u64),
}

impl From<IpAddr> for Client {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Client::V4(u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Client::V4(u32::from(v4)),
                None => Client::V6((u128::from(a) >> 64) as u64),
            },
        }
    }
}

struct Window {
    started: Instant,
    counts: HashMap<Client, u32>,
    overflow: u32,
}

pub struct Limiter {
    per_window: u32,
    window: Duration,
    cap: usize,
    state: Mutex<Window>,
}

impl Limiter {
    pub fn new(per_window: u32, window: Duration) -> Self {
        Limiter::with_cap(per_window, window, CAP)
    }

    fn with_cap(per_window: u32, window: Duration, cap: usize) -> Self {
        Limiter {
            per_window,
            window,
            cap,
            state: Mutex::new(Window {
                started: Instant::now(),
                counts: HashMap::new(),
                overflow: 0,
            }),
        }
    }

    /// Ok, or the seconds to wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let client = Client::from(ip);
        let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if now.duration_since(w.started) >= self.window {
            // A new window: every count starts again (the old map is dropped at once).
            *w = Window {
                started: now,
                counts: HashMap::new(),
                overflow: 0,
            };
        }
        let wait = self
            .window
            .saturating_sub(now.duration_since(w.started))
            .as_secs()
            .max(1);
        let tracked = w.counts.contains_key(&client) || w.counts.len() < self.cap;
        let (count, limit) = if tracked {
            (w.counts.entry(client).or_insert(0), self.per_window)
        } else {
            (
                &mut w.overflow,
                self.per_window.saturating_mul(OVERFLOW_FACTOR),
            )
        };
        if *count >= limit {
            return Err(wait);
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address() {
        let l = Limiter::new(2, Duration::from_secs(60));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.check(a).is_ok() && l.check(a).is_ok());
        assert!(l.check(a).is_err());
        assert!(l.check(b).is_ok());
    }

    #[test]
    fn an_ipv6_subscriber_prefix_is_one_client() {
        let l = Limiter::new(2, Duration::from_secs(60));
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(l.check(one).is_ok() && l.check(same_64).is_ok());
        assert!(l.check(same_64).is_err(), "the /64 shares one budget");
        assert!(l.check(other_64).is_ok());
        // An IPv4-mapped address is its IPv4 client.
        let v4: IpAddr = "198.51.100.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:198.51.100.7".parse().unwrap();
        assert!(l.check(v4).is_ok() && l.check(mapped).is_ok());
        assert!(l.check(v4).is_err());
    }

    #[test]
    fn memory_is_bounded_and_new_clients_share_the_overflow() {
        let l = Limiter::with_cap(1, Duration::from_secs(60), 3);
        let ip = |n: u8| IpAddr::from([203, 0, 113, n]);
        for n in 0..3 {
            assert!(l.check(ip(n)).is_ok());
        }
        // Past the cap: ten checks in all for every new client together.
        let ok = (10..40).filter(|n| l.check(ip(*n)).is_ok()).count();
        assert_eq!(ok, 10);
        let tracked = l.state.lock().unwrap().counts.len();
        assert_eq!(tracked, 3);
        // Tracked clients keep their own budget.
        assert!(l.check(ip(0)).is_err());
    }
}
