//! Log output: text lines for people or JSON lines for shippers
//! (`log_format`), to standard error, at a level a reload can change.

use roost_common::config::{LogFormat, LogLevel};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, Registry, fmt, reload};

/// Changes the level of the logger [`init`] installed.
#[derive(Clone)]
pub struct LogControl(Option<reload::Handle<LevelFilter, Registry>>);

impl LogControl {
    /// A control that changes nothing: for a process whose logging is not
    /// roostd's own (tests that call [`crate::run`] in-process).
    pub fn none() -> LogControl {
        LogControl(None)
    }

    pub fn set_level(&self, level: LogLevel) -> anyhow::Result<()> {
        if let Some(handle) = &self.0 {
            handle
                .reload(filter(level))
                .map_err(|e| anyhow::anyhow!("cannot change the log level: {e}"))?;
        }
        Ok(())
    }
}

/// Installs the process's logger.
pub fn init(level: LogLevel, format: LogFormat) -> LogControl {
    let (level_filter, handle) = reload::Layer::new(filter(level));
    let writer = fmt::layer().with_writer(std::io::stderr).with_target(false);
    let writer = match format {
        LogFormat::Text => writer
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
        LogFormat::Json => writer.json().with_ansi(false).boxed(),
    };
    tracing_subscriber::registry()
        .with(level_filter)
        .with(writer)
        .init();
    LogControl(Some(handle))
}

fn filter(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    }
}
