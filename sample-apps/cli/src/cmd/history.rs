//! `history`: a page of the conversation's messages, oldest first (the SDK answers from its store and fetches what
//! is missing when the server is reachable).

use serde::Serialize;

use super::{current_conversation, resolve_flow};
use crate::cli::HistoryArgs;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{Render, Style};
use crate::views::{ConversationView, MessageView};

#[derive(Debug, Serialize)]
pub struct HistoryReport {
    /// `None`: the visitor has no conversation on this chatflow yet.
    pub conversation: Option<ConversationView>,
    pub messages: Vec<MessageView>,
}

impl Render for HistoryReport {
    fn render(&self, st: &Style) -> String {
        let Some(c) = &self.conversation else {
            return format!(
                "{}\n",
                st.dim("no conversation yet on this chatflow (`chatflow send` or `chatflow chat` starts one)")
            );
        };
        let mut s = st.dim(&format!(
            "conversation {} ({}{}), {} messages, unread {}",
            c.id,
            c.status,
            c.assignee.as_ref().map(|a| format!(", with {a}")).unwrap_or_default(),
            c.last_seq,
            c.unread_count
        ));
        s.push('\n');
        for m in &self.messages {
            s.push_str(&m.render(st));
        }
        if self.messages.is_empty() {
            s.push_str(&st.dim("(no messages)"));
            s.push('\n');
        }
        s
    }
}

pub fn run(ctx: &Ctx, a: &HistoryArgs) -> CliResult<u8> {
    let conversation = match &a.conversation.conversation {
        Some(id) => {
            // Refresh the list first so a conversation started elsewhere is known.
            if !a.target.offline && ctx.client.session_info().is_some() {
                let _ = ctx.block_on(ctx.client.refresh_conversations());
            }
            Some(ctx.client.conversations()?.into_iter().find(|c| &c.id == id).ok_or_else(|| {
                CliError::new(Kind::NotFound, format!("conversation {id} is not one of this visitor's"))
            })?)
        }
        None => {
            let flow = resolve_flow(ctx, &a.target)?;
            current_conversation(ctx, flow.chatflow_id, a.target.offline)?
        }
    };
    let messages = match &conversation {
        Some(c) => ctx.block_on(ctx.client.messages(&c.id, a.before, a.limit))?,
        None => Vec::new(),
    };
    ctx.out.show(&HistoryReport {
        conversation: conversation.as_ref().map(ConversationView::from),
        messages: messages.iter().map(MessageView::from).collect(),
    });
    Ok(0)
}
