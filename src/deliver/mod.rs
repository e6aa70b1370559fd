//! Delivery: schedules, the outbox, rate limits and retries, and the adapter seam.
pub mod schedule;
