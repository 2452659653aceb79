//! Dev mode: the official local dev server's address and its public
//! credentials, as the official SDKs use them (qstash-js
//! `src/dev-server/constants.ts` and `index.ts` at 81d951b; see
//! `openapi/qstash/EVIDENCE.md`, "Dev mode").
//!
//! With `QSTASH_DEV=1` (or `true`), [`Client::from_env`](crate::Client::from_env)
//! sends to `http://127.0.0.1:<QSTASH_DEV_PORT or 8080>` with [`DEV_TOKEN`],
//! and [`Receiver::from_env`](crate::Receiver::from_env) verifies with
//! [`DEV_CURRENT_SIGNING_KEY`] and [`DEV_NEXT_SIGNING_KEY`]. These values
//! are baked into the official dev server and published by Upstash: they are
//! not secrets, and nothing signed with them is trustworthy outside a
//! developer's machine.

use std::ffi::OsString;

/// Environment variable that turns dev mode on: `1` or `true` (on), `0`,
/// `false` or empty (off). Any other value is an error naming it, so a typo
/// never silently talks to production.
pub const DEV_ENV: &str = "QSTASH_DEV";

/// Environment variable of the dev server's port on `127.0.0.1`, read in dev
/// mode only (default [`DEFAULT_DEV_PORT`]).
pub const DEV_PORT_ENV: &str = "QSTASH_DEV_PORT";

/// Port of the official dev server (`npx @upstash/qstash-cli dev`) when
/// `QSTASH_DEV_PORT` is not set.
pub const DEFAULT_DEV_PORT: u16 = 8080;

/// The official dev server's public token.
pub const DEV_TOKEN: &str =
    "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=";

/// The official dev server's public current signing key.
pub const DEV_CURRENT_SIGNING_KEY: &str = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r";

/// The official dev server's public next signing key.
pub const DEV_NEXT_SIGNING_KEY: &str = "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs";

/// The dev server's address for a port: always the loopback address, as in
/// the official SDKs (never `localhost`, which may resolve to `::1` first).
pub(crate) fn dev_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Reads `QSTASH_DEV` and, when it is on, `QSTASH_DEV_PORT`, through
/// `lookup`: `Ok(None)` when dev mode is off, `Ok(Some(port))` when on.
///
/// # Errors
///
/// A message naming the variable and its value, for a `QSTASH_DEV` that is
/// neither on nor off, or a port that is not a number from 1 to 65535.
pub(crate) fn dev_port_from(
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<u16>, String> {
    let Some(value) = lookup(DEV_ENV) else {
        return Ok(None);
    };
    let shown = value.to_string_lossy();
    match shown.trim() {
        "" | "0" | "false" => return Ok(None),
        "1" | "true" => {}
        _ => {
            return Err(format!(
                "environment variable {DEV_ENV} is {shown:?}; expected 1 or true (dev mode on), 0 or false (off)"
            ));
        }
    }
    let Some(port) = lookup(DEV_PORT_ENV) else {
        return Ok(Some(DEFAULT_DEV_PORT));
    };
    let shown = port.to_string_lossy();
    match shown.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(Some(port)),
        _ => Err(format!(
            "environment variable {DEV_PORT_ENV} is {shown:?}; expected a port from 1 to 65535"
        )),
    }
}

/// Says at `info`, when a client with the dev token is built, which server
/// it talks to (once per client, never per request).
pub(crate) fn log_client(url: &str) {
    tracing::info!(
        target: "qstash",
        "QStash dev mode: the client sends to the local dev server {url} with the public dev token (qstash::DEV_TOKEN)"
    );
}

/// Says at `info`, when a receiver is set up for dev mode, that it verifies
/// with the public dev signing keys.
pub(crate) fn log_receiver() {
    tracing::info!(
        target: "qstash",
        "QStash dev mode: the receiver verifies deliveries with the public dev signing keys (qstash::DEV_CURRENT_SIGNING_KEY, qstash::DEV_NEXT_SIGNING_KEY)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(vars: &[(&str, &str)]) -> Result<Option<u16>, String> {
        dev_port_from(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn off_unless_one_or_true() {
        assert_eq!(port(&[]), Ok(None));
        for off in ["", "0", "false", " 0 "] {
            assert_eq!(
                port(&[(DEV_ENV, off), (DEV_PORT_ENV, "9")]),
                Ok(None),
                "{off:?}"
            );
        }
        for on in ["1", "true", " true"] {
            assert_eq!(port(&[(DEV_ENV, on)]), Ok(Some(8080)), "{on:?}");
        }
    }

    #[test]
    fn a_value_that_is_neither_is_an_error_naming_it() {
        let err = port(&[(DEV_ENV, "yes")]).unwrap_err();
        assert!(err.contains("QSTASH_DEV is \"yes\""), "{err}");
    }

    #[test]
    fn the_port_is_read_in_dev_mode_and_checked() {
        assert_eq!(
            port(&[(DEV_ENV, "1"), (DEV_PORT_ENV, "9000")]),
            Ok(Some(9000))
        );
        assert_eq!(
            port(&[(DEV_ENV, "1"), (DEV_PORT_ENV, "65535")]),
            Ok(Some(65535))
        );
        for bad in ["0", "65536", "-1", "80a", ""] {
            let err = port(&[(DEV_ENV, "1"), (DEV_PORT_ENV, bad)]).unwrap_err();
            assert!(err.contains("QSTASH_DEV_PORT"), "{bad:?}: {err}");
            assert!(err.contains("from 1 to 65535"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_url_is_the_loopback_address() {
        assert_eq!(dev_url(8080), "http://127.0.0.1:8080");
    }
}
