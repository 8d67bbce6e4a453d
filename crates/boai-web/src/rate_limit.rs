//! Per-client rate limits for sign-in and public look-ups (CONTRACT.md: no
//! fewer than 60 requests a minute per client; 429 with Retry-After beyond).

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// A keyed limiter: each client address has its own bucket.
#[derive(Debug)]
pub struct ClientLimiter {
    limiter: RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>,
}

impl ClientLimiter {
    /// `per_minute` requests a minute per client, all of them available at once.
    pub fn per_minute(per_minute: u32) -> ClientLimiter {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        ClientLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)),
        }
    }

    /// `Ok` when the client may go on; `Err(seconds to wait)` otherwise.
    pub fn check(&self, client: Option<&str>) -> Result<(), u64> {
        let ip = client
            .and_then(|c| c.parse::<IpAddr>().ok())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_client_separately() {
        let limiter = ClientLimiter::per_minute(60);
        for _ in 0..60 {
            assert!(limiter.check(Some("10.0.0.1")).is_ok());
        }
        assert!(limiter.check(Some("10.0.0.1")).is_err());
        assert!(limiter.check(Some("10.0.0.2")).is_ok());
    }
}
