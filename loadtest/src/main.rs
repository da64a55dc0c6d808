//! `switchboard-loadtest`: plays a peak-sale scenario against Switchboard over real WebSockets
//! and checks its thresholds. See `loadtest/README.md` and [`loadtest::rehearsal`].
//!
//! Exit status: 0 every threshold held; 1 one was breached or the run could not be played;
//! 2 a bad command line, scenario file or threshold expression.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use loadtest::rehearsal::options::{self, Command};
use loadtest::rehearsal::Rehearsal;

// The generator allocates a frame per message; mimalloc keeps that cheap, leaving more of the
// shared CPU to the gateway.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Worker threads of the load generator's runtime (the spawned gateway has its own).
const WORKERS: usize = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match options::parse(&args) {
        Ok(Command::Play(options)) => options,
        Ok(Command::Help) => {
            print!("{}", options::usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("switchboard-loadtest: {e}\n\n{}", options::usage());
            return ExitCode::from(2);
        }
    };
    let rehearsal = match Rehearsal::prepare(options) {
        Ok(rehearsal) => rehearsal,
        Err(e) => {
            eprintln!("switchboard-loadtest: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .thread_name("loadtest")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("switchboard-loadtest: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let played = runtime.block_on(rehearsal.play());
    // Every socket was closed and every actor joined; nothing left is worth waiting for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    let summary = match played {
        Ok(summary) => summary,
        Err(e) => {
            eprintln!("switchboard-loadtest: the run failed: {e}");
            return ExitCode::from(1);
        }
    };
    print!("{}", summary.table());
    if let Some(path) = &rehearsal.options().json {
        let written = serde_json::to_string_pretty(&summary)
            .map_err(|e| e.to_string())
            .and_then(|text| std::fs::write(path, text + "\n").map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("switchboard-loadtest: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    let breached: Vec<&str> = summary
        .thresholds
        .iter()
        .filter(|v| !v.pass)
        .map(|v| v.threshold.as_str())
        .collect();
    if breached.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "switchboard-loadtest: thresholds breached: {}",
            breached.join(", ")
        );
        ExitCode::from(1)
    }
}
