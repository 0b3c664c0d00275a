//! The `roostd` binary: reads the command line and the config, sets up
//! logging, and hands over to [`roost_server::run`].

use std::process::ExitCode;

use clap::Parser as _;
use roost_common::config::Config;
use roost_server::cli::RoostdArgs;

fn main() -> ExitCode {
    let args = RoostdArgs::parse();
    let config = match Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("roostd: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check_config {
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    let log = roost_server::logging::init(config.log_level, config.log_format);
    // The storage thread, started by `run` on this thread, keeps the
    // process's priority; the runtime's threads give way to it.
    let give_way = roost_server::priority::GiveWay::below_this_thread(config.storage.priority);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(move || give_way.apply())
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("roostd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = roost_server::RunOptions {
        config_file: args.config,
        log,
    };
    match runtime.block_on(roost_server::run(config, options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Logged once: standard error is where the log goes.
            tracing::error!("roostd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
