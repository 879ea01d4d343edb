//! `chat`: a line-based interactive chat on the resolved chatflow.
//!
//! The screen renders from the SDK's observable conversation state: the chat keeps a `ConversationState`, applies
//! every update the SDK delivers, and prints what changed (`changes.rs`). One loop on the main thread handles the
//! sources merged into one channel: lines from stdin (a reader thread) and the state's updates (the observer's
//! callback). The loop never blocks on the network for longer than an SDK call; sends are queued by the SDK and their
//! delivery shows in the state, so a lost connection shows as "offline" and queued messages go out when it is back.
//!
//! With `--json`, the chat speaks JSON Lines instead of text: every SDK event and the outcome of every line.
//!
//! Works the same when stdin is not a terminal (tests, `printf 'hi\n/quit\n' | chatflow chat`): no prompt, no
//! colours, the visitor's own lines are echoed as `you: …`, and at the end of input the chat waits (bounded,
//! `--drain-secs`) for queued messages to be delivered before it exits.

mod changes;
mod commands;
mod json;
mod render;

use std::io::{BufRead, IsTerminal};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatflow_core::events::{ChatEvent, EventListener};
use chatflow_core::state::{ConversationListener, ConversationState, ConversationUpdate};

use super::resolve_flow;
use crate::cli::ChatArgs;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};

pub use render::Chat;

/// The observer reads the first state from the device at once; this only bounds a wait that should never be long.
const FIRST_STATE_WITHIN: Duration = Duration::from_secs(30);

/// What the loop receives.
pub enum Input {
    Line(String),
    Eof,
    /// A change of the conversation state (boxed: a snapshot is large next to a line).
    Update(Box<ConversationUpdate>),
    /// An SDK event, for `--json` only.
    Event(ChatEvent),
}

/// Whether the loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// Hands the conversation state's updates to the loop (the SDK calls it on its own threads).
pub struct ForwardUpdates(pub mpsc::Sender<Input>);

impl ConversationListener for ForwardUpdates {
    fn on_update(&self, update: ConversationUpdate) {
        // The loop is gone once the chat ends; nothing to do then.
        let _ = self.0.send(Input::Update(Box::new(update)));
    }
}

/// Hands the SDK's events to the loop, for `--json`.
struct ForwardEvents(mpsc::Sender<Input>);

impl EventListener for ForwardEvents {
    fn on_event(&self, event: ChatEvent) {
        let _ = self.0.send(Input::Event(event));
    }
}

fn spawn_stdin_reader(tx: mpsc::Sender<Input>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            match line {
                Ok(l) => {
                    if tx.send(Input::Line(l)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(Input::Eof);
    });
}

pub fn run(ctx: &Ctx, a: &ChatArgs) -> CliResult<u8> {
    let flow = resolve_flow(ctx, &a.target)?;
    let tty = std::io::stdin().is_terminal() && ctx.out.stdout_tty;
    let (tx, rx) = mpsc::channel();
    let mut chat = Chat::new(ctx, flow, tty, tx.clone(), a.history);
    chat.open(a.conversation.conversation.as_deref(), a.new, a.target.offline)?;
    let first = if chat.is_following() { Some(first_state(&rx)?) } else { None };
    let _events = if ctx.out.json { Some(ctx.client.subscribe(Arc::new(ForwardEvents(tx.clone())))?) } else { None };
    chat.intro(first)?;
    spawn_stdin_reader(tx);

    loop {
        chat.prompt();
        let Ok(input) = rx.recv() else { break };
        let flow = match input {
            Input::Line(line) => chat.on_line(&line)?,
            Input::Update(update) => {
                chat.on_update(*update);
                Flow::Continue
            }
            Input::Event(e) => {
                chat.on_event(e);
                Flow::Continue
            }
            Input::Eof => {
                // Ctrl-D on a terminal means "leave" (like /quit); the end of piped input waits for the queue.
                if !tty {
                    drain(&mut chat, &rx, Duration::from_secs(a.drain_secs));
                }
                Flow::Quit
            }
        };
        if flow == Flow::Quit {
            break;
        }
    }
    chat.goodbye()?;
    Ok(0)
}

/// The snapshot the observer delivers first (nothing else is on the channel yet: stdin is read after the intro).
fn first_state(rx: &mpsc::Receiver<Input>) -> CliResult<ConversationState> {
    let deadline = Instant::now() + FIRST_STATE_WITHIN;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Input::Update(update)) => {
                if let ConversationUpdate::Snapshot { state } = *update {
                    return Ok(state);
                }
            }
            Ok(_) => {}
            Err(_) => {
                return Err(CliError::new(Kind::Internal, "the conversation's state did not arrive from the SDK"))
            }
        }
    }
}

/// End of input: keep rendering updates until nothing is left to send (or `within` passed).
fn drain(chat: &mut Chat, rx: &mpsc::Receiver<Input>, within: Duration) {
    let deadline = Instant::now() + within;
    while chat.awaiting_delivery() && Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Input::Update(update)) => chat.on_update(*update),
            Ok(Input::Event(e)) => chat.on_event(e),
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // What already arrived is shown before leaving.
    while let Ok(input) = rx.try_recv() {
        match input {
            Input::Update(update) => chat.on_update(*update),
            Input::Event(e) => chat.on_event(e),
            Input::Line(_) | Input::Eof => {}
        }
    }
    chat.settle();
}
