//! `consent [status|accept|decline] [--communicate BOOL]` on the resolved chatflow.
//!
//! Decisions are committed locally at once and queued for the server: the SDK's send queue delivers them (before any
//! message of the chatflow). The command then waits, bounded, for that delivery; offline, the decision stays queued
//! and reaches the server with the next command that connects (`send`, `chat`).

use std::time::Duration;

use chatflow_core::protocol::ProcessDataMode;
use chatflow_core::sync::queue::{EntryState, OutboxKind};
use chatflow_core::sync::tables::outbox;
use serde::Serialize;

use super::resolve_flow;
use crate::cli::{ConsentAction, ConsentArgs};
use crate::context::{poll, Ctx};
use crate::error::{CliError, CliResult, Kind};
use crate::output::{Render, Style};
use crate::views::ConsentView;

#[derive(Debug, Serialize)]
pub struct ConsentReport {
    /// `status`, `accept` or `decline`.
    pub action: &'static str,
    /// A decision was recorded (and queued for the server).
    pub recorded: bool,
    /// Every recorded decision reached the server (false: still queued, e.g. offline).
    pub delivered: bool,
    pub consent: ConsentView,
}

impl Render for ConsentReport {
    fn render(&self, st: &Style) -> String {
        let mut s = String::new();
        if self.recorded && self.delivered {
            s.push_str(&st.green(&format!("recorded ({}) and delivered to the server\n", self.action)));
        } else if self.recorded {
            s.push_str(&st.yellow(&format!(
                "recorded ({}) locally; queued for the server (sent by the next command that connects)\n",
                self.action
            )));
        }
        s.push_str(&self.consent.render(st));
        s
    }
}

pub fn run(ctx: &Ctx, a: &ConsentArgs) -> CliResult<u8> {
    let flow = resolve_flow(ctx, &a.target)?;
    let id = flow.chatflow_id;
    let mut recorded = false;
    let mut state = ctx.client.consent_state(id)?;
    match a.action {
        ConsentAction::Status => {}
        ConsentAction::Accept | ConsentAction::Decline if state.process_data.mode == ProcessDataMode::Off => {
            return Err(CliError::new(
                Kind::Usage,
                format!("chatflow {id} \"{}\" does not ask for consent to process data (mode off)", flow.name),
            ));
        }
        ConsentAction::Accept => {
            state = ctx.client.accept_consent(id, a.text_version.clone())?;
            recorded = true;
        }
        ConsentAction::Decline => {
            state = ctx.client.decline_consent(id, a.text_version.clone())?;
            recorded = true;
        }
    }
    if let Some(opt_in) = a.communicate {
        state = ctx.client.set_communication_opt_in(id, opt_in)?;
        recorded = true;
    }
    let action = match a.action {
        ConsentAction::Status => "status",
        ConsentAction::Accept => "accept",
        ConsentAction::Decline => "decline",
    };
    let delivered = recorded && deliver(ctx, Duration::from_secs(a.timeout))?;
    ctx.out.show(&ConsentReport { action, recorded, delivered, consent: ConsentView::from(&state) });
    Ok(0)
}

/// Starts the send queue and waits (bounded) until no consent record is left in the outbox. A refused record is an
/// error; still queued at the deadline is not (the decision holds locally and is delivered later).
pub fn deliver(ctx: &Ctx, within: Duration) -> CliResult<bool> {
    if within.is_zero() {
        return Ok(false);
    }
    ctx.client.resume()?;
    let done = poll(ctx, within, Duration::from_millis(100), || {
        let entries = ctx.client.store().read(outbox::all)?;
        let mut consents = entries.iter().filter(|e| e.kind == OutboxKind::Consent).peekable();
        if consents.peek().is_none() {
            return Ok(Some(()));
        }
        for e in consents {
            if let EntryState::Wedged { code, message } = &e.state {
                return Err(CliError {
                    kind: Kind::Refused,
                    code: Some(crate::views::word(code)),
                    message: format!("the server refused the consent record {}: {message}", e.client_id),
                });
            }
        }
        Ok(None)
    })?;
    if done.is_none() {
        ctx.out.warn(&format!(
            "the consent decision is recorded but not delivered yet (connection: {}); it stays queued",
            super::connection_word(ctx)
        ));
    }
    Ok(done.is_some())
}
