//! The `stockwatch` command line: parse the settings, start logging, run one subcommand.
//! Each subcommand's body is in `commands/`, one file each.

mod commands;

use commands::{bench, demo, keys, ledger, serve, soak, verify};
use std::process::ExitCode;
use stockwatch::config::{BenchCommand, Cli, Command, DemoCommand};
use stockwatch::telemetry;

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
        Command::Ledger(args) => return ledger::ledger(args).await,
        Command::Soak(args) => return soak::soak(args).await,
        Command::Keys(args) => return keys::keys(args).await,
        Command::Demo(args) => match args.command {
            DemoCommand::Race(race) => demo::race(race).await,
        },
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
