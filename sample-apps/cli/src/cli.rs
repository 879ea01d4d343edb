//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

use crate::output::ColorChoice;

/// `chatflow`: a sample app on the Chatflow SDK (chatflow-core) for debugging an app's chat setup: which chatflow a
/// tag resolves to and why, consent, the knowledge base, and a terminal chat against the real server.
#[derive(Debug, Parser)]
#[command(name = "chatflow", version, about, after_help = EXIT_CODES)]
pub struct Args {
    /// The SDK config file (JSON: server_url, app_id, environment, default_tag, language). Default: ./chatflow.json
    #[arg(long, short = 'c', global = true, env = "CHATFLOW_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Where the SDK keeps its database (session, cached chatflows, messages, queue). Default: a folder per app and
    /// server under the user's data directory (e.g. ~/.local/share/chatflow-cli/).
    #[arg(long, global = true, env = "CHATFLOW_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Machine-readable JSON on stdout (errors as JSON on stderr).
    #[arg(long, global = true)]
    pub json: bool,

    /// Colours: auto (only on a terminal, honouring NO_COLOR), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// The SDK's logs on stderr (`-v` info, `-vv` debug, `-vvv` trace).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

pub const EXIT_CODES: &str = "Exit codes: 0 ok, 1 internal/storage, 2 usage or invalid input, 3 config, \
4 network (server unreachable; queued work is kept), 5 refused by the server, 6 consent required or declined, \
7 not found (no chatflow for the tag, unknown conversation or article).";

/// Which chatflow: a mobile tag and the visitor's languages.
#[derive(Debug, Clone, ClapArgs)]
pub struct Target {
    /// Mobile tag to resolve (default: the config's `default_tag`).
    #[arg(long, short = 't', value_name = "TAG")]
    pub tag: Option<String>,
    /// Preferred language (BCP 47), most preferred first; repeat or comma-separate. Default: the config's
    /// `language`, else the device locale.
    #[arg(long = "lang", short = 'l', value_name = "LANG", value_delimiter = ',')]
    pub languages: Vec<String>,
    /// Do not refresh the chatflow list from the server: resolve from the local cache only.
    #[arg(long)]
    pub offline: bool,
}

/// Which conversation: explicit, else the newest open one on the resolved chatflow.
#[derive(Debug, Clone, ClapArgs)]
pub struct ConversationArg {
    /// Conversation id (default: the newest open conversation on the resolved chatflow).
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Which chatflow a tag resolves to now (refreshes the cached list first unless --offline).
    Resolve(ResolveArgs),
    /// Every chatflow carrying the tag and why it was chosen or dropped.
    Explain(ResolveArgs),
    /// Interactive terminal chat (line based; reads stdin lines when it is not a terminal too).
    Chat(ChatArgs),
    /// Sends one message and waits until the server stored it.
    Send(SendArgs),
    /// Messages of a conversation, oldest first.
    History(HistoryArgs),
    /// Searches the chatflow's knowledge base (syncing it first, with a progress bar).
    Search(SearchArgs),
    /// Shows or records the visitor's consent on the resolved chatflow.
    Consent(ConsentArgs),
    /// Identifies the visitor with a signed identity token from the app's backend.
    Identify(IdentifyArgs),
    /// The session, the cached chatflow list and the send queue, as stored locally.
    Status,
    /// Logs the visitor out: wipes its local data (and with --delete, its data on the server).
    Logout(LogoutArgs),
    /// Downloads a message's attachment (verified against its checksum) and prints where it is.
    Download(DownloadArgs),
    /// A scripted tour of the SDK against a server: resolve, welcome, consent, KB search, send, reply, offline send.
    Tour(TourArgs),
    /// [demo helper] Replies as an agent through the server's agent API.
    #[command(hide = true)]
    AgentReply(AgentReplyArgs),
    /// [demo helper] Writes an SDK config for a server URL and a seed file's first app.
    #[command(hide = true)]
    DemoConfig(DemoConfigArgs),
}

#[derive(Debug, ClapArgs)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub target: Target,
}

#[derive(Debug, ClapArgs)]
pub struct ChatArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub conversation: ConversationArg,
    /// Start a new conversation instead of continuing the newest open one.
    #[arg(long)]
    pub new: bool,
    /// Messages of the conversation shown when the chat starts.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(i32).range(0..=500))]
    pub history: i32,
    /// At the end of input (not a terminal), wait at most this long for queued messages to be delivered.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub drain_secs: u64,
}

#[derive(Debug, ClapArgs)]
pub struct SendArgs {
    /// The message (several words are joined with spaces); with --file, an optional caption.
    #[arg(required_unless_present = "file", value_name = "TEXT")]
    pub text: Vec<String>,
    /// Send this file (image, PDF, …) in the message; repeat for several files.
    #[arg(long, value_name = "PATH")]
    pub file: Vec<std::path::PathBuf>,
    /// The files' declared type (default: judged by their bytes); a type the bytes contradict is refused.
    #[arg(long, value_name = "MIME", requires = "file")]
    pub mime: Option<String>,
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub conversation: ConversationArg,
    /// Start a new conversation instead of continuing the newest open one.
    #[arg(long)]
    pub new: bool,
    /// Return once queued (the message is sent by the next command that connects).
    #[arg(long)]
    pub no_wait: bool,
    /// Wait at most this long for the server to store the message.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// Then wait up to this long for a reply from the team (agent or bot) and print it.
    #[arg(long, value_name = "SECS")]
    pub wait_reply: Option<u64>,
}

#[derive(Debug, ClapArgs)]
pub struct DownloadArgs {
    /// The attachment's id (shown by `history`).
    #[arg(value_name = "ATTACHMENT_ID")]
    pub attachment_id: String,
    /// Copy it here (default: print the path of the SDK's cached copy).
    #[arg(long, value_name = "PATH")]
    pub out: Option<std::path::PathBuf>,
    /// The image's thumbnail instead of the file.
    #[arg(long)]
    pub thumbnail: bool,
}

#[derive(Debug, ClapArgs)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub conversation: ConversationArg,
    /// At most this many messages.
    #[arg(long, short = 'n', default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=500))]
    pub limit: i32,
    /// Only messages before this sequence number (older pages).
    #[arg(long, value_name = "SEQ", value_parser = clap::value_parser!(i64).range(1..))]
    pub before: Option<i64>,
}

#[derive(Debug, ClapArgs)]
pub struct SearchArgs {
    /// What to search for (several words are joined with spaces).
    #[arg(required_unless_present = "article", value_name = "QUERY")]
    pub query: Vec<String>,
    #[command(flatten)]
    pub target: Target,
    /// At most this many hits.
    #[arg(long, short = 'n', default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=100))]
    pub limit: i32,
    /// Do not sync first: search what is indexed locally (the SDK's current base), or the server's search when
    /// nothing was synced yet.
    #[arg(long)]
    pub no_sync: bool,
    /// Print the full text of this article instead of searching (the QUERY is ignored).
    #[arg(long, value_name = "ID")]
    pub article: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConsentAction {
    /// Show the consent state (text, version, decision, whether sending is allowed).
    Status,
    /// The visitor agrees to the process-data text shown.
    Accept,
    /// The visitor declines: chatting is blocked (KB search still works).
    Decline,
}

#[derive(Debug, ClapArgs)]
pub struct ConsentArgs {
    #[arg(value_enum, default_value_t = ConsentAction::Status)]
    pub action: ConsentAction,
    #[command(flatten)]
    pub target: Target,
    /// Also record the communications opt-in (the checkbox): true or false.
    #[arg(long, value_name = "BOOL")]
    pub communicate: Option<bool>,
    /// The text version shown to the visitor (sha256 hex); refused if the text changed since.
    #[arg(long, value_name = "VERSION")]
    pub text_version: Option<String>,
    /// Wait at most this long for the decision to reach the server (0: only record it locally).
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub timeout: u64,
}

#[derive(Debug, ClapArgs)]
pub struct IdentifyArgs {
    /// The identity token (HS256 JWT signed by the app's backend).
    #[arg(value_name = "TOKEN")]
    pub token: String,
    /// The user's email, stored as a chat property.
    #[arg(long)]
    pub email: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub struct LogoutArgs {
    /// Also delete the visitor and everything it owns on the server.
    #[arg(long)]
    pub delete: bool,
}

#[derive(Debug, ClapArgs)]
pub struct TourArgs {
    #[command(flatten)]
    pub target: Target,
    /// Knowledge-base query of the search step.
    #[arg(long, default_value = "password", value_name = "QUERY")]
    pub kb_query: String,
    /// Agent token for the agent-reply step (default: the first agent of the config's app in --seed).
    #[arg(long, env = "CHATFLOW_AGENT_TOKEN", value_name = "TOKEN")]
    pub agent_token: Option<String>,
    /// Seed file the server was started with (to find an agent token).
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Bound of every wait (delivery, reply, reconnect).
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
}

#[derive(Debug, ClapArgs)]
pub struct AgentReplyArgs {
    /// The reply.
    #[arg(required = true, value_name = "TEXT")]
    pub text: Vec<String>,
    /// Conversation to reply in (default: the app's most recently active open conversation).
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,
    /// Agent token (default: the first agent of the config's app in --seed).
    #[arg(long, env = "CHATFLOW_AGENT_TOKEN", value_name = "TOKEN")]
    pub agent_token: Option<String>,
    /// Seed file the server was started with (to find an agent token).
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Show "typing…" to the visitor first, for this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub typing_ms: Option<u64>,
}

#[derive(Debug, ClapArgs)]
pub struct DemoConfigArgs {
    /// The server's base URL (from its `listening on …` line).
    #[arg(long, value_name = "URL")]
    pub server_url: String,
    /// The seed file: the config uses its first app.
    #[arg(long, value_name = "FILE")]
    pub seed: PathBuf,
    /// The config's default tag.
    #[arg(long, default_value = "support", value_name = "TAG")]
    pub default_tag: String,
    /// Where to write the config (default: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn languages_split_on_commas() {
        let a = Args::parse_from(["chatflow", "resolve", "--lang", "fr-CA,en", "-l", "de"]);
        let Command::Resolve(r) = a.command else { panic!("{:?}", a.command) };
        assert_eq!(r.target.languages, ["fr-CA", "en", "de"]);
    }
}
