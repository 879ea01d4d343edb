//! Persistence of bot sessions (`bots/`): one row per bot conversation, and the visitor properties a bot reads and
//! writes.

use std::collections::BTreeMap;

use super::StoreResult;
use crate::bots::engine::BotSession;

pub trait BotStore {
    fn bot_session(&self, conversation_id: &str) -> StoreResult<Option<BotSession>>;
    /// Conversations whose bot has messages to store or a handoff to mark (work interrupted by a stop).
    fn bot_sessions_with_work(&self) -> StoreResult<Vec<String>>;
    fn visitor_properties(&self, visitor_id: &str) -> StoreResult<BTreeMap<String, String>>;
    /// `seq` of the bot's latest stored message in the conversation.
    fn last_bot_message_seq(&self, conversation_id: &str) -> StoreResult<Option<u64>>;
}
