//! The `stockwatch` command line: parse the settings, start logging, run one subcommand.
//! Each subcommand's body is in `commands/`, one file each.

// A binary has no public API: `pub` here only shares items between its modules.
#![allow(unreachable_pub)]

mod commands;

#[cfg(feature = "tools")]
use commands::{bench, demo, soak};
use commands::{catalog, keys, ledger, serve, verify};
use std::process::ExitCode;
#[cfg(feature = "tools")]
use stockwatch::config::{BenchCommand, DemoCommand};
use stockwatch::config::{Cli, Command};
use stockwatch::telemetry;

/// See the README ("Layout"): measured faster than glibc's allocator on every path.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::load();
    let _logs = telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) if args.print_config => {
            print!("{}", cli.resolved);
            return ExitCode::SUCCESS;
        }
        Command::Serve(args) => serve::serve(args).await,
        Command::ExpiryWorker(args) => serve::expiry_worker(args).await,
        Command::Verify(args) => return verify::verify(args).await,
        Command::Import(args) => return catalog::import(args).await,
        Command::Export(args) => return catalog::export(args).await,
        Command::Ledger(args) => return ledger::ledger(args).await,
        #[cfg(feature = "tools")]
        Command::Soak(args) => return soak::soak(args).await,
        Command::Keys(args) => return keys::keys(args).await,
        #[cfg(feature = "tools")]
        Command::Demo(args) => match args.command {
            DemoCommand::Race(race) => demo::race(race).await,
            DemoCommand::Bots(bots) => demo::bots(bots).await,
        },
        #[cfg(feature = "tools")]
        Command::Bench(args) => match args.command.clone() {
            Some(BenchCommand::Sweep(sweep)) => bench::sweep(sweep).await,
            None => bench::bench(args).await,
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stockwatch: {e}");
            ExitCode::FAILURE
        }
    }
}
