//! Saving a bot's progress: the session and the visitor properties its answers set, together.

use chatflow_protocol::limits::MAX_PROPERTIES;

use crate::bots::engine::BotSession;
use crate::store::tx::{in_tx, UnitOfWork};
use crate::store::StoreResult;

/// Saves the session and merges `properties` into the visitor's chat properties, in one unit of work. The cap of
/// `PUT /v1/visitor/properties` holds: existing names may change, new ones are added only below `MAX_PROPERTIES`.
pub fn save_session<S: UnitOfWork + ?Sized>(
    store: &S,
    session: &BotSession,
    visitor_id: &str,
    properties: &[(String, String)],
    now: i64,
) -> StoreResult<()> {
    in_tx(store, |tx| {
        tx.upsert_bot_session(session, now)?;
        if properties.is_empty() {
            return Ok(());
        }
        let mut props = tx.visitor_properties(visitor_id)?;
        for (name, value) in properties {
            if props.contains_key(name) || props.len() < MAX_PROPERTIES {
                props.insert(name.clone(), value.clone());
            }
        }
        tx.set_visitor_properties(visitor_id, &props)
    })
}
