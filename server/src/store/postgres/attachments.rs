//! Attachments in PostgreSQL: declared uploads (`uploads`), stored files (`attachments`, the wire JSON in `body`, and
//! which message carries each) and the per-app size limit (`attachment_settings`).

use ::postgres::{GenericClient, Row};
use chatflow_protocol::attachment::Attachment;

use super::tx::PgTx;
use super::{seq_from_sql, seq_to_sql, PostgresStore};
use crate::store::attachments::{AttachmentRecord, AttachmentStore, AttachmentTx, Owner, UploadRecord};
use crate::store::{Put, StoreError, StoreResult};

const UPLOAD_COLS: &str = "app_id, owner_kind, owner_id, upload_id, file_name, mime_type, size, sha256, received, \
                           attachment_id, created_at, expires_at";
const ATT_COLS: &str =
    "id, app_id, owner_kind, owner_id, upload_id, body, thumbnail_key, conversation_id, message_seq, created_at";

fn owner(kind: &str, id: String) -> StoreResult<Owner> {
    Owner::from_parts(kind, id).ok_or_else(|| StoreError::Corrupt(format!("owner kind {kind}")))
}

fn upload_from_row(r: &Row) -> StoreResult<UploadRecord> {
    Ok(UploadRecord {
        app_id: r.get(0),
        owner: owner(r.get(1), r.get(2))?,
        upload_id: r.get(3),
        file_name: r.get(4),
        mime_type: r.get(5),
        size: seq_from_sql(r.get(6)),
        sha256: r.get(7),
        received: seq_from_sql(r.get(8)),
        attachment_id: r.get(9),
        created_at: r.get(10),
        expires_at: r.get(11),
    })
}

fn attachment_from_row(r: &Row) -> StoreResult<AttachmentRecord> {
    let id: String = r.get(0);
    let attachment: Attachment =
        serde_json::from_str(r.get(5)).map_err(|e| StoreError::Corrupt(format!("attachment {id}: {e}")))?;
    Ok(AttachmentRecord {
        app_id: r.get(1),
        owner: owner(r.get(2), r.get(3))?,
        upload_id: r.get(4),
        attachment,
        thumbnail_key: r.get(6),
        conversation_id: r.get(7),
        message_seq: r.get::<_, Option<i64>>(8).map(seq_from_sql),
        created_at: r.get(9),
    })
}

fn upload_in(c: &mut impl GenericClient, o: &Owner, upload_id: &str) -> StoreResult<Option<UploadRecord>> {
    let (kind, id) = o.parts();
    c.query_opt(
        &format!("SELECT {UPLOAD_COLS} FROM uploads WHERE owner_kind = $1 AND owner_id = $2 AND upload_id = $3"),
        &[&kind, &id, &upload_id],
    )?
    .map(|r| upload_from_row(&r))
    .transpose()
}

fn attachment_in(c: &mut impl GenericClient, id: &str) -> StoreResult<Option<AttachmentRecord>> {
    c.query_opt(&format!("SELECT {ATT_COLS} FROM attachments WHERE id = $1"), &[&id])?
        .map(|r| attachment_from_row(&r))
        .transpose()
}

impl AttachmentStore for PostgresStore {
    fn upload(&self, o: &Owner, upload_id: &str) -> StoreResult<Option<UploadRecord>> {
        upload_in(&mut *self.pool.get()?, o, upload_id)
    }

    fn create_upload(&self, u: &UploadRecord) -> StoreResult<Put<UploadRecord>> {
        let (kind, id) = u.owner.parts();
        self.write(|tx| {
            // A concurrent declaration of the same upload waits for the first one's commit, then inserts nothing; a
            // new statement (READ COMMITTED) then sees the winner's row.
            let n = tx.execute(
                &format!(
                    "INSERT INTO uploads ({UPLOAD_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (owner_kind, owner_id, upload_id) DO NOTHING"
                ),
                &[
                    &u.app_id,
                    &kind,
                    &id,
                    &u.upload_id,
                    &u.file_name,
                    &u.mime_type,
                    &seq_to_sql(u.size),
                    &u.sha256,
                    &seq_to_sql(u.received),
                    &u.attachment_id,
                    &u.created_at,
                    &u.expires_at,
                ],
            )?;
            if n == 1 {
                return Ok(Put::Created(u.clone()));
            }
            match upload_in(tx, &u.owner, &u.upload_id)? {
                Some(existing) => Ok(Put::Existing(existing)),
                // Deleted right after the conflict (an expired upload swept): the client may declare it again.
                None => Err(StoreError::Unavailable("the upload changed concurrently; retry".into())),
            }
        })
    }

    fn set_upload_received(&self, o: &Owner, upload_id: &str, received: u64, expires_at: i64) -> StoreResult<()> {
        let (kind, id) = o.parts();
        let mut c = self.pool.get()?;
        c.execute(
            "UPDATE uploads SET received = $4, expires_at = $5 WHERE owner_kind = $1 AND owner_id = $2 AND upload_id = $3",
            &[&kind, &id, &upload_id, &seq_to_sql(received), &expires_at],
        )?;
        Ok(())
    }

    fn complete_upload(&self, a: &AttachmentRecord) -> StoreResult<()> {
        let body = serde_json::to_string(&a.attachment).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (kind, id) = a.owner.parts();
        self.write(|tx| {
            tx.execute(
                &format!("INSERT INTO attachments ({ATT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8)"),
                &[&a.attachment.id, &a.app_id, &kind, &id, &a.upload_id, &body, &a.thumbnail_key, &a.created_at],
            )?;
            tx.execute(
                "UPDATE uploads SET received = size, attachment_id = $4
                 WHERE owner_kind = $1 AND owner_id = $2 AND upload_id = $3",
                &[&kind, &id, &a.upload_id, &a.attachment.id],
            )?;
            Ok(())
        })
    }

    fn delete_upload(&self, o: &Owner, upload_id: &str) -> StoreResult<()> {
        let (kind, id) = o.parts();
        let mut c = self.pool.get()?;
        c.execute(
            "DELETE FROM uploads WHERE owner_kind = $1 AND owner_id = $2 AND upload_id = $3",
            &[&kind, &id, &upload_id],
        )?;
        Ok(())
    }

    fn expired_uploads(&self, now: i64, limit: u32) -> StoreResult<Vec<UploadRecord>> {
        let mut c = self.pool.get()?;
        let rows = c.query(
            &format!(
                "SELECT {UPLOAD_COLS} FROM uploads WHERE attachment_id IS NULL AND expires_at <= $1
                 ORDER BY expires_at, owner_kind, owner_id, upload_id LIMIT $2"
            ),
            &[&now, &i64::from(limit)],
        )?;
        rows.iter().map(upload_from_row).collect()
    }

    fn attachment(&self, id: &str) -> StoreResult<Option<AttachmentRecord>> {
        attachment_in(&mut *self.pool.get()?, id)
    }

    fn attachment_max_bytes(&self, app_id: &str) -> StoreResult<Option<u64>> {
        let mut c = self.pool.get()?;
        let row = c.query_opt("SELECT max_bytes FROM attachment_settings WHERE app_id = $1", &[&app_id])?;
        Ok(row.map(|r| seq_from_sql(r.get(0))))
    }

    fn set_attachment_max_bytes(&self, app_id: &str, max_bytes: u64, now: i64) -> StoreResult<()> {
        let mut c = self.pool.get()?;
        c.execute(
            "INSERT INTO attachment_settings (app_id, max_bytes, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (app_id) DO UPDATE SET max_bytes = excluded.max_bytes, updated_at = excluded.updated_at",
            &[&app_id, &seq_to_sql(max_bytes), &now],
        )?;
        Ok(())
    }
}

impl AttachmentTx for PgTx<'_, '_> {
    fn upload_with_attachment(
        &mut self,
        o: &Owner,
        upload_id: &str,
    ) -> StoreResult<Option<(UploadRecord, Option<AttachmentRecord>)>> {
        let Some(upload) = upload_in(self.tx, o, upload_id)? else { return Ok(None) };
        let attachment = match &upload.attachment_id {
            Some(id) => attachment_in(self.tx, id)?,
            None => None,
        };
        Ok(Some((upload, attachment)))
    }

    fn claim_attachment(&mut self, attachment_id: &str, conversation_id: &str, seq: u64) -> StoreResult<()> {
        self.tx.execute(
            "UPDATE attachments SET conversation_id = $2, message_seq = $3 WHERE id = $1",
            &[&attachment_id, &conversation_id, &seq_to_sql(seq)],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    // On the backend the run asks for (`CHATFLOW_TEST_POSTGRES`), like the SQLite file's own tests.
    use chatflow_protocol::attachment::Attachment;

    use crate::store::attachments::{AttachmentRecord, Owner, UploadRecord};
    use crate::store::test_backends::store;
    use crate::store::tx::Finish;
    use crate::store::Put;

    fn upload(id: &str, expires_at: i64) -> UploadRecord {
        UploadRecord {
            app_id: "app1".into(),
            owner: Owner::Visitor("v1".into()),
            upload_id: id.into(),
            file_name: "a.pdf".into(),
            mime_type: "application/pdf".into(),
            size: 10,
            sha256: "ab".into(),
            received: 0,
            attachment_id: None,
            created_at: 1,
            expires_at,
        }
    }

    #[test]
    fn an_upload_is_declared_once_completed_and_claimed_by_a_message() {
        let s = store();
        let owner = Owner::Visitor("v1".into());
        assert!(matches!(s.create_upload(&upload("u1", 50)).unwrap(), Put::Created(_)));
        let Put::Existing(first) = s.create_upload(&upload("u1", 99)).unwrap() else { panic!("declared twice") };
        assert_eq!(first.expires_at, 50);
        s.create_upload(&upload("u2", 40)).unwrap();
        s.set_upload_received(&owner, "u1", 4, 70).unwrap();
        let ids = |v: Vec<UploadRecord>| v.into_iter().map(|u| u.upload_id).collect::<Vec<_>>();
        assert_eq!(ids(s.expired_uploads(80, 10).unwrap()), vec!["u2", "u1"]);
        let attachment = Attachment {
            id: "att1".into(),
            file_name: "a.pdf".into(),
            mime_type: "application/pdf".into(),
            size: 10,
            sha256: "ab".into(),
            image: None,
        };
        let record = AttachmentRecord {
            app_id: "app1".into(),
            owner: owner.clone(),
            upload_id: "u1".into(),
            attachment,
            thumbnail_key: None,
            conversation_id: None,
            message_seq: None,
            created_at: 5,
        };
        s.complete_upload(&record).unwrap();
        assert_eq!(ids(s.expired_uploads(80, 10).unwrap()), vec!["u2"], "a complete upload never expires");
        assert_eq!(s.upload(&owner, "u1").unwrap().unwrap().received, 10);
        s.transaction(&mut |tx| {
            let (_, stored) = tx.upload_with_attachment(&owner, "u1")?.expect("the upload");
            assert_eq!(stored.as_ref(), Some(&record));
            assert!(tx.upload_with_attachment(&Owner::Agent("v1".into()), "u1")?.is_none());
            tx.claim_attachment("att1", "c1", 3)?;
            Ok(Finish::Commit)
        })
        .unwrap();
        let claimed = s.attachment("att1").unwrap().unwrap();
        assert_eq!((claimed.conversation_id.as_deref(), claimed.message_seq), (Some("c1"), Some(3)));
        assert_eq!(s.attachment_max_bytes("app1").unwrap(), None);
        s.set_attachment_max_bytes("app1", 100, 1).unwrap();
        s.set_attachment_max_bytes("app1", 200, 2).unwrap();
        assert_eq!(s.attachment_max_bytes("app1").unwrap(), Some(200));
    }
}
