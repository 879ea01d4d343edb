//! Identification: a verified user id given to a visitor's session, and what happens to the anonymous visitor.

use crate::store::tx::{in_tx, UnitOfWork};
use crate::store::{Identify, IdentifyOutcome, StoreError, StoreResult};

/// Identifies the session's visitor as `req.user_id`, in one unit of work:
/// - already this user: only the token and the email change;
/// - an anonymous visitor, and the user has a visitor (another device): the anonymous one is folded into it (its
///   conversations, consent records, device and push token move; it is deleted — its sockets must close);
/// - an anonymous visitor, first identification: it becomes the user's;
/// - the session belonged to another user: it switches to this user's visitor (a fresh one if none), merging nothing.
///
/// The presented token is replaced by the new one; the email is set when given.
pub fn identify<S: UnitOfWork + ?Sized>(store: &S, req: &Identify) -> StoreResult<IdentifyOutcome> {
    in_tx(store, |tx| {
        let current = tx
            .visitor(&req.current_visitor_id)?
            .ok_or_else(|| StoreError::NotFound(format!("visitor `{}` does not exist", req.current_visitor_id)))?;
        let existing = tx.visitor_of_user(&req.app_id, &req.user_id)?;
        let mut merged = Vec::new();
        let mut removed = None;
        let target_id = match (&current.user_id, existing) {
            (Some(u), _) if *u == req.user_id => current.id.clone(),
            (None, Some(user_visitor)) => {
                merged = tx.conversation_ids_of(&current.id)?;
                tx.fold_visitor(&current.id, &user_visitor.id)?;
                removed = Some(current.id.clone());
                user_visitor.id
            }
            (None, None) => {
                merged = tx.conversation_ids_of(&current.id)?;
                tx.set_visitor_user(&current.id, &req.user_id)?;
                current.id.clone()
            }
            (Some(_), Some(user_visitor)) => user_visitor.id,
            (Some(_), None) => {
                tx.insert_user_visitor(&req.fresh_visitor_id, &req.app_id, &req.user_id, req.now)?;
                req.fresh_visitor_id.clone()
            }
        };
        if let Some(email) = &req.email {
            tx.set_visitor_email(&target_id, email)?;
        }
        tx.replace_token(&req.current_token_hash, &req.new_token_hash, &target_id, req.now)?;
        let visitor = tx
            .visitor(&target_id)?
            .ok_or_else(|| StoreError::Corrupt(format!("visitor `{target_id}` vanished during identify")))?;
        Ok(IdentifyOutcome { visitor, merged_conversation_ids: merged, removed_visitor_id: removed })
    })
}
