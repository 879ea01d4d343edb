//! Consent records against the SQLite store: idempotent by record id, conflicts, unknown chatflows.

use chatflow_protocol::{ConsentDecision, ConsentKind, ConsentRecordInput};

use crate::domain::consent;
use crate::store::test_backends::store;
use crate::store::{Put, StoreError};

#[test]
fn consent_put_is_idempotent_and_detects_conflicts() {
    let s = store();
    s.create_visitor("app1", "v1", "t1", 1).unwrap();
    let input = ConsentRecordInput {
        chatflow_id: 1,
        kind: ConsentKind::ProcessData,
        decision: ConsentDecision::Accepted,
        text_hash: "a".repeat(64),
        subscription_type: None,
        decided_at: 5,
    };
    assert!(matches!(consent::put(&*s, "v1", "r1", &input, 6).unwrap(), Put::Created(_)));
    assert!(matches!(consent::put(&*s, "v1", "r1", &input, 7).unwrap(), Put::Existing(r) if r.recorded_at == 6));
    let other = ConsentRecordInput { decision: ConsentDecision::Declined, ..input.clone() };
    assert!(matches!(consent::put(&*s, "v1", "r1", &other, 8), Err(StoreError::Conflict(_))));
    let unknown_flow = ConsentRecordInput { chatflow_id: 42, ..input };
    assert!(matches!(consent::put(&*s, "v1", "r2", &unknown_flow, 8), Err(StoreError::NotFound(_))));
}
