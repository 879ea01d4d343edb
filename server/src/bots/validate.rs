//! Save-time checks of a bot: its settings and its rule tree. Every problem is reported (the admin tool shows them as
//! a list of alerts), not only the first: bad values, duplicate ids, references to missing nodes, nodes that cannot be
//! reached from the start, and loops that never stop to ask the visitor anything (the bot would talk forever).

use std::collections::{HashMap, HashSet, VecDeque};

use chatflow_protocol::limits::{
    is_valid_client_id, MAX_MESSAGE_CHARS, MAX_PROPERTY_KEY_CHARS, MAX_PROPERTY_VALUE_CHARS,
};
use chatflow_protocol::{BotAction, BotFlow, BotNode, BotSettings, ConditionOp, ConditionSubject};
use serde::{Deserialize, Serialize};

/// Most nodes a flow may hold.
pub const MAX_NODES: usize = 200;
/// Most quick replies under one question.
pub const MAX_QUICK_REPLIES: usize = 10;
/// Longest quick-reply label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;
/// Longest node id, in characters.
pub const MAX_NODE_ID_CHARS: usize = 64;
/// Longest session timeout: 30 days.
pub const MAX_SESSION_TIMEOUT_MINUTES: u32 = 30 * 24 * 60;
/// Longest delay between two bot messages.
pub const MAX_MESSAGE_DELAY_MS: u32 = 10_000;

/// What is wrong with a bot (one entry of the editor's "alerts" list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlowProblemKind {
    /// A setting or a node field has a value outside what is accepted.
    InvalidValue,
    /// Two nodes share an id.
    DuplicateNode,
    /// `start`, a `next`, a branch rule or `otherwise` names a node that does not exist.
    MissingTarget,
    /// The node cannot be reached from `start` (a disconnected action).
    Unreachable,
    /// The nodes form a loop with no question in it: the bot would send messages forever.
    CycleWithoutQuestion,
}

/// One problem of a bot, with the JSON path of the offending field (`bot.flow.nodes[3].next`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlowProblem {
    pub kind: FlowProblemKind,
    /// The node concerned, when the problem is about one node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FlowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

struct Problems(Vec<FlowProblem>);

impl Problems {
    fn push(&mut self, kind: FlowProblemKind, node: Option<&str>, field: String, message: String) {
        self.0.push(FlowProblem { kind, node_id: node.map(str::to_owned), field, message });
    }

    fn invalid(&mut self, node: Option<&str>, field: String, message: String) {
        self.push(FlowProblemKind::InvalidValue, node, field, message);
    }

    fn text(&mut self, node: Option<&str>, field: String, value: &str, min: usize, max: usize) {
        let n = chars(value.trim());
        if n < min || chars(value) > max {
            self.invalid(node, field, format!("must be {min}..={max} characters, got {}", chars(value)));
        }
    }

    fn property_name(&mut self, node: Option<&str>, field: String, name: &str) {
        if name.trim().is_empty() || chars(name) > MAX_PROPERTY_KEY_CHARS {
            self.invalid(node, field, format!("a property name must be 1..={MAX_PROPERTY_KEY_CHARS} characters"));
        }
    }
}

/// Checks the bot's settings and its flow. Empty when the bot can be saved.
pub fn validate_bot(bot: &BotSettings) -> Vec<FlowProblem> {
    let mut p = Problems(Vec::new());
    if !(1..=MAX_SESSION_TIMEOUT_MINUTES).contains(&bot.session_timeout_minutes) {
        p.invalid(
            None,
            "bot.session_timeout_minutes".into(),
            format!("must be between 1 and {MAX_SESSION_TIMEOUT_MINUTES} minutes, got {}", bot.session_timeout_minutes),
        );
    }
    if bot.message_delay_ms > MAX_MESSAGE_DELAY_MS {
        p.invalid(
            None,
            "bot.message_delay_ms".into(),
            format!("must be at most {MAX_MESSAGE_DELAY_MS} ms, got {}", bot.message_delay_ms),
        );
    }
    p.text(None, "bot.error_reply".into(), &bot.error_reply, 0, MAX_MESSAGE_CHARS);
    if let Some(name) = &bot.display_name {
        p.text(None, "bot.display_name".into(), name, 1, 200);
    }
    if let Some(url) = &bot.avatar_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) || chars(url) > 2048 {
            p.invalid(None, "bot.avatar_url".into(), "must be an http(s) URL of at most 2048 characters".into());
        }
    }
    p.0.extend(validate_flow(&bot.flow));
    p.0
}

/// The nodes a node continues to, with the field naming each (`next`, `rules[0].next`, `otherwise`).
pub fn targets(action: &BotAction) -> Vec<(String, &str)> {
    match action {
        BotAction::SendMessage { next, .. } | BotAction::Ask { next, .. } | BotAction::SetProperty { next, .. } => {
            next.iter().map(|n| ("next".to_owned(), n.as_str())).collect()
        }
        BotAction::Branch { rules, otherwise } => rules
            .iter()
            .enumerate()
            .map(|(j, r)| (format!("rules[{j}].next"), r.next.as_str()))
            .chain(otherwise.iter().map(|o| ("otherwise".to_owned(), o.as_str())))
            .collect(),
        BotAction::Handoff { .. } | BotAction::End { .. } => Vec::new(),
    }
}

fn check_node(p: &mut Problems, i: usize, node: &BotNode) {
    let id = Some(node.id.as_str());
    let at = |what: &str| format!("bot.flow.nodes[{i}].{what}");
    match &node.action {
        BotAction::SendMessage { text, .. } => p.text(id, at("text"), text, 1, MAX_MESSAGE_CHARS),
        BotAction::Ask { text, quick_replies, save_as, .. } => {
            p.text(id, at("text"), text, 1, MAX_MESSAGE_CHARS);
            if quick_replies.len() > MAX_QUICK_REPLIES {
                let message = format!("at most {MAX_QUICK_REPLIES} quick replies, got {}", quick_replies.len());
                p.invalid(id, at("quick_replies"), message);
            }
            let mut seen = HashSet::new();
            for (j, q) in quick_replies.iter().enumerate() {
                if !is_valid_client_id(&q.id) {
                    let message = format!("quick reply id `{}` must be 1..=64 characters of [A-Za-z0-9_-]", q.id);
                    p.invalid(id, at(&format!("quick_replies[{j}].id")), message);
                } else if !seen.insert(q.id.as_str()) {
                    let message = format!("quick reply id `{}` is used twice in this question", q.id);
                    p.invalid(id, at(&format!("quick_replies[{j}].id")), message);
                }
                p.text(id, at(&format!("quick_replies[{j}].label")), &q.label, 1, MAX_LABEL_CHARS);
            }
            if let Some(name) = save_as {
                p.property_name(id, at("save_as"), name);
            }
        }
        BotAction::Branch { rules, otherwise } => {
            if rules.is_empty() {
                p.invalid(id, at("rules"), "a branch needs at least one rule".into());
            }
            if rules.is_empty() && otherwise.is_none() {
                p.invalid(id, at("otherwise"), "a branch without rules must at least name `otherwise`".into());
            }
            for (j, r) in rules.iter().enumerate() {
                let c = &r.condition;
                if let ConditionSubject::Property { name } = &c.subject {
                    p.property_name(id, at(&format!("rules[{j}].condition.subject.name")), name);
                }
                if matches!(c.op, ConditionOp::Equals | ConditionOp::Contains) {
                    p.text(id, at(&format!("rules[{j}].condition.value")), &c.value, 1, MAX_PROPERTY_VALUE_CHARS);
                }
            }
        }
        BotAction::SetProperty { name, value, .. } => {
            p.property_name(id, at("name"), name);
            p.text(id, at("value"), value, 0, MAX_PROPERTY_VALUE_CHARS);
        }
        BotAction::Handoff { text } | BotAction::End { text } => {
            if let Some(t) = text {
                p.text(id, at("text"), t, 1, MAX_MESSAGE_CHARS);
            }
        }
    }
}

/// Checks a rule tree: node ids, field values, references, reachability from `start`, and loops without a question.
pub fn validate_flow(flow: &BotFlow) -> Vec<FlowProblem> {
    let mut p = Problems(Vec::new());
    if flow.nodes.is_empty() {
        p.invalid(None, "bot.flow.nodes".into(), "a flow needs at least one node".into());
        return p.0;
    }
    if flow.nodes.len() > MAX_NODES {
        let message = format!("at most {MAX_NODES} nodes, got {}", flow.nodes.len());
        p.invalid(None, "bot.flow.nodes".into(), message);
        return p.0;
    }
    // Index of each id's first node; later duplicates are reported and left out of the graph.
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, node) in flow.nodes.iter().enumerate() {
        let field = format!("bot.flow.nodes[{i}].id");
        if node.id.trim().is_empty() || chars(&node.id) > MAX_NODE_ID_CHARS {
            let message = format!("a node id must be 1..={MAX_NODE_ID_CHARS} characters");
            p.invalid(Some(&node.id), field, message);
        } else if index.contains_key(node.id.as_str()) {
            let message = format!("node id `{}` is used by another node", node.id);
            p.push(FlowProblemKind::DuplicateNode, Some(&node.id), field, message);
        } else {
            index.insert(node.id.as_str(), i);
        }
        check_node(&mut p, i, node);
    }
    // Edges between existing nodes; references to missing ones are problems.
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); flow.nodes.len()];
    for (i, node) in flow.nodes.iter().enumerate() {
        if index.get(node.id.as_str()) != Some(&i) {
            continue;
        }
        for (field, target) in targets(&node.action) {
            match index.get(target) {
                Some(&j) => edges[i].push(j),
                None => p.push(
                    FlowProblemKind::MissingTarget,
                    Some(&node.id),
                    format!("bot.flow.nodes[{i}].{field}"),
                    format!("points to unknown node `{target}`"),
                ),
            }
        }
    }
    let Some(&start) = index.get(flow.start.as_str()) else {
        p.push(
            FlowProblemKind::MissingTarget,
            None,
            "bot.flow.start".into(),
            format!("points to unknown node `{}`", flow.start),
        );
        return p.0;
    };
    let reachable = reach(&edges, start, |_| true);
    for (i, node) in flow.nodes.iter().enumerate() {
        if index.get(node.id.as_str()) == Some(&i) && !reachable[i] {
            p.push(
                FlowProblemKind::Unreachable,
                Some(&node.id),
                format!("bot.flow.nodes[{i}]"),
                format!("node `{}` cannot be reached from the start node `{}`", node.id, flow.start),
            );
        }
    }
    for cycle in cycles_without_question(flow, &edges) {
        let ids: Vec<&str> = cycle.iter().map(|&i| flow.nodes[i].id.as_str()).collect();
        p.push(
            FlowProblemKind::CycleWithoutQuestion,
            Some(ids[0]),
            format!("bot.flow.nodes[{}]", cycle[0]),
            format!(
                "nodes `{}` loop without asking anything: the bot would send messages forever; put a question in \
                 the loop or break it",
                ids.join("`, `")
            ),
        );
    }
    p.0
}

/// Nodes reachable from `from` (itself included) following edges whose source passes `through`.
fn reach(edges: &[Vec<usize>], from: usize, through: impl Fn(usize) -> bool) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut queue = VecDeque::from([from]);
    seen[from] = true;
    while let Some(i) = queue.pop_front() {
        if !through(i) {
            continue;
        }
        for &j in &edges[i] {
            if !seen[j] {
                seen[j] = true;
                queue.push_back(j);
            }
        }
    }
    seen
}

/// Groups of nodes (strongly connected, in flow order) that loop through no `ask` node. A question stops the bot
/// until the visitor answers, so a loop through one is fine (re-asking); a loop without one never stops.
fn cycles_without_question(flow: &BotFlow, edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = flow.nodes.len();
    let is_ask = |i: usize| matches!(flow.nodes[i].action, BotAction::Ask { .. });
    // Edges among non-question nodes only (flows are small: a reachability matrix is simplest).
    let quiet: Vec<Vec<usize>> = (0..n)
        .map(|i| if is_ask(i) { Vec::new() } else { edges[i].iter().copied().filter(|&j| !is_ask(j)).collect() })
        .collect();
    let from: Vec<Vec<bool>> = (0..n).map(|i| reach(&quiet, i, |_| true)).collect();
    let mut done = vec![false; n];
    let mut out = Vec::new();
    for i in 0..n {
        if done[i] || is_ask(i) {
            continue;
        }
        let group: Vec<usize> = (0..n).filter(|&j| from[i][j] && from[j][i]).collect();
        for &j in &group {
            done[j] = true;
        }
        let self_loop = quiet[i].contains(&i);
        if group.len() > 1 || self_loop {
            out.push(group);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flow(v: serde_json::Value) -> BotFlow {
        serde_json::from_value(v).unwrap()
    }

    fn kinds(f: &BotFlow) -> Vec<(FlowProblemKind, Option<String>)> {
        validate_flow(f).into_iter().map(|p| (p.kind, p.node_id)).collect()
    }

    #[test]
    fn a_good_flow_has_no_problem_and_loops_through_a_question_are_fine() {
        let f = flow(json!({"start": "hi", "nodes": [
            {"id": "hi", "action": "send_message", "text": "Hello", "next": "ask"},
            {"id": "ask", "action": "ask", "text": "Email?", "validation": "email", "save_as": "email", "next": "b"},
            {"id": "b", "action": "branch", "rules": [
                {"condition": {"subject": {"kind": "last_answer"}, "op": "contains", "value": "@test"}, "next": "ask"}
            ], "otherwise": "end"},
            {"id": "end", "action": "end", "text": "Bye"}
        ]}));
        assert_eq!(validate_flow(&f), vec![]);
    }

    #[test]
    fn reports_every_problem_with_its_node() {
        let f = flow(json!({"start": "a", "nodes": [
            {"id": "a", "action": "send_message", "text": "1", "next": "b"},
            {"id": "b", "action": "set_property", "name": "x", "value": "y", "next": "a"},
            {"id": "lost", "action": "end"},
            {"id": "a", "action": "end"},
            {"id": "q", "action": "ask", "text": "?", "quick_replies": [{"id": "y", "label": "Yes"},
                {"id": "y", "label": ""}], "next": "ghost"},
            {"id": "br", "action": "branch", "rules": []}
        ]}));
        let found = kinds(&f);
        let has = |k: FlowProblemKind, id: &str| found.contains(&(k, Some(id.to_owned())));
        assert!(has(FlowProblemKind::DuplicateNode, "a"), "{found:?}");
        assert!(has(FlowProblemKind::MissingTarget, "q"), "{found:?}");
        assert!(has(FlowProblemKind::Unreachable, "lost"), "{found:?}");
        assert!(has(FlowProblemKind::Unreachable, "q"), "{found:?}");
        assert!(has(FlowProblemKind::CycleWithoutQuestion, "a"), "{found:?}");
        assert!(has(FlowProblemKind::InvalidValue, "q"), "duplicate quick reply id and empty label: {found:?}");
        assert!(has(FlowProblemKind::InvalidValue, "br"), "branch without rules: {found:?}");
        let cycle = validate_flow(&f).into_iter().find(|p| p.kind == FlowProblemKind::CycleWithoutQuestion).unwrap();
        assert!(cycle.message.contains("`a`, `b`"), "{}", cycle.message);
    }

    #[test]
    fn missing_start_self_loop_and_empty_flow() {
        let f = flow(json!({"start": "nope", "nodes": [{"id": "a", "action": "end"}]}));
        let problems = validate_flow(&f);
        assert_eq!(problems[0].field, "bot.flow.start");
        assert!(problems[0].message.contains("unknown node `nope`"));
        let f = flow(json!({"start": "a", "nodes": [{"id": "a", "action": "send_message", "text": "x", "next": "a"}]}));
        assert_eq!(kinds(&f), vec![(FlowProblemKind::CycleWithoutQuestion, Some("a".into()))]);
        let f = flow(json!({"start": "a", "nodes": []}));
        assert_eq!(validate_flow(&f)[0].field, "bot.flow.nodes");
    }

    #[test]
    fn settings_are_checked_too() {
        let bot: BotSettings = serde_json::from_value(json!({
            "session_timeout_minutes": 0, "message_delay_ms": 60000, "avatar_url": "ftp://x",
            "flow": {"start": "a", "nodes": [{"id": "a", "action": "end"}]}
        }))
        .unwrap();
        let fields: Vec<String> = validate_bot(&bot).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["bot.session_timeout_minutes", "bot.message_delay_ms", "bot.avatar_url"]);
    }
}
