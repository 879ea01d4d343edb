//! Turns a page of the log into frames. Messages and notes never change once written, so a replay shows them exactly
//! as they were; a `conversation` event shows the row as it is at delivery (never older than the change it reports,
//! which is what "replace the row" needs). An event whose conversation (or note) was deleted since is skipped: its
//! cursor still advances.

use chatflow_protocol::Chatflow;

use super::{cursor_string, FeedFrame};
use crate::inbox::views::summary;
use crate::notes::Note;
use crate::realtime::Hub;
use crate::store::agent::{FeedEvent, FeedKind};
use crate::store::{AgentRecord, Paging, Store, StoreResult};

/// What a read of the log found.
pub enum Page {
    /// Frames to send, each with its log position (`None`: nothing to show, only advance the cursor).
    Events(Vec<(i64, Option<FeedFrame>)>),
    /// The cursor is older than the kept history (or from another database).
    Resync,
}

/// Events kept per read (a page; the socket reads again while pages are full).
pub const PAGE: u32 = 256;

/// Reads and renders the app's events after `cursor`.
pub fn page(s: &dyn Store, hub: &Hub, app_id: &str, cursor: i64) -> StoreResult<Page> {
    let events = s.feed_events(app_id, cursor, PAGE)?;
    let pos = s.feed_position()?;
    // Read after the events: a prune between the two reads is caught here.
    if cursor < pos.horizon || cursor > pos.last.max(events.last().map_or(0, |e| e.id)) {
        return Ok(Page::Resync);
    }
    let mut lookups: Option<(Vec<AgentRecord>, Vec<Chatflow>)> = None;
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let frame = render(s, hub, app_id, &event, &mut lookups)?;
        out.push((event.id, frame));
    }
    Ok(Page::Events(out))
}

fn render(
    s: &dyn Store,
    hub: &Hub,
    app_id: &str,
    event: &FeedEvent,
    lookups: &mut Option<(Vec<AgentRecord>, Vec<Chatflow>)>,
) -> StoreResult<Option<FeedFrame>> {
    let cursor = cursor_string(event.id);
    let reference = event.reference.as_deref().unwrap_or_default();
    Ok(match event.kind {
        FeedKind::Conversation => {
            let Some(entry) = s.inbox_entry(&event.conversation_id)?.filter(|e| e.conversation.app_id == app_id) else {
                return Ok(None);
            };
            if lookups.is_none() {
                *lookups = Some((s.agents(app_id)?, s.chatflows(app_id)?));
            }
            let (agents, flows) = lookups.as_ref().map(|(a, f)| (a.as_slice(), f.as_slice())).unwrap_or_default();
            Some(FeedFrame::Conversation { cursor, row: Box::new(summary(entry, agents, flows, hub)) })
        }
        FeedKind::Message => {
            let Ok(seq) = reference.parse::<u64>() else { return Ok(None) };
            let page = s.messages(&event.conversation_id, Paging::After(seq.saturating_sub(1)), 1)?;
            page.messages.into_iter().find(|m| m.seq == seq).map(|message| FeedFrame::Message { cursor, message })
        }
        FeedKind::Note => {
            s.note(reference)?.filter(|n| n.app_id == app_id).map(|n| FeedFrame::Note { cursor, note: Note::from(n) })
        }
    })
}
