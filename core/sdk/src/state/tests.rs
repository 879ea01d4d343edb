//! The snapshot-then-changes contract: whatever happens, an observer that followed every change holds the same
//! state as one that joins at the end. Random sequences of what the sync code does (local echoes, confirmations,
//! team messages, wedges, deletions, read markers, status, typing, connection) drive real observers on a real store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;

use chatflow_protocol::{
    Author, AuthorKind, Channel, Conversation, ConversationStatus, Message, QuickReply, Reader, TypingAuthor,
};

use super::model::*;
use super::observer::{follow, ConversationFeed, ListFeed, WindowControl};
use super::read;
use crate::events::{ChatEvent, ConnectionState};
use crate::store::Store;
use crate::sync::state::SyncState;
use crate::sync::tables::{conversations, messages};

const CONVERSATIONS: [&str; 2] = ["c1", "c2"];

#[derive(Debug, Clone)]
enum Op {
    Send(usize),
    /// The server confirms the oldest (or, with `true`, the newest) unconfirmed echo.
    Confirm(usize, bool),
    TeamSays(usize, bool),
    Wedge(usize),
    Delete(usize),
    TeamReads(usize),
    VisitorReads(usize),
    SetStatus(usize, bool),
    Typing(usize, bool),
    Connection(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..CONVERSATIONS.len();
    prop_oneof![
        3 => c.clone().prop_map(Op::Send),
        3 => (c.clone(), any::<bool>()).prop_map(|(c, n)| Op::Confirm(c, n)),
        3 => (c.clone(), any::<bool>()).prop_map(|(c, q)| Op::TeamSays(c, q)),
        1 => c.clone().prop_map(Op::Wedge),
        1 => c.clone().prop_map(Op::Delete),
        2 => c.clone().prop_map(Op::TeamReads),
        1 => c.clone().prop_map(Op::VisitorReads),
        1 => (c.clone(), any::<bool>()).prop_map(|(c, o)| Op::SetStatus(c, o)),
        1 => (c, any::<bool>()).prop_map(|(c, t)| Op::Typing(c, t)),
        1 => (0u8..3).prop_map(Op::Connection),
    ]
}

/// A store and sync state with two empty conversations, and what the "server" has given out so far.
struct World {
    sync: Arc<SyncState>,
    seq: HashMap<&'static str, u64>,
    sent: u64,
    clock: i64,
    _dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        store
            .write(|tx| {
                for (i, id) in CONVERSATIONS.iter().enumerate() {
                    conversations::upsert(tx, &conversation(id, 1_000 + i as i64))?;
                }
                Ok(())
            })
            .unwrap();
        World { sync: Arc::new(SyncState::new(store)), seq: HashMap::new(), sent: 0, clock: 10_000, _dir: dir }
    }

    fn tick(&mut self) -> i64 {
        self.clock += 7;
        self.clock
    }

    fn echoes(&self, c: &str) -> Vec<crate::model::ChatMessage> {
        self.sync.store().read(|conn| messages::pending(conn, Some(c))).unwrap()
    }

    fn server_message(
        &mut self,
        c: &'static str,
        author: AuthorKind,
        client_id: Option<String>,
        body: String,
    ) -> Message {
        let seq = self.seq.entry(c).or_default();
        *seq += 1;
        let quick_replies =
            if body.ends_with('?') { vec![QuickReply { id: "yes".into(), label: "Yes".into() }] } else { Vec::new() };
        Message {
            conversation_id: c.to_owned(),
            seq: *seq,
            client_message_id: client_id,
            author: Author { kind: author, id: None, display_name: Some("Sam".into()), avatar_url: None },
            body,
            quick_replies,
            quick_reply_id: None,
            created_at: self.clock,
            survey: None,
            attachments: Vec::new(),
        }
    }

    fn apply(&mut self, op: &Op) {
        let now = self.tick();
        let events = self.sync.parts().0;
        match *op {
            Op::Send(i) => {
                let c = CONVERSATIONS[i];
                self.sent += 1;
                let cid = format!("m-{}", self.sent);
                let echo = self
                    .sync
                    .store()
                    .write(|tx| messages::insert_local_echo(tx, c, &cid, "hello", None, None, None, &[], now))
                    .unwrap();
                events.emit(ChatEvent::MessagesChanged { conversation_id: c.into(), messages: vec![echo] });
            }
            Op::Confirm(i, newest) => {
                let c = CONVERSATIONS[i];
                let echoes: Vec<_> = self.echoes(c).into_iter().filter(|m| m.state != wedged_marker()).collect();
                let pick = if newest { echoes.last() } else { echoes.first() };
                let Some(echo) = pick.cloned() else { return };
                let m = self.server_message(c, AuthorKind::Visitor, echo.client_message_id.clone(), echo.body);
                self.store_server(c, m);
            }
            Op::TeamSays(i, question) => {
                let c = CONVERSATIONS[i];
                let body = if question { "Did that help?" } else { "Here you go" }.to_owned();
                let m = self.server_message(c, AuthorKind::Agent, None, body);
                self.store_server(c, m);
            }
            Op::Wedge(i) | Op::Delete(i) => {
                let c = CONVERSATIONS[i];
                let Some(cid) = self.echoes(c).first().and_then(|m| m.client_message_id.clone()) else { return };
                let deleting = matches!(op, Op::Delete(_));
                self.sync
                    .store()
                    .write(|tx| {
                        if deleting {
                            messages::delete_echo(tx, &cid)?;
                        } else {
                            messages::set_echo_state(tx, &cid, "wedged")?;
                        }
                        Ok(())
                    })
                    .unwrap();
                events.emit(if deleting {
                    ChatEvent::MessageDeleted { conversation_id: c.into(), client_message_id: cid }
                } else {
                    ChatEvent::MessagesChanged { conversation_id: c.into(), messages: Vec::new() }
                });
            }
            Op::TeamReads(i) | Op::VisitorReads(i) => {
                let c = CONVERSATIONS[i];
                let seq = self.seq.get(c).copied().unwrap_or(0);
                let team = matches!(op, Op::TeamReads(_));
                self.sync
                    .store()
                    .write(|tx| {
                        if team {
                            conversations::set_agent_read(tx, c, seq)
                        } else {
                            conversations::set_read(tx, c, seq).map(|_| ())
                        }
                    })
                    .unwrap();
                let reader = if team { Reader::Agent } else { Reader::Visitor };
                events.emit(ChatEvent::ReadMarker { conversation_id: c.into(), reader, seq: seq as i64 });
            }
            Op::SetStatus(i, open) => {
                let c = CONVERSATIONS[i];
                let status = if open { ConversationStatus::Open } else { ConversationStatus::Closed };
                self.sync.store().write(|tx| conversations::set_status(tx, c, status)).unwrap();
                events.emit(ChatEvent::ConversationStatusChanged { conversation_id: c.into(), status });
            }
            Op::Typing(i, typing) => {
                let c = CONVERSATIONS[i];
                let author = TypingAuthor { kind: AuthorKind::Agent, display_name: Some("Sam".into()) };
                self.sync.parts().2.shown(c, &author, typing);
                events.emit(ChatEvent::Typing { conversation_id: c.into(), author, typing });
            }
            Op::Connection(n) => self.sync.set_connection_state(match n {
                0 => ConnectionState::Offline,
                1 => ConnectionState::Connecting,
                _ => ConnectionState::Online,
            }),
        }
    }

    fn store_server(&self, c: &str, m: Message) {
        let changed = self.sync.store().write(|tx| messages::apply_server_messages(tx, &[m])).unwrap();
        self.sync.emit(ChatEvent::MessagesChanged { conversation_id: c.into(), messages: changed });
    }
}

fn wedged_marker() -> crate::model::MessageState {
    crate::model::MessageState::Wedged { code: chatflow_protocol::ErrorCode::Internal, message: String::new() }
}

fn conversation(id: &str, created_at: i64) -> Conversation {
    Conversation {
        id: id.into(),
        chatflow_id: 7,
        visitor_id: "v".into(),
        status: ConversationStatus::Open,
        channel: Channel::MobileChat,
        assignee: None,
        created_at,
        last_seq: 0,
        agent_read_seq: 0,
        visitor_read_seq: 0,
    }
}

/// An observer's view, rebuilt from the updates it received.
struct Seen<S> {
    state: Option<S>,
    snapshots: usize,
    changes: usize,
}

impl<S> Default for Seen<S> {
    fn default() -> Self {
        Seen { state: None, snapshots: 0, changes: 0 }
    }
}

type SeenConversation = Arc<Mutex<Seen<ConversationState>>>;
type SeenList = Arc<Mutex<Seen<ConversationListState>>>;

fn watch_conversation(world: &World, id: &str, limit: u32) -> SeenConversation {
    let seen: SeenConversation = Arc::default();
    let sink = seen.clone();
    let listener = Arc::new(move |u: ConversationUpdate| {
        let mut s = sink.lock().unwrap();
        match &u {
            ConversationUpdate::Snapshot { state } => {
                s.snapshots += 1;
                s.state = Some(state.clone());
            }
            ConversationUpdate::Changed { .. } => {
                s.changes += 1;
                s.state.as_mut().expect("a change before the snapshot").apply(u);
            }
        }
    });
    let rx = world.sync.event_receiver();
    let now = crate::client::now_ms();
    let state = read::conversation_state(&world.sync, id, limit, now).unwrap().unwrap();
    let control = Arc::new(WindowControl::new(limit));
    let wake = control.wake.clone();
    tokio::spawn(follow(
        ConversationFeed::boxed(world.sync.clone(), id.to_owned(), control, listener, state),
        rx,
        wake,
    ));
    seen
}

fn watch_list(world: &World) -> SeenList {
    let seen: SeenList = Arc::default();
    let sink = seen.clone();
    let listener = Arc::new(move |u: ConversationListUpdate| {
        let mut s = sink.lock().unwrap();
        match &u {
            ConversationListUpdate::Snapshot { state } => {
                s.snapshots += 1;
                s.state = Some(state.clone());
            }
            ConversationListUpdate::Changed { .. } => {
                s.changes += 1;
                s.state.as_mut().expect("a change before the snapshot").apply(u);
            }
        }
    });
    let rx = world.sync.event_receiver();
    let state = read::list_state(&world.sync).unwrap();
    tokio::spawn(follow(ListFeed::boxed(world.sync.clone(), listener, state), rx, Arc::default()));
    seen
}

/// Waits until `seen` holds `expected` (the observers run on other tasks).
async fn converges<S: PartialEq + std::fmt::Debug>(seen: &Arc<Mutex<Seen<S>>>, expected: &S) -> Result<(), String> {
    for _ in 0..400 {
        if seen.lock().unwrap().state.as_ref() == Some(expected) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(format!("observer holds {:#?}\nexpected {expected:#?}", seen.lock().unwrap().state))
}

fn run(ops: Vec<Op>, join_at: usize) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let mut world = World::new();
        let early = watch_conversation(&world, "c1", 5);
        let early_list = watch_list(&world);
        let mut late_join = None;
        for (i, op) in ops.iter().enumerate() {
            if i == join_at {
                late_join = Some((watch_conversation(&world, "c1", 5), watch_list(&world)));
            }
            world.apply(op);
            if i % 4 == 0 {
                tokio::task::yield_now().await;
            }
        }
        let now = crate::client::now_ms();
        let expected = read::conversation_state(&world.sync, "c1", 5, now).unwrap().unwrap();
        let expected_list = read::list_state(&world.sync).unwrap();
        for pair in expected_list.rows.windows(2) {
            let newer_first =
                (pair[0].updated_at, &pair[1].conversation_id) > (pair[1].updated_at, &pair[0].conversation_id);
            prop_assert!(newer_first, "rows out of order: {:?}", expected_list.rows);
        }
        converges(&early, &expected).await.map_err(TestCaseError::fail)?;
        converges(&early_list, &expected_list).await.map_err(TestCaseError::fail)?;
        if let Some((mid, mid_list)) = late_join {
            converges(&mid, &expected).await.map_err(TestCaseError::fail)?;
            converges(&mid_list, &expected_list).await.map_err(TestCaseError::fail)?;
        }
        let early = early.lock().unwrap();
        prop_assert_eq!(early.snapshots, 1, "no observer fell behind: one snapshot, then changes");
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn observers_that_join_late_hold_the_same_state(ops in prop::collection::vec(op(), 1..60), join_at in 0usize..60) {
        run(ops, join_at)?;
    }
}

#[test]
fn a_full_cycle_moves_the_delivery_state_and_the_quick_replies() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async {
        let mut world = World::new();
        let seen = watch_conversation(&world, "c1", 10);
        let deliveries = |seen: &SeenConversation| -> Vec<Delivery> {
            seen.lock().unwrap().state.as_ref().unwrap().messages.iter().map(|m| m.delivery.clone()).collect()
        };
        let settle = |world: &World, seen: &SeenConversation| {
            let expected = read::conversation_state(&world.sync, "c1", 10, crate::client::now_ms()).unwrap().unwrap();
            let seen = seen.clone();
            async move { converges(&seen, &expected).await.unwrap() }
        };
        world.apply(&Op::Send(0));
        settle(&world, &seen).await;
        assert_eq!(deliveries(&seen), [Delivery::Queued]);
        let id = seen.lock().unwrap().state.as_ref().unwrap().messages[0].id;
        world.apply(&Op::Confirm(0, false));
        settle(&world, &seen).await;
        assert_eq!(deliveries(&seen), [Delivery::Sent]);
        world.apply(&Op::TeamReads(0));
        world.apply(&Op::TeamSays(0, true));
        settle(&world, &seen).await;
        let state = seen.lock().unwrap().state.clone().unwrap();
        assert_eq!(state.messages[0].id, id, "one id from local echo to server copy");
        assert_eq!(deliveries(&seen), [Delivery::ReadByTeam, Delivery::Received]);
        assert_eq!(state.details.quick_replies.len(), 1, "the team's question offers its buttons");
        assert_eq!(state.details.unread_count, 1);
        world.apply(&Op::Send(0));
        world.apply(&Op::Wedge(0));
        settle(&world, &seen).await;
        let state = seen.lock().unwrap().state.clone().unwrap();
        assert!(state.details.quick_replies.is_empty(), "the visitor said something after the question");
        assert!(matches!(deliveries(&seen)[2], Delivery::Failed { .. }), "{:?}", deliveries(&seen));
    });
}

#[test]
fn a_listener_that_falls_behind_gets_one_fresh_snapshot_and_memory_stays_bounded() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let mut world = World::new();
        let gate = Arc::new(std::sync::Barrier::new(2));
        let seen: SeenConversation = Arc::default();
        let (sink, g) = (seen.clone(), gate.clone());
        let blocked_once = std::sync::atomic::AtomicBool::new(true);
        let listener = Arc::new(move |u: ConversationUpdate| {
            if blocked_once.swap(false, std::sync::atomic::Ordering::SeqCst) {
                g.wait(); // a slow UI: stuck on its first update while the chat moves on
            }
            let mut s = sink.lock().unwrap();
            match u {
                ConversationUpdate::Snapshot { state } => {
                    s.snapshots += 1;
                    s.state = Some(state);
                }
                u => {
                    s.changes += 1;
                    s.state.as_mut().unwrap().apply(u);
                }
            }
        });
        let rx = world.sync.event_receiver();
        let state = read::conversation_state(&world.sync, "c1", 20, 0).unwrap().unwrap();
        let control = Arc::new(WindowControl::new(20));
        let wake = control.wake.clone();
        tokio::spawn(follow(
            ConversationFeed::boxed(world.sync.clone(), "c1".into(), control, listener, state),
            rx,
            wake,
        ));
        tokio::time::sleep(Duration::from_millis(20)).await;
        for _ in 0..1_100 {
            world.apply(&Op::TeamSays(0, false));
        }
        gate.wait();
        let expected = read::conversation_state(&world.sync, "c1", 20, 0).unwrap().unwrap();
        converges(&seen, &expected).await.unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.snapshots, 2, "the first snapshot, then one fresh one instead of the backlog");
        assert!(seen.changes < 10, "{} changes replayed", seen.changes);
        assert_eq!(seen.state.as_ref().unwrap().messages.len(), 20, "the window holds the latest 20");
    });
}

#[test]
fn reading_a_state_while_the_sender_claims_never_deadlocks() {
    // The sender takes the in-flight lock, then the store's reader; a state read must not take them the other way
    // round. Two threads hammer both paths; a deadlock shows as a thread that never finishes.
    let world = World::new();
    let sync = world.sync.clone();
    sync.parts().1.enqueue_message("c1", "m-x", "hello", None, None, None, None, 1).unwrap();
    let lane = crate::sync::queue::Lane::Conversation("c1".into());
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let claimer = {
        let (sync, done) = (sync.clone(), done_tx.clone());
        std::thread::spawn(move || {
            for _ in 0..3_000 {
                // Claim and release (dropping the claim without finishing it puts the entry back).
                drop(sync.parts().1.begin(&lane, 1).unwrap());
            }
            done.send(()).unwrap();
        })
    };
    let reader = std::thread::spawn(move || {
        for _ in 0..3_000 {
            read::conversation_state(&sync, "c1", 5, 1).unwrap().unwrap();
            read::list_state(&sync).unwrap();
        }
        done_tx.send(()).unwrap();
    });
    for _ in 0..2 {
        done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a thread is stuck: the state read and the sender deadlock");
    }
    claimer.join().unwrap();
    reader.join().unwrap();
}
