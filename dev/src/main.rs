//! `qstash-dev`: runs a local QStash until Ctrl-C.
//!
//! ```text
//! qstash-dev [--port N]   (0 picks a free port; 8080 by default)
//! ```
//!
//! Prints the `QSTASH_*` variables to use, one `NAME=value` per line.

use std::process::ExitCode;

const USAGE: &str = "usage: qstash-dev [--port N]   (N = 0 picks a free port; default 8080)";

fn parse_port(mut args: impl Iterator<Item = String>) -> Result<Option<u16>, String> {
    let mut port = None;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--port" | "-p" => args.next().ok_or("--port needs a value")?,
            "--help" | "-h" => return Ok(None),
            other => match other.strip_prefix("--port=") {
                Some(v) => v.to_owned(),
                None => return Err(format!("unknown argument `{other}`")),
            },
        };
        port = Some(
            value
                .parse::<u16>()
                .map_err(|_| format!("`{value}` is not a port number"))?,
        );
    }
    Ok(Some(port.unwrap_or(qstash_dev::DEFAULT_PORT)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let port = match parse_port(std::env::args().skip(1)) {
        Ok(Some(port)) => port,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("qstash-dev: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match qstash_dev::Server::builder().port(port).start().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("qstash-dev: {e}");
            return ExitCode::FAILURE;
        }
    };
    for line in server.env_lines() {
        println!("{line}");
    }
    eprintln!("qstash-dev: serving on {}; Ctrl-C to stop", server.url());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("qstash-dev: cannot wait for Ctrl-C: {e}");
        return ExitCode::FAILURE;
    }
    drop(server);
    ExitCode::SUCCESS
}
