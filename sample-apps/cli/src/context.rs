//! What every command needs: the config, the data directory, an open `ChatClient` and a way to await its futures.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chatflow_core::client::ChatClient;
use chatflow_core::config::Config;

use crate::cli::Args;
use crate::error::{CliError, CliResult, Kind};
use crate::output::Output;

/// The config file used when neither `--config` nor `CHATFLOW_CONFIG` names one.
pub const DEFAULT_CONFIG: &str = "chatflow.json";

/// Finds and validates the SDK config (the SDK's own parser: its messages name the field and what is expected).
pub fn load_config(args: &Args) -> CliResult<(Config, PathBuf)> {
    let path = match &args.config {
        Some(p) => p.clone(),
        None if Path::new(DEFAULT_CONFIG).is_file() => PathBuf::from(DEFAULT_CONFIG),
        None => {
            return Err(CliError::new(
                Kind::Config,
                format!(
                    "no SDK config: pass --config FILE, set CHATFLOW_CONFIG, or create ./{DEFAULT_CONFIG} \
                     (JSON with server_url, app_id, environment, default_tag)"
                ),
            ))
        }
    };
    Ok((Config::from_file(&path)?, path))
}

/// The user's data directory: `$XDG_DATA_HOME` or `~/.local/share` (Linux), `~/Library/Application Support`
/// (macOS), `%APPDATA%` (Windows).
fn user_data_dir() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if cfg!(windows) {
        return non_empty("APPDATA");
    }
    if cfg!(target_os = "macos") {
        return non_empty("HOME").map(|h| h.join("Library/Application Support"));
    }
    non_empty("XDG_DATA_HOME").or_else(|| non_empty("HOME").map(|h| h.join(".local/share")))
}

/// One folder per (app, server): a visitor token of one server means nothing to another.
pub fn default_data_dir(config: &Config) -> CliResult<PathBuf> {
    let base = user_data_dir().ok_or_else(|| {
        CliError::new(Kind::Config, "cannot find the user's data directory (HOME is not set); pass --data-dir DIR")
    })?;
    let server: String = config
        .server_url
        .split("://")
        .nth(1)
        .unwrap_or(&config.server_url)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    Ok(base.join("chatflow-cli").join(format!("{}@{}", config.app_id, server.trim_end_matches('_'))))
}

/// An open client and the runtime the CLI awaits it on.
pub struct Ctx {
    pub client: Arc<ChatClient>,
    pub config: Config,
    pub config_path: PathBuf,
    pub data_dir: PathBuf,
    pub out: Output,
    runtime: tokio::runtime::Runtime,
}

impl Ctx {
    pub fn open(args: &Args, out: Output) -> CliResult<Ctx> {
        let (config, config_path) = load_config(args)?;
        let data_dir = match &args.data_dir {
            Some(d) => d.clone(),
            None => default_data_dir(&config)?,
        };
        std::fs::create_dir_all(&data_dir).map_err(|e| {
            CliError::new(Kind::Config, format!("data directory {}: cannot be created ({e})", data_dir.display()))
        })?;
        let client = ChatClient::open(config.clone(), &data_dir)
            .map_err(|e| CliError::from(e).context(&format!("data directory {}", data_dir.display())))?;
        let runtime = runtime()?;
        Ok(Ctx { client, config, config_path, data_dir, out, runtime })
    }

    /// Awaits `f` on the CLI's own (current-thread) runtime. The SDK's futures run on the SDK's runtime; this one only
    /// drives timers and, for the agent helper, plain HTTP.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Sleeps between polls of local state. A plain thread sleep: the SDK's work runs on its own runtime, and
    /// nothing runs on the CLI's between `block_on` calls.
    pub fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

pub fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(Kind::Internal, format!("cannot start the async runtime: {e}")))
}

/// Bounded polling: calls `f` every `every` until it returns `Some` or `total` has passed. Never a timing assertion:
/// the ceiling only bounds how long a command waits for background work.
pub fn poll<T>(
    ctx: &Ctx,
    total: Duration,
    every: Duration,
    mut f: impl FnMut() -> CliResult<Option<T>>,
) -> CliResult<Option<T>> {
    let deadline = std::time::Instant::now() + total;
    loop {
        if let Some(v) = f()? {
            return Ok(Some(v));
        }
        if std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        ctx.sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dirs_are_per_app_and_server() {
        let config = Config::from_json_str(
            r#"{"server_url":"http://127.0.0.1:8080/chat","app_id":"acme","environment":"development","default_tag":"t"}"#,
        )
        .unwrap();
        if let Ok(dir) = default_data_dir(&config) {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            assert_eq!(name, "acme@127.0.0.1_8080_chat");
            assert!(dir.parent().unwrap().ends_with("chatflow-cli"));
        }
    }
}
