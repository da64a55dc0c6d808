//! The `switchboard` command: parses flags, loads configuration, runs a subcommand.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use switchboard::config::Config;

// Many small, short-lived allocations across threads (frames, effects): mimalloc keeps them cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
usage: switchboard <command> [options]

commands:
  check-config [FILE]   validate a configuration file (default: the embedded defaults)
                        and print what it defines
  help                  print this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check-config") => check_config(args.get(1).map(PathBuf::from)),
        Some("help") | Some("--help") | Some("-h") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("--version") | Some("-V") => {
            println!("switchboard {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn check_config(path: Option<PathBuf>) -> ExitCode {
    let loaded = match &path {
        Some(path) => Config::load(path),
        None => Ok(Config::embedded()),
    };
    let config = match loaded {
        Ok(config) => config,
        Err(err) => {
            eprintln!("invalid configuration: {err}");
            return ExitCode::from(1);
        }
    };
    let source = path.map_or("embedded defaults".to_string(), |p| p.display().to_string());
    println!("{source}: valid");
    for tenant in &config.tenants {
        let queues: Vec<String> = tenant
            .queues
            .iter()
            .map(|q| format!("{} [{}]", q.name, q.skills.join(", ")))
            .collect();
        println!(
            "tenant {:?}: {} queue(s): {}; default queue {:?}; {} routing rule(s)",
            tenant.id,
            tenant.queues.len(),
            queues.join("; "),
            tenant.default_queue,
            tenant.routes.len()
        );
    }
    ExitCode::SUCCESS
}
