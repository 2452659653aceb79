//! Cron schedules: parsing and the task that fires them.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};

use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::state::Shared;
use crate::store::{NewMessages, Outcome, Store};

/// Longest the scheduler sleeps with nothing due.
const IDLE: Duration = Duration::from_secs(3600);

/// Parses a cron expression: 5 fields, or 6 with seconds first; a
/// `CRON_TZ=UTC` prefix is accepted (other time zones are not supported).
pub(crate) fn parse_cron(text: &str) -> ApiResult<Cron> {
    let mut expr = text.trim();
    if let Some(rest) = expr.strip_prefix("CRON_TZ=") {
        let (zone, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        if !matches!(zone, "UTC" | "Etc/UTC" | "GMT") {
            return Err(ApiError::bad_request(format!(
                "time zone `{zone}` is not supported by the development server; use UTC"
            )));
        }
        expr = rest.trim();
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expr)
        .map_err(|e| ApiError::bad_request(format!("invalid cron expression `{text}`: {e}")))
}

/// The first time after `after_ms` (Unix milliseconds) that `cron` fires.
pub(crate) fn next_time(cron: &Cron, after_ms: i64) -> Option<i64> {
    let after: DateTime<Utc> = DateTime::from_timestamp_millis(after_ms)?;
    cron.find_next_occurrence(&after, false)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Runs until aborted.
pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        let wake = fire_due(&shared);
        let sleep = wake.map_or(IDLE, |at| {
            Duration::from_millis(u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0))
        });
        tokio::select! {
            () = shared.schedules_changed.notified() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Fires every due schedule; returns when the next one is due.
fn fire_due(shared: &Shared) -> Option<i64> {
    let mut store = shared.lock();
    let now = now_ms();
    let due: Vec<String> = store
        .schedules
        .values()
        .filter(|s| !s.paused && s.next_time.is_some_and(|t| t <= now))
        .map(|s| s.id.clone())
        .collect();
    for id in &due {
        tick(&mut store, id, now);
    }
    if !due.is_empty() {
        shared.dispatch.notify_one();
    }
    store
        .schedules
        .values()
        .filter(|s| !s.paused)
        .filter_map(|s| s.next_time)
        .min()
}

/// Publishes (or enqueues) the messages of one tick of schedule `id`.
fn tick(store: &mut Store, id: &str, now: i64) {
    let Some(s) = store.schedules.get(id).cloned() else {
        return;
    };
    let result = store.publish(&NewMessages {
        destination: &s.destination,
        queue: s.queue.as_deref(),
        opts: Arc::clone(&s.opts),
        schedule_id: Some(&s.id),
        caller_ip: &s.caller_ip,
    });
    let Some(s) = store.schedules.get_mut(id) else {
        return;
    };
    s.last_time = Some(now);
    s.next_time = next_time(&s.cron, now);
    match result {
        Ok(outcome) => {
            s.error = None;
            s.last_states = ids(&outcome)
                .into_iter()
                .map(|m| (m, "CREATED".to_owned()))
                .collect();
        }
        Err(e) => s.error = Some(e.message),
    }
}

fn ids(outcome: &Outcome) -> Vec<String> {
    outcome.message_ids()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_and_six_fields() {
        let every_minute = parse_cron("* * * * *").unwrap();
        let t = next_time(&every_minute, 1_700_000_000_500).unwrap();
        assert_eq!(t % 60_000, 0);
        let every_second = parse_cron("* * * * * *").unwrap();
        assert_eq!(
            next_time(&every_second, 1_700_000_000_500),
            Some(1_700_000_001_000)
        );
        assert!(parse_cron("CRON_TZ=UTC */5 * * * *").is_ok());
        assert!(parse_cron("CRON_TZ=Europe/Paris */5 * * * *").is_err());
        assert!(parse_cron("not a cron").is_err());
    }
}
