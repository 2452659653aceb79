//! The `qstash-dev` command: a drop-in for the official development server
//! (its port and public credentials by default), its options and their
//! variables, usage errors, and a real start.

use crate::common;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use common::{Sink, bounded};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_qstash-dev");

/// Every variable the command reads, removed so that the environment of
/// the test run does not change what is tested.
const VARIABLES: &[&str] = &[
    "QSTASH_DEV_PORT",
    "QSTASH_DEV_ROUTES",
    "QSTASH_DEV_RANDOM_CREDENTIALS",
    "QSTASH_DEV_RETRY_DELAY_SCALE",
    "QSTASH_DEV_REGION",
    "QSTASH_DEV_SHUTDOWN_GRACE",
    "QSTASH_DEV_MAX_MESSAGES",
    "QSTASH_DEV_MAX_LOG_ENTRIES",
    "QSTASH_DEV_MAX_DLQ_ENTRIES",
    "QSTASH_DEV_MAX_SCHEDULES",
    "QSTASH_DEV_MAX_QUEUES",
    "QSTASH_DEV_MAX_URL_GROUPS",
    "QSTASH_DEV_MAX_ENDPOINTS_PER_GROUP",
    "QSTASH_DEV_MAX_BULK_ACTIONS",
    "QSTASH_DEV_MAX_IN_FLIGHT",
    "QSTASH_DEV_MAX_BODY_BYTES",
    "QSTASH_DEV_MAX_RESPONSE_BYTES",
    "QSTASH_DEV_MAX_DEDUP_IDS",
    "QSTASH_DEV_MAX_STORE_BYTES",
];

fn command(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).kill_on_drop(true);
    for name in VARIABLES.iter().chain(&["RUST_LOG"]) {
        cmd.env_remove(name);
    }
    for (name, value) in vars {
        cmd.env(name, value);
    }
    cmd
}

/// How long a command that should end at once, or a line it should log,
/// is waited for.
const PROMPTLY: Duration = Duration::from_secs(10);

/// Runs the command to its end: exit code, stdout, stderr.
async fn run(args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let out = tokio::time::timeout(PROMPTLY, command(args, vars).output())
        .await
        .expect("qstash-dev ended")
        .expect("run qstash-dev");
    (
        out.status.code().expect("an exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts the command and reads the variables it prints.
async fn start(args: &[&str], vars: &[(&str, &str)]) -> (Child, HashMap<String, String>) {
    let mut child = command(args, vars)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start qstash-dev");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut printed = HashMap::new();
    while printed.len() < 4 {
        let line = lines
            .next_line()
            .await
            .expect("read stdout")
            .expect("qstash-dev ended before printing its variables");
        let (name, value) = line.split_once('=').expect("NAME=value");
        printed.insert(name.to_owned(), value.to_owned());
    }
    (child, printed)
}

#[tokio::test]
async fn help_lists_every_option_and_its_variable() {
    bounded(async {
        let (code, out, _) = run(&["--help"], &[]).await;
        assert_eq!(code, 0, "{out}");
        for option in [
            "--port",
            "--route",
            "--random-credentials",
            "--retry-delay-scale",
            "--region",
            "--shutdown-grace",
            "--max-messages",
            "--max-log-entries",
            "--max-dlq-entries",
            "--max-schedules",
            "--max-queues",
            "--max-url-groups",
            "--max-endpoints-per-group",
            "--max-bulk-actions",
            "--max-in-flight",
            "--max-body-bytes",
            "--max-response-bytes",
            "--max-dedup-ids",
            "--max-store-bytes",
        ] {
            assert!(out.contains(option), "{option} in:\n{out}");
        }
        for variable in VARIABLES {
            assert!(
                out.contains(&format!("[env: {variable}=")),
                "{variable} in:\n{out}"
            );
        }
        assert!(out.contains("[default: 8080]"), "{out}");
        assert!(out.contains("ORIGIN=URL"), "{out}");
        assert!(out.contains("RUST_LOG"), "{out}");
        assert!(out.contains("qstash_dev=info"), "{out}");
    })
    .await;
}

#[tokio::test]
async fn usage_errors_exit_2_naming_the_argument() {
    bounded(async {
        for (args, vars, named) in [
            (&["--bogus"][..], &[][..], "--bogus"),
            (&["--port", "70000"], &[], "70000"),
            (&["--port"], &[], "--port"),
            (&["--route", "https://app.example.com"], &[], "ORIGIN=URL"),
            (
                &["--route", "ftp://a.test=http://127.0.0.1:1"],
                &[],
                "ftp://a.test",
            ),
            (&["--retry-delay-scale", "-1"], &[], "-1"),
            (&["--retry-delay-scale", "NaN"], &[], "NaN"),
            (&["--shutdown-grace", "1e300"], &[], "1e300"),
            (&["--max-messages", "-5"], &[], "-5"),
            (&[], &[("QSTASH_DEV_PORT", "eighty")], "eighty"),
        ] {
            let (code, out, err) = run(args, vars).await;
            assert_eq!(code, 2, "{args:?} {vars:?}: {out}{err}");
            assert!(err.contains(named), "{args:?} {vars:?}: {err}");
            assert!(out.is_empty(), "{args:?}: nothing on stdout, got {out}");
        }
    })
    .await;
}

/// The JS SDK's dev mode (`QSTASH_DEV=true`): before spawning a server it
/// asks `GET /v2/keys` with the public dev token and compares the keys;
/// the command's defaults answer as the official server does.
#[tokio::test]
async fn by_default_it_has_the_public_dev_credentials_and_passes_the_js_health_check() {
    bounded(async {
        let (mut child, vars) = start(&["--port", "0"], &[]).await;
        assert_eq!(vars["QSTASH_TOKEN"], qstash::DEV_TOKEN);
        assert_eq!(
            vars["QSTASH_CURRENT_SIGNING_KEY"],
            qstash::DEV_CURRENT_SIGNING_KEY
        );
        assert_eq!(
            vars["QSTASH_NEXT_SIGNING_KEY"],
            qstash::DEV_NEXT_SIGNING_KEY
        );
        let url = &vars["QSTASH_URL"];
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");

        let response = common::http()
            .get(format!("{url}/v2/keys"))
            .header("Authorization", format!("Bearer {}", qstash::DEV_TOKEN))
            .send()
            .await
            .expect("GET /v2/keys");
        assert_eq!(response.status(), 200);
        let keys: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(
            keys,
            serde_json::json!({
                "current": qstash::DEV_CURRENT_SIGNING_KEY,
                "next": qstash::DEV_NEXT_SIGNING_KEY,
            })
        );
        stop(&mut child, url, "INT").await;
    })
    .await;
}

/// Ctrl-C (`INT`) or `kill` (`TERM`) stops it: exit 0, the port closed.
#[cfg(unix)]
async fn stop(child: &mut Child, url: &str, signal: &str) {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("stops within the grace period")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    let err = common::http()
        .get(format!("{url}/v2/keys"))
        .send()
        .await
        .expect_err("nothing listens any more");
    assert!(err.is_connect(), "{err}");
}

#[cfg(not(unix))]
async fn stop(child: &mut Child, _url: &str, _signal: &str) {
    child.kill().await.expect("kill");
}

/// The variables instead of the flags: a free port, random credentials
/// and a route from a production origin to a local receiver.
#[tokio::test]
async fn variables_set_random_credentials_and_routes() {
    bounded(async {
        let sink = Sink::start().await;
        let route = format!(
            "https://app.example.com=http://{},http://other.test=http://127.0.0.1:9",
            sink.addr
        );
        let (mut child, vars) = start(
            &[],
            &[
                ("QSTASH_DEV_PORT", "0"),
                ("QSTASH_DEV_RANDOM_CREDENTIALS", "true"),
                ("QSTASH_DEV_ROUTES", &route),
            ],
        )
        .await;
        let token = &vars["QSTASH_TOKEN"];
        let (current, next) = (
            &vars["QSTASH_CURRENT_SIGNING_KEY"],
            &vars["QSTASH_NEXT_SIGNING_KEY"],
        );
        assert_ne!(token, qstash::DEV_TOKEN);
        assert_ne!(current, qstash::DEV_CURRENT_SIGNING_KEY);
        assert_ne!(next, qstash::DEV_NEXT_SIGNING_KEY);
        let url = &vars["QSTASH_URL"];
        let response = common::http()
            .get(format!("{url}/v2/keys"))
            .header("Authorization", format!("Bearer {}", qstash::DEV_TOKEN))
            .send()
            .await
            .expect("GET /v2/keys");
        assert_eq!(response.status(), 401, "the public token is refused");

        let published = "https://app.example.com/api/hook?x=1";
        let response = common::http()
            .post(format!("{url}/v2/publish/{published}"))
            .header("Authorization", format!("Bearer {token}"))
            .body("routed")
            .send()
            .await
            .expect("publish");
        assert_eq!(response.status(), 200);
        let delivery = sink.wait_for(1).await.remove(0);
        assert_eq!(delivery.path, "/api/hook");
        assert_eq!(delivery.query.as_deref(), Some("x=1"));
        let claims = qstash::Receiver::new(current, next)
            .verify_request(&delivery.headers, &delivery.body, Some(published))
            .expect("signed for the URL published to");
        assert_eq!(claims.sub, published);
        stop(&mut child, url, "TERM").await;
    })
    .await;
}

/// The limits reach the server, from a flag or from its variable: a body
/// past `--max-body-bytes` is answered 413, a publish past the byte budget
/// (`QSTASH_DEV_MAX_STORE_BYTES`) 412.
#[tokio::test]
async fn the_limits_reach_the_server() {
    bounded(async {
        let (mut child, vars) = start(
            &["--port", "0", "--max-body-bytes", "3000"],
            &[("QSTASH_DEV_MAX_STORE_BYTES", "6000")],
        )
        .await;
        let url = &vars["QSTASH_URL"];
        let publish = |size: usize| {
            common::http()
                .post(format!("{url}/v2/publish/http://127.0.0.1:9/hook"))
                .header("Authorization", format!("Bearer {}", qstash::DEV_TOKEN))
                .header("Upstash-Delay", "1h")
                .body("b".repeat(size))
                .send()
        };
        let status = |r: reqwest::Response| r.status().as_u16();
        assert_eq!(status(publish(3001).await.expect("publish")), 413);
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(status(publish(2500).await.expect("publish")));
        }
        assert_eq!(statuses[0], 200, "{statuses:?}");
        assert_eq!(statuses[3], 412, "past the byte budget: {statuses:?}");
        stop(&mut child, url, "INT").await;
    })
    .await;
}

/// A running command whose stderr is collected as it comes.
struct Logged {
    child: Child,
    vars: HashMap<String, String>,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    /// Reads stderr until the command closes it.
    reader: tokio::task::JoinHandle<()>,
}

impl Logged {
    async fn start(args: &[&str], vars: &[(&str, &str)]) -> Self {
        let mut child = command(args, vars)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start qstash-dev");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err_lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let collected = std::sync::Arc::clone(&stderr);
        let reader = tokio::spawn(async move {
            while let Ok(Some(line)) = err_lines.next_line().await {
                let mut all = collected.lock().expect("stderr");
                all.push_str(&line);
                all.push('\n');
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut printed = HashMap::new();
        while printed.len() < 4 {
            let line = stdout
                .next_line()
                .await
                .expect("read stdout")
                .expect("qstash-dev ended before printing its variables");
            let (name, value) = line.split_once('=').expect("NAME=value");
            printed.insert(name.to_owned(), value.to_owned());
        }
        Self {
            child,
            vars: printed,
            stdout,
            stderr,
            reader,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr").clone()
    }

    /// Publishes a body to `url` and returns the message id.
    async fn publish(&self, url: &str) -> String {
        let response = common::http()
            .post(format!("{}/v2/publish/{url}", self.vars["QSTASH_URL"]))
            .header(
                "Authorization",
                format!("Bearer {}", self.vars["QSTASH_TOKEN"]),
            )
            .body("logged body")
            .send()
            .await
            .expect("publish");
        assert_eq!(response.status(), 200);
        let answer: serde_json::Value = response.json().await.expect("JSON");
        answer["messageId"].as_str().expect("an id").to_owned()
    }

    /// Stops it; what it printed on stdout after the variables, and all
    /// of stderr.
    async fn stop(mut self) -> (String, String) {
        let url = self.vars["QSTASH_URL"].clone();
        stop(&mut self.child, &url, "INT").await;
        let mut rest = String::new();
        while let Some(line) = self.stdout.next_line().await.expect("read stdout") {
            rest.push_str(&line);
            rest.push('\n');
        }
        // The command is gone: its stderr is read to its end.
        (&mut self.reader).await.expect("read stderr");
        (rest, self.stderr())
    }
}

/// `RUST_LOG=qstash_dev=debug`: a line per message and delivery, on
/// stderr; stdout has the variables only.
#[tokio::test]
async fn logs_go_to_stderr_and_stdout_keeps_the_variables_only() {
    bounded(async {
        let sink = Sink::start().await;
        let server = Logged::start(
            &["--port", "0", "--random-credentials"],
            &[("RUST_LOG", "qstash_dev=debug")],
        )
        .await;
        let id = server.publish(&sink.url("/hook")).await;
        sink.wait_for(1).await;
        let logged = common::wait_until(|| {
            server
                .stderr()
                .lines()
                .any(|l| l.contains("delivered") && l.contains(&id))
        });
        tokio::time::timeout(PROMPTLY, logged)
            .await
            .unwrap_or_else(|_| panic!("a delivery line in:\n{}", server.stderr()));
        let token = server.vars["QSTASH_TOKEN"].clone();
        let (stdout, stderr) = server.stop().await;
        assert_eq!(stdout, "", "nothing on stdout after the variables");
        let accepted = stderr
            .lines()
            .find(|l| l.contains("message accepted"))
            .unwrap_or_else(|| panic!("a publish line in:\n{stderr}"));
        assert!(accepted.contains("DEBUG"), "{accepted}");
        assert!(accepted.contains(&id), "{accepted}");
        assert!(stderr.contains("request answered"), "{stderr}");
        assert!(!stderr.contains(&token), "{stderr}");
        assert!(!stderr.contains("logged body"), "{stderr}");
        assert!(
            !stderr.contains("\x1b["),
            "no colours into a pipe: {stderr}"
        );
    })
    .await;
}

/// `RUST_LOG` unset or empty: `qstash_dev=info`, which shows the server
/// starting and stopping but not each message.
#[tokio::test]
async fn without_rust_log_the_logs_are_at_info() {
    bounded(async {
        let sink = Sink::start().await;
        for vars in [&[][..], &[("RUST_LOG", "")][..]] {
            let server = Logged::start(&["--port", "0"], vars).await;
            let delivered = sink.count() + 1;
            let id = server.publish(&sink.url("/hook")).await;
            let url = server.vars["QSTASH_URL"].clone();
            sink.wait_for(delivered).await;
            let (stdout, stderr) = server.stop().await;
            assert_eq!(stdout, "", "{vars:?}");
            assert!(
                stderr.contains(&format!("INFO qstash_dev::server: listening url={url}")),
                "{vars:?}: {stderr}"
            );
            assert!(
                stderr.contains("serving; Ctrl-C to stop"),
                "{vars:?}: {stderr}"
            );
            assert!(!stderr.contains(&id), "{vars:?}: {stderr}");
            assert!(!stderr.contains("DEBUG"), "{vars:?}: {stderr}");
        }
    })
    .await;
}

/// A `RUST_LOG` that does not parse is a usage error, not ignored.
#[tokio::test]
async fn an_invalid_rust_log_exits_2_naming_the_variable() {
    bounded(async {
        for value in ["qstash_dev=loud", "qstash_dev=info,[{"] {
            let (code, out, err) = run(&["--port", "0"], &[("RUST_LOG", value)]).await;
            assert_eq!(code, 2, "{value}: {out}{err}");
            assert!(err.contains("RUST_LOG"), "{value}: {err}");
            assert!(err.contains(value), "{value}: {err}");
            assert!(out.is_empty(), "{value}: {out}");
        }
    })
    .await;
}

#[test]
fn the_public_dev_credentials_are_the_qstash_crates() {
    assert_eq!(qstash_dev::DEV_TOKEN, qstash::DEV_TOKEN);
    assert_eq!(
        qstash_dev::DEV_CURRENT_SIGNING_KEY,
        qstash::DEV_CURRENT_SIGNING_KEY
    );
    assert_eq!(
        qstash_dev::DEV_NEXT_SIGNING_KEY,
        qstash::DEV_NEXT_SIGNING_KEY
    );
    assert_eq!(qstash_dev::DEFAULT_PORT, 8080);
}
