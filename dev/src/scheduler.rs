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
use crate::telemetry;

/// Longest the scheduler sleeps with nothing due.
const IDLE: Duration = Duration::from_secs(3600);

/// Parses a cron expression as the service does: five fields (minute,
/// hour, day of month, month, day of week) or a descriptor (`@hourly`),
/// after an optional `CRON_TZ=UTC` or `TZ=UTC` prefix (other time zones are
/// not supported here). With `seconds`, a sixth, leading seconds field is
/// accepted too (a server setting for tests; the service refuses it).
///
/// A refusal is a 400 in the service's shape:
/// `{"error": "Invalid cron expression <why>"}`.
pub(crate) fn parse_cron(text: &str, seconds: bool) -> ApiResult<Cron> {
    let invalid = |why: String| ApiError::bad_request(format!("Invalid cron expression {why}"));
    let mut expr = text.trim();
    for prefix in ["CRON_TZ=", "TZ="] {
        if let Some(rest) = expr.strip_prefix(prefix) {
            let (zone, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            if !matches!(zone, "UTC" | "Etc/UTC" | "GMT") {
                return Err(invalid(format!(
                    "{text}: time zone `{zone}` is not supported by the development server; use UTC"
                )));
            }
            expr = rest.trim();
            break;
        }
    }
    if expr.is_empty() {
        return Err(invalid("empty spec string".into()));
    }
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let allowed = if seconds { 5..=6 } else { 5..=5 };
    if !expr.starts_with('@') && !allowed.contains(&fields.len()) {
        let expected = if seconds {
            "expected 5 to 6 fields".to_owned()
        } else {
            "expected exactly 5 fields".to_owned()
        };
        return Err(invalid(format!(
            "{expected}, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        )));
    }
    let rule = if seconds {
        Seconds::Optional
    } else {
        Seconds::Disallowed
    };
    CronParser::builder()
        .seconds(rule)
        .build()
        .parse(expr)
        .map_err(|e| invalid(format!("{expr}: {e}")))
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
    let (fired, next) = {
        let mut store = shared.lock();
        let now = now_ms();
        let due: Vec<String> = store
            .schedules
            .values()
            .filter(|s| !s.paused && s.next_time.is_some_and(|t| t <= now))
            .map(|s| s.id.clone())
            .collect();
        let fired: Vec<Fired> = due
            .iter()
            .filter_map(|id| tick(&mut store, id, now))
            .collect();
        let next = store
            .schedules
            .values()
            .filter(|s| !s.paused)
            .filter_map(|s| s.next_time)
            .min();
        (fired, next)
    };
    if !fired.is_empty() {
        shared.dispatch.notify_one();
    }
    for f in &fired {
        f.log();
    }
    next
}

/// One tick of a schedule, for the logs.
struct Fired {
    schedule_id: String,
    destination: String,
    queue: Option<String>,
    /// The messages published, or why the publish was refused.
    result: Result<Outcome, String>,
}

impl Fired {
    /// `info`, with each message at `debug`; a refusal is a `warn`.
    fn log(&self) {
        let queue = self.queue.as_deref();
        match &self.result {
            Ok(outcome) => {
                tracing::info!(
                    schedule_id = %self.schedule_id,
                    destination = %self.destination,
                    queue = queue.map(display),
                    message_ids = ?outcome.message_ids(),
                    "schedule fired"
                );
                telemetry::accepted(outcome, &self.destination, queue, Some(&self.schedule_id));
            }
            Err(error) => tracing::warn!(
                schedule_id = %self.schedule_id,
                destination = %self.destination,
                queue = queue.map(display),
                %error,
                "schedule fired; its publish was refused"
            ),
        }
    }
}

/// Publishes (or enqueues) the messages of one tick of schedule `id`.
fn tick(store: &mut Store, id: &str, now: i64) -> Option<Fired> {
    let s = store.schedules.get(id).cloned()?;
    let result = store.publish(&NewMessages {
        destination: &s.destination,
        queue: s.queue.as_deref(),
        opts: Arc::clone(&s.opts),
        body: Arc::clone(&s.body),
        schedule_id: Some(&s.id),
        caller_ip: &s.caller_ip,
    });
    let entry = store.schedules.get_mut(id)?;
    entry.last_time = Some(now);
    entry.next_time = next_time(&entry.cron, now);
    match &result {
        Ok(outcome) => {
            entry.error = None;
            entry.last_states = ids(outcome)
                .into_iter()
                .map(|m| (m, "CREATED".to_owned()))
                .collect();
        }
        Err(e) => entry.error = Some(e.message.clone()),
    }
    Some(Fired {
        schedule_id: s.id,
        destination: s.destination,
        queue: s.queue,
        result: result.map_err(|e| e.message),
    })
}

fn ids(outcome: &Outcome) -> Vec<String> {
    outcome.message_ids()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::{Config, Limits};
    use crate::model::{Options, Schedule};
    use crate::signing::SigningKeys;

    fn schedule(id: &str, next_time: i64, paused: bool) -> Schedule {
        Schedule {
            id: id.into(),
            cron_text: "* * * * *".into(),
            cron: parse_cron("* * * * *", false).unwrap(),
            destination: format!("http://127.0.0.1:1/{id}"),
            queue: None,
            created_at: 0,
            caller_ip: "127.0.0.1".into(),
            opts: Arc::new(Options::default()),
            body: Arc::default(),
            paused,
            last_time: None,
            next_time: Some(next_time),
            last_states: BTreeMap::new(),
            error: None,
        }
    }

    #[test]
    fn only_schedules_due_and_not_paused_fire() {
        let config = Config {
            retry_delay_scale: 1.0,
            limits: Limits::default(),
            region: None,
            cron_seconds: false,
        };
        let http = crate::delivery::client(Duration::from_secs(1)).unwrap();
        let shared = Shared::new(
            Store::new(config, SigningKeys::generate()),
            http,
            "t".into(),
        );
        let now = now_ms();
        let later = now + 3_600_000;
        {
            let mut store = shared.lock();
            for s in [
                schedule("later", later, false),
                schedule("paused", now - 1000, true),
                schedule("due", now - 1000, false),
            ] {
                store.schedules.insert(s.id.clone(), s);
            }
        }
        let next = fire_due(&shared).expect("a schedule to wait for");
        let store = shared.lock();
        let fired: Vec<&str> = store
            .messages
            .values()
            .map(|m| m.info.url.as_str())
            .collect();
        assert_eq!(fired, ["http://127.0.0.1:1/due"]);
        assert!(store.schedules["due"].last_time.is_some());
        assert!(store.schedules["later"].last_time.is_none());
        assert!(store.schedules["paused"].last_time.is_none());
        // The soonest of the schedules not paused: "due" fires again within
        // a minute, before "later".
        assert!(next > now && next <= now + 60_000, "{next}");
    }

    #[test]
    fn five_fields_and_descriptors() {
        let every_minute = parse_cron("* * * * *", false).unwrap();
        let t = next_time(&every_minute, 1_700_000_000_500).unwrap();
        assert_eq!(t % 60_000, 0);
        assert!(parse_cron("CRON_TZ=UTC */5 * * * *", false).is_ok());
        assert!(parse_cron("TZ=UTC */5 * * * *", false).is_ok());
        assert!(parse_cron("@hourly", false).is_ok());
        let paris = parse_cron("CRON_TZ=Europe/Paris */5 * * * *", false).unwrap_err();
        assert!(paris.message.contains("Europe/Paris"), "{}", paris.message);
    }

    #[test]
    fn six_fields_are_refused_in_the_services_shape() {
        let e = parse_cron("0 */5 * * * *", false).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(
            e.message,
            "Invalid cron expression expected exactly 5 fields, found 6: [0 */5 * * * *]"
        );
        for bad in ["", "not a cron", "61 * * * *", "* * * *", "* * * * * * *"] {
            let e = parse_cron(bad, false).unwrap_err();
            assert_eq!(e.status.as_u16(), 400);
            assert!(
                e.message.starts_with("Invalid cron expression "),
                "{bad}: {}",
                e.message
            );
        }
        assert_eq!(
            parse_cron("  ", false).unwrap_err().message,
            "Invalid cron expression empty spec string"
        );
    }

    #[test]
    fn seconds_only_when_the_server_allows_them() {
        let every_second = parse_cron("* * * * * *", true).unwrap();
        assert_eq!(
            next_time(&every_second, 1_700_000_000_500),
            Some(1_700_000_001_000)
        );
        assert!(parse_cron("* * * * *", true).is_ok());
        assert!(parse_cron("* * * * * * *", true).is_err());
    }
}
