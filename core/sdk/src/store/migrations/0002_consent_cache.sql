-- Consent cache follows the outbox. Owned by `consent/`. Never edit a shipped migration: add the next number instead.
--
-- Every consent record enters the outbox (kind 'consent', client_id = record id, payload = ConsentRecordInput JSON),
-- whoever queues it: `consent/` for accept/decline/opt-in, the send queue for the implied (legitimate interest)
-- record it queues with a first message. This trigger keeps `consents` — the latest decision per chatflow, kind and
-- text version, which the consent gate reads — in step with that insert, in the same transaction. Without it an
-- implied record queued by the send queue would be invisible to the gate and every message would imply a new one.
CREATE TRIGGER consents_follow_outbox AFTER INSERT ON outbox
WHEN NEW.kind = 'consent'
BEGIN
    INSERT INTO consents (chatflow_id, kind, text_hash, decision, subscription_type, record_id, decided_at, synced)
    VALUES (
        json_extract(NEW.payload, '$.chatflow_id'),
        json_extract(NEW.payload, '$.kind'),
        json_extract(NEW.payload, '$.text_hash'),
        json_extract(NEW.payload, '$.decision'),
        json_extract(NEW.payload, '$.subscription_type'),
        NEW.client_id,
        json_extract(NEW.payload, '$.decided_at'),
        0
    )
    ON CONFLICT (chatflow_id, kind, text_hash) DO UPDATE SET
        decision = excluded.decision,
        subscription_type = excluded.subscription_type,
        record_id = excluded.record_id,
        decided_at = excluded.decided_at,
        synced = 0;
END;
