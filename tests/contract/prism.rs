//! Starting and stopping the Prism mock server (`node_modules/.bin/prism`,
//! pinned in package.json).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long Prism may take to start listening.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

/// A running `prism mock`; killed when dropped, also when a test panics.
pub struct Prism {
    child: Child,
    /// Where Prism listens.
    pub addr: SocketAddr,
    /// Prism's output (stdout and stderr).
    pub log: PathBuf,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Prism binary installed by `npm ci`.
pub fn binary(root: &Path) -> PathBuf {
    root.join("node_modules/.bin/prism")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free loopback port")
        .port()
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

impl Prism {
    /// Starts `prism mock` for `spec` on a free loopback port and waits until
    /// it accepts connections. Panics (naming the log) if it does not.
    pub fn start(root: &Path, spec: &Path, label: &str) -> Prism {
        let bin = binary(root);
        assert!(
            bin.exists(),
            "{} is missing: the contract tests need the Prism mock server pinned in \
             package.json. Run `npm ci` in {} (scripts/test does it), then run the tests again.",
            bin.display(),
            root.display()
        );
        let log_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&log_dir).expect("create the log directory");
        let log = log_dir.join(format!("prism-{label}.log"));
        let out = std::fs::File::create(&log).expect("create the Prism log");
        let err = out.try_clone().expect("clone the Prism log handle");
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new(&bin)
            .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(spec)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut prism = Prism { child, addr, log };
        let started = Instant::now();
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                eprintln!(
                    "contract ({label}): Prism listening on {addr} after {:.1} s (log: {})",
                    started.elapsed().as_secs_f64(),
                    prism.log.display()
                );
                return prism;
            }
            if let Ok(Some(status)) = prism.child.try_wait() {
                panic!(
                    "Prism exited ({status}) before listening on {addr}; its log {}:\n{}",
                    prism.log.display(),
                    tail(&prism.log)
                );
            }
            if started.elapsed() > STARTUP_DEADLINE {
                panic!(
                    "Prism did not listen on {addr} within {} s; its log {}:\n{}",
                    STARTUP_DEADLINE.as_secs(),
                    prism.log.display(),
                    tail(&prism.log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
