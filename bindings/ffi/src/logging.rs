//! Forwards the SDK's `tracing` events to a logger the app provides (Logcat on Android, os_log on Apple).
//!
//! One `tracing` subscriber is installed process-wide on the first `set_logger`; later calls only swap the app's
//! logger and level. Events of the SDK's own crates (`chatflow*`) pass at the chosen level; dependencies (HTTP,
//! TLS, WebSocket) only at `Warn` and above, so a `Debug` logger is not flooded. The core never logs tokens,
//! message bodies or emails above `Debug`; this layer adds nothing of its own.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::error::ChatflowError;

/// Severity of a log line, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    pub level: LogLevel,
    /// The Rust module that logged (`chatflow_core::sync::queue`): use it as a tag or category.
    pub target: String,
    /// The message followed by its fields (`key=value`).
    pub message: String,
}

/// Implemented by the app: receives log lines on any thread. Must be fast and must not call back into the SDK.
#[uniffi::export(with_foreign)]
pub trait Logger: Send + Sync {
    fn log(&self, record: LogRecord) -> Result<(), ChatflowError>;
}

static LOGGER: RwLock<Option<Arc<dyn Logger>>> = RwLock::new(None);
/// 0 = off, then 1..=5 for `LogLevel::Error..=Trace`.
static LEVEL: AtomicU8 = AtomicU8::new(0);
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

thread_local! {
    /// Set while this thread is inside the app's logger: anything logged from there is dropped, not looped back.
    static FORWARDING: Cell<bool> = const { Cell::new(false) };
}

/// Sends the SDK's logs at `level` and above to `logger`, replacing any previous logger.
///
/// Fails only if another `tracing` subscriber was installed globally in this process by other Rust code.
#[uniffi::export]
pub fn set_logger(logger: Arc<dyn Logger>, level: LogLevel) -> Result<(), ChatflowError> {
    install()?;
    *LOGGER.write().unwrap_or_else(|p| p.into_inner()) = Some(logger);
    set_level(Some(level));
    tracing::debug!(target: "chatflow_ffi", ?level, sdk_version = crate::sdk_version(), "logger installed");
    Ok(())
}

/// Stops forwarding logs; the previous logger is released.
#[uniffi::export]
pub fn clear_logger() {
    set_level(None);
    *LOGGER.write().unwrap_or_else(|p| p.into_inner()) = None;
}

fn install() -> Result<(), ChatflowError> {
    INSTALLED
        .get_or_init(|| {
            let subscriber = tracing_subscriber::registry().with(ForwardLayer);
            tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| ChatflowError::Config {
            detail: format!(
                "cannot install the SDK logger: another tracing subscriber is already the global default ({e}); \
                 forward chatflow_* targets from that subscriber instead"
            ),
        })
}

fn set_level(level: Option<LogLevel>) {
    let n = match level {
        None => 0,
        Some(LogLevel::Error) => 1,
        Some(LogLevel::Warn) => 2,
        Some(LogLevel::Info) => 3,
        Some(LogLevel::Debug) => 4,
        Some(LogLevel::Trace) => 5,
    };
    LEVEL.store(n, Ordering::Relaxed);
    // Callsites cache whether they are enabled: recompute with the new maximum.
    tracing::callsite::rebuild_interest_cache();
}

fn current_filter() -> LevelFilter {
    match LEVEL.load(Ordering::Relaxed) {
        0 => LevelFilter::OFF,
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

fn level_of(level: &tracing::Level) -> LogLevel {
    match *level {
        tracing::Level::ERROR => LogLevel::Error,
        tracing::Level::WARN => LogLevel::Warn,
        tracing::Level::INFO => LogLevel::Info,
        tracing::Level::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

/// Our crates pass at the app's level; everything else only at `Warn` and above.
fn passes(metadata: &Metadata<'_>) -> bool {
    let filter = current_filter();
    let own = metadata.target().starts_with("chatflow");
    let limit = if own { filter } else { filter.min(LevelFilter::WARN) };
    *metadata.level() <= limit
}

struct ForwardLayer;

impl<S: Subscriber> Layer<S> for ForwardLayer {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        // The level can change at runtime: keep asking `enabled` for anything that could ever pass.
        if *metadata.level() <= LevelFilter::TRACE {
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        passes(metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(current_filter())
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if FORWARDING.with(Cell::get) {
            return;
        }
        let Some(logger) = LOGGER.read().ok().and_then(|slot| slot.clone()) else { return };
        let mut text = LineBuilder::default();
        event.record(&mut text);
        let metadata = event.metadata();
        let record = LogRecord {
            level: level_of(metadata.level()),
            target: metadata.target().to_owned(),
            message: text.finish(),
        };
        FORWARDING.with(|f| f.set(true));
        // A failing app logger has nowhere to report to: drop the line.
        let _ = logger.log(record);
        FORWARDING.with(|f| f.set(false));
    }
}

/// Builds `message key=value key=value` from an event's fields.
#[derive(Default)]
struct LineBuilder {
    message: String,
    fields: String,
}

impl LineBuilder {
    fn finish(self) -> String {
        match (self.message.is_empty(), self.fields.is_empty()) {
            (_, true) => self.message,
            (true, false) => self.fields,
            (false, false) => format!("{} {}", self.message, self.fields),
        }
    }

    fn push_field(&mut self, name: &str, value: std::fmt::Arguments<'_>) {
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        // Writing into a String cannot fail.
        let _ = write!(self.fields, "{name}={value}");
    }
}

impl Visit for LineBuilder {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.push_field(field.name(), format_args!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.push_field(field.name(), format_args!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Collect(Mutex<Vec<LogRecord>>);

    impl Logger for Collect {
        fn log(&self, record: LogRecord) -> Result<(), ChatflowError> {
            self.0.lock().unwrap().push(record);
            Ok(())
        }
    }

    // One test only: the subscriber and logger are process-wide.
    #[test]
    fn forwards_events_at_the_chosen_level_and_filters_dependencies() {
        let logger = Arc::new(Collect::default());
        set_logger(logger.clone(), LogLevel::Info).unwrap();
        tracing::info!(target: "chatflow_core::sync", conversation = "c1", seq = 3, "delivered");
        tracing::debug!(target: "chatflow_core::sync", "too verbose");
        tracing::info!(target: "hyper::client", "dependency chatter");
        tracing::warn!(target: "rustls::conn", "dependency warning");
        {
            let seen = logger.0.lock().unwrap();
            assert_eq!(seen.len(), 2, "{seen:?}");
            assert_eq!(seen[0].level, LogLevel::Info);
            assert_eq!(seen[0].target, "chatflow_core::sync");
            assert_eq!(seen[0].message, "delivered conversation=\"c1\" seq=3");
            assert_eq!(seen[1].level, LogLevel::Warn);
        }
        set_logger(logger.clone(), LogLevel::Trace).unwrap();
        tracing::trace!(target: "chatflow_core::sync", "now visible");
        clear_logger();
        tracing::error!(target: "chatflow_core::sync", "after clear");
        let seen = logger.0.lock().unwrap();
        assert!(seen.iter().any(|r| r.message == "now visible"));
        assert!(!seen.iter().any(|r| r.message == "after clear"));
    }
}
