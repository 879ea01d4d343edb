//! Property test of the send queue: any interleaving of send / attempt (delivered, ack lost, network failure,
//! refusal, expired token, cancelled) / restart / retry / edit / delete / time passing keeps per-conversation order,
//! puts consent records before the messages queued after them, loses nothing and duplicates nothing.
//!
//! The queue runs on the real store (SQLite in a temp dir, reopened on "restart"); the server is a model that
//! deduplicates by client id like the real one. At the end the network heals, wedged entries are retried and the
//! conversations are synced: the outbox must be empty and the store must equal the server.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use proptest::prelude::*;

use chatflow_core::protocol::{
    Author, AuthorKind, Channel, ConsentDecision, ConsentKind, ConsentRecordInput, Conversation, ConversationStatus,
    ErrorCode, Message,
};
use chatflow_core::store::Store;
use chatflow_core::sync::queue::{Lane, Outcome};
use chatflow_core::sync::send_queue::{Payload, SendQueue, Step};
use chatflow_core::sync::tables::{conversations, messages, outbox};
use chatflow_core::transport::backoff::Backoff;

const CONVERSATIONS: [&str; 2] = ["conv-a", "conv-b"];

#[derive(Debug, Clone, Copy)]
enum Fate {
    Delivered,
    AckLost,
    NetworkDown,
    Refused,
    TokenExpired,
    Cancelled,
}

#[derive(Debug, Clone)]
enum Op {
    Send { conversation: usize, with_consent: bool },
    Attempt { lane: usize, fate: Fate },
    Restart,
    Retry(usize),
    Edit(usize),
    Delete(usize),
    Tick(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let fate = prop_oneof![
        4 => Just(Fate::Delivered),
        2 => Just(Fate::AckLost),
        2 => Just(Fate::NetworkDown),
        1 => Just(Fate::Refused),
        1 => Just(Fate::TokenExpired),
        1 => Just(Fate::Cancelled),
    ];
    prop_oneof![
        4 => (0..CONVERSATIONS.len(), prop::bool::weighted(0.15))
            .prop_map(|(conversation, with_consent)| Op::Send { conversation, with_consent }),
        6 => (0..=CONVERSATIONS.len(), fate).prop_map(|(lane, fate)| Op::Attempt { lane, fate }),
        1 => Just(Op::Restart),
        1 => any::<usize>().prop_map(Op::Retry),
        1 => any::<usize>().prop_map(Op::Edit),
        1 => any::<usize>().prop_map(Op::Delete),
        2 => (0i64..40_000).prop_map(Op::Tick),
    ]
}

/// The server as the queue sees it: messages deduplicated by client id, consents by record id, and the order in
/// which everything arrived.
#[derive(Default)]
struct ModelServer {
    messages: BTreeMap<String, Vec<Message>>,
    by_client_id: HashMap<String, (String, u64)>,
    consents: HashSet<String>,
    arrival: HashMap<String, usize>,
    clock: usize,
}

impl ModelServer {
    /// Stores (or finds) the payload; `Err(code)` for a conflicting body.
    fn accept(&mut self, payload: &Payload) -> Result<Option<Message>, ErrorCode> {
        match payload {
            Payload::Consent { record_id, .. } => {
                if self.consents.insert(record_id.clone()) {
                    self.clock += 1;
                    self.arrival.insert(record_id.clone(), self.clock);
                }
                Ok(None)
            }
            Payload::Message { conversation_id, client_message_id, request, .. } => {
                if let Some((conv, seq)) = self.by_client_id.get(client_message_id) {
                    let stored = &self.messages[conv][(*seq - 1) as usize];
                    if stored.body != request.body {
                        return Err(ErrorCode::IdempotencyConflict);
                    }
                    return Ok(Some(stored.clone()));
                }
                let list = self.messages.entry(conversation_id.clone()).or_default();
                let seq = list.len() as u64 + 1;
                let m = Message {
                    conversation_id: conversation_id.clone(),
                    seq,
                    client_message_id: Some(client_message_id.clone()),
                    author: Author {
                        kind: AuthorKind::Visitor,
                        id: Some("v".into()),
                        display_name: None,
                        avatar_url: None,
                    },
                    body: request.body.clone(),
                    quick_replies: vec![],
                    quick_reply_id: None,
                    created_at: 1,
                    survey: None,
                    attachments: Vec::new(),
                };
                list.push(m.clone());
                self.by_client_id.insert(client_message_id.clone(), (conversation_id.clone(), seq));
                self.clock += 1;
                self.arrival.insert(client_message_id.clone(), self.clock);
                Ok(Some(m))
            }
        }
    }
}

struct Harness {
    dir: tempfile::TempDir,
    queue: Option<SendQueue>,
    server: ModelServer,
    now: i64,
    next_id: usize,
    /// Every client id ever enqueued (messages and consents), in enqueue order, with its lane.
    enqueued: Vec<(String, Lane)>,
    deleted: HashSet<String>,
    wedged_ever: HashSet<String>,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        store
            .write(|tx| {
                for id in CONVERSATIONS {
                    conversations::upsert(
                        tx,
                        &Conversation {
                            id: id.into(),
                            chatflow_id: 1,
                            visitor_id: "v".into(),
                            status: ConversationStatus::Open,
                            channel: Channel::MobileChat,
                            assignee: None,
                            created_at: 0,
                            last_seq: 0,
                            agent_read_seq: 0,
                            visitor_read_seq: 0,
                        },
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let queue = Some(SendQueue::new(store, Backoff::SEND));
        Harness {
            dir,
            queue,
            server: ModelServer::default(),
            now: 1_000_000,
            next_id: 0,
            enqueued: vec![],
            deleted: HashSet::new(),
            wedged_ever: HashSet::new(),
        }
    }

    fn queue(&self) -> &SendQueue {
        self.queue.as_ref().unwrap()
    }

    fn lane(&self, i: usize) -> Lane {
        match CONVERSATIONS.get(i) {
            Some(c) => Lane::Conversation((*c).into()),
            None => Lane::Consents,
        }
    }

    fn pick(&self, k: usize) -> Option<String> {
        let entries = self.queue().store().read(outbox::all).unwrap();
        (!entries.is_empty()).then(|| entries[k % entries.len()].client_id.clone())
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Send { conversation, with_consent } => {
                self.next_id += 1;
                let cid = format!("m{}", self.next_id);
                let conv = CONVERSATIONS[conversation];
                let consent_id = format!("k{}", self.next_id);
                let input = ConsentRecordInput {
                    chatflow_id: 1,
                    kind: ConsentKind::ProcessData,
                    decision: ConsentDecision::Implied,
                    text_hash: "h".into(),
                    subscription_type: None,
                    decided_at: self.now,
                };
                let consent = with_consent.then_some((consent_id.as_str(), &input));
                let echo = self
                    .queue()
                    .enqueue_message(conv, &cid, &format!("body of {cid}"), None, None, Some("v"), consent, self.now)
                    .unwrap();
                assert_eq!(echo.seq, None);
                if with_consent {
                    self.enqueued.push((consent_id, Lane::Consents));
                }
                self.enqueued.push((cid, Lane::Conversation(conv.into())));
            }
            Op::Attempt { lane, fate } => {
                let lane = self.lane(lane);
                let Step::Send(claim) = self.queue().begin(&lane, self.now).unwrap() else { return };
                let cid = claim.entry.client_id.clone();
                // Nothing may change an entry while it is on the wire.
                assert!(self.queue().delete(&cid).is_err());
                assert!(
                    self.queue().edit(&cid, "changed").is_err() || matches!(claim.payload, Payload::Consent { .. })
                );
                assert!(matches!(self.queue().begin(&lane, self.now).unwrap(), Step::Busy));
                let (outcome, stored) = match fate {
                    Fate::Cancelled => {
                        drop(claim);
                        return;
                    }
                    Fate::Delivered | Fate::AckLost => match self.server.accept(&claim.payload) {
                        Ok(stored) if matches!(fate, Fate::Delivered) => (Outcome::Delivered, stored),
                        Ok(_) => (Outcome::Recoverable, None),
                        Err(code) => (Outcome::Refused { code, message: "conflict".into() }, None),
                    },
                    Fate::NetworkDown => (Outcome::Recoverable, None),
                    Fate::Refused => (Outcome::Refused { code: ErrorCode::MessageTooLong, message: "no".into() }, None),
                    Fate::TokenExpired => (Outcome::AuthRequired, None),
                };
                if matches!(outcome, Outcome::Refused { .. }) {
                    self.wedged_ever.insert(cid);
                }
                self.queue().finish(claim, &outcome, stored.as_ref(), self.now, 0.5).unwrap();
            }
            Op::Restart => {
                let store = self.queue.take().unwrap().store().clone();
                drop(store);
                let store = Arc::new(Store::open(self.dir.path()).unwrap());
                self.queue = Some(SendQueue::new(store, Backoff::SEND));
            }
            Op::Retry(k) => {
                if let Some(cid) = self.pick(k) {
                    self.queue().retry(&cid).unwrap();
                }
            }
            Op::Edit(k) => {
                if let Some(cid) = self.pick(k) {
                    let res = self.queue().edit(&cid, &format!("edited {cid} at {}", self.now));
                    assert_eq!(res.is_ok(), cid.starts_with('m'), "{res:?}");
                }
            }
            Op::Delete(k) => {
                if let Some(cid) = self.pick(k) {
                    self.queue().delete(&cid).unwrap();
                    self.deleted.insert(cid);
                }
            }
            Op::Tick(ms) => self.now += ms,
        }
    }

    /// What the receive side does: apply every server message (confirms echoes, clears their outbox rows).
    fn sync_from_server(&self) {
        let all: Vec<Message> = self.server.messages.values().flatten().cloned().collect();
        self.queue().store().write(|tx| messages::apply_server_messages(tx, &all)).unwrap();
    }

    /// The network heals: retry wedged entries, deliver everything, sync.
    fn drain(&mut self) {
        for round in 0..4 {
            self.sync_from_server();
            for e in self.queue().store().read(outbox::all).unwrap() {
                self.queue().retry(&e.client_id).unwrap();
            }
            self.now += 1_000_000;
            for _ in 0..(self.enqueued.len() * 3 + 3) {
                let mut progressed = false;
                for lane in 0..=CONVERSATIONS.len() {
                    let lane = self.lane(lane);
                    if let Step::Send(claim) = self.queue().begin(&lane, self.now).unwrap() {
                        progressed = true;
                        let (outcome, stored) = match self.server.accept(&claim.payload) {
                            Ok(stored) => (Outcome::Delivered, stored),
                            Err(code) => (Outcome::Refused { code, message: "conflict".into() }, None),
                        };
                        self.queue().finish(claim, &outcome, stored.as_ref(), self.now, 0.5).unwrap();
                    }
                }
                if !progressed {
                    break;
                }
            }
            if self.queue().store().read(|c| outbox::count(c, "queued")).unwrap() == 0 {
                self.sync_from_server();
                if self.queue().store().read(outbox::all).unwrap().is_empty() {
                    return;
                }
            }
            assert!(round < 3, "the queue does not drain");
        }
    }

    fn check(&self) {
        let store = self.queue().store();
        assert!(store.read(outbox::all).unwrap().is_empty(), "outbox not empty after draining");
        // Nothing lost: every entry not deleted reached the server.
        for (cid, lane) in &self.enqueued {
            if self.deleted.contains(cid) {
                continue;
            }
            match lane {
                Lane::Consents => assert!(self.server.consents.contains(cid), "consent {cid} lost"),
                Lane::Conversation(_) => assert!(self.server.by_client_id.contains_key(cid), "message {cid} lost"),
            }
        }
        // Order: entries of one lane that were never wedged arrived in enqueue order; a consent record arrived
        // before every message queued after it.
        let arrived = |cid: &String| self.server.arrival.get(cid).copied();
        let clean: Vec<&(String, Lane)> =
            self.enqueued.iter().filter(|(c, _)| !self.wedged_ever.contains(c) && arrived(c).is_some()).collect();
        for (i, (a, lane_a)) in clean.iter().enumerate() {
            for (b, lane_b) in &clean[i + 1..] {
                if lane_a == lane_b || *lane_a == Lane::Consents {
                    assert!(arrived(a) < arrived(b), "{a} ({lane_a:?}) arrived after {b} ({lane_b:?})");
                }
            }
        }
        // Nothing duplicated, store == server.
        for conv in CONVERSATIONS {
            let server: Vec<(i64, Option<String>, String)> = self
                .server
                .messages
                .get(conv)
                .map(|l| l.iter().map(|m| (m.seq as i64, m.client_message_id.clone(), m.body.clone())).collect())
                .unwrap_or_default();
            let local: Vec<(i64, Option<String>, String)> = store
                .read(|c| messages::page(c, conv, None, 10_000))
                .unwrap()
                .into_iter()
                .map(|m| (m.seq.expect("an unconfirmed echo after draining"), m.client_message_id, m.body))
                .collect();
            assert_eq!(local, server, "store and server differ for {conv}");
            let ids: HashSet<_> = server.iter().map(|(_, c, _)| c.clone()).collect();
            assert_eq!(ids.len(), server.len(), "duplicate on the server");
            let cursor = store.read(|c| conversations::get(c, conv)).unwrap().unwrap();
            assert_eq!(cursor.synced_seq, server.len() as i64);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_keeps_order_and_loses_nothing(ops in prop::collection::vec(op(), 1..60)) {
        let mut h = Harness::new();
        for op in &ops {
            h.apply(op);
        }
        h.drain();
        h.check();
    }
}

#[test]
fn a_wedged_message_lets_the_next_one_go_and_can_be_retried_after_an_edit() {
    let mut h = Harness::new();
    h.apply(&Op::Send { conversation: 0, with_consent: false });
    h.apply(&Op::Send { conversation: 0, with_consent: false });
    h.apply(&Op::Attempt { lane: 0, fate: Fate::Refused });
    let pending = h.queue().pending().unwrap();
    assert!(matches!(
        &pending[0].state,
        chatflow_core::model::MessageState::Wedged { code: ErrorCode::MessageTooLong, .. }
    ));
    h.apply(&Op::Attempt { lane: 0, fate: Fate::Delivered });
    assert_eq!(h.server.messages["conv-a"][0].client_message_id.as_deref(), Some("m2"));
    h.queue().edit("m1", "shorter").unwrap();
    h.apply(&Op::Attempt { lane: 0, fate: Fate::Delivered });
    assert_eq!(h.server.messages["conv-a"][1].body, "shorter");
    h.drain();
    h.check();
}

#[test]
fn a_consent_record_goes_before_the_message_it_came_with() {
    let mut h = Harness::new();
    h.apply(&Op::Send { conversation: 1, with_consent: true });
    let lane = h.lane(1);
    assert!(matches!(h.queue().begin(&lane, h.now).unwrap(), Step::AwaitConsents));
    h.apply(&Op::Attempt { lane: 2, fate: Fate::Delivered });
    assert!(matches!(h.queue().begin(&lane, h.now).unwrap(), Step::Send(_)));
    h.drain();
    h.check();
}

#[test]
fn a_recoverable_failure_backs_off_and_a_restart_keeps_the_entry() {
    let mut h = Harness::new();
    h.apply(&Op::Send { conversation: 0, with_consent: false });
    h.apply(&Op::Attempt { lane: 0, fate: Fate::NetworkDown });
    let lane = h.lane(0);
    assert!(matches!(h.queue().begin(&lane, h.now).unwrap(), Step::WaitUntil(t) if t > h.now));
    h.apply(&Op::Restart);
    assert!(matches!(h.queue().begin(&lane, h.now).unwrap(), Step::WaitUntil(_)));
    h.apply(&Op::Tick(60_000));
    h.apply(&Op::Attempt { lane: 0, fate: Fate::AckLost });
    h.apply(&Op::Restart);
    h.apply(&Op::Tick(60_000));
    h.apply(&Op::Attempt { lane: 0, fate: Fate::Delivered });
    assert_eq!(h.server.messages["conv-a"].len(), 1);
    h.check();
}
