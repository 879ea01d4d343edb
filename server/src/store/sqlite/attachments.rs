//! Attachments on SQLite: `uploads`, `attachments`, `attachment_settings`.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::tx::SqliteTx;
use super::{seq_from_sql, seq_to_sql, SqliteStore};
use crate::store::attachments::{AttachmentRecord, AttachmentStore, AttachmentTx, Owner, UploadRecord};
use crate::store::{Put, StoreError, StoreResult};

const UPLOAD_COLS: &str = "app_id, owner_kind, owner_id, upload_id, file_name, mime_type, size, sha256, received, \
                           attachment_id, created_at, expires_at";
const ATT_COLS: &str =
    "id, app_id, owner_kind, owner_id, upload_id, body, thumbnail_key, conversation_id, message_seq, created_at";

fn owner(kind: String, id: String) -> rusqlite::Result<Owner> {
    Owner::from_parts(&kind, id).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, format!("owner kind {kind}").into())
    })
}

fn upload_row(r: &Row<'_>) -> rusqlite::Result<UploadRecord> {
    Ok(UploadRecord {
        app_id: r.get(0)?,
        owner: owner(r.get(1)?, r.get(2)?)?,
        upload_id: r.get(3)?,
        file_name: r.get(4)?,
        mime_type: r.get(5)?,
        size: seq_from_sql(r.get(6)?),
        sha256: r.get(7)?,
        received: seq_from_sql(r.get(8)?),
        attachment_id: r.get(9)?,
        created_at: r.get(10)?,
        expires_at: r.get(11)?,
    })
}

type AttRow = (AttachmentRecord, String);

fn att_row(r: &Row<'_>) -> rusqlite::Result<AttRow> {
    let rec = AttachmentRecord {
        app_id: r.get(1)?,
        owner: owner(r.get(2)?, r.get(3)?)?,
        upload_id: r.get(4)?,
        attachment: chatflow_protocol::attachment::Attachment {
            id: r.get(0)?,
            file_name: String::new(),
            mime_type: String::new(),
            size: 0,
            sha256: String::new(),
            image: None,
        },
        thumbnail_key: r.get(6)?,
        conversation_id: r.get(7)?,
        message_seq: r.get::<_, Option<i64>>(8)?.map(seq_from_sql),
        created_at: r.get(9)?,
    };
    Ok((rec, r.get(5)?))
}

fn finish_att((mut rec, body): AttRow) -> StoreResult<AttachmentRecord> {
    rec.attachment = serde_json::from_str(&body)
        .map_err(|e| StoreError::Corrupt(format!("attachment {}: {e}", rec.attachment.id)))?;
    Ok(rec)
}

fn upload_in(c: &Connection, o: &Owner, upload_id: &str) -> StoreResult<Option<UploadRecord>> {
    let (kind, id) = o.parts();
    Ok(c.prepare_cached(&format!(
        "SELECT {UPLOAD_COLS} FROM uploads WHERE owner_kind = ?1 AND owner_id = ?2 AND upload_id = ?3"
    ))?
    .query_row(params![kind, id, upload_id], upload_row)
    .optional()?)
}

fn attachment_in(c: &Connection, id: &str) -> StoreResult<Option<AttachmentRecord>> {
    c.prepare_cached(&format!("SELECT {ATT_COLS} FROM attachments WHERE id = ?1"))?
        .query_row(params![id], att_row)
        .optional()?
        .map(finish_att)
        .transpose()
}

impl AttachmentStore for SqliteStore {
    fn upload(&self, o: &Owner, upload_id: &str) -> StoreResult<Option<UploadRecord>> {
        self.read(|c| upload_in(c, o, upload_id))
    }

    fn create_upload(&self, u: &UploadRecord) -> StoreResult<Put<UploadRecord>> {
        self.write(|c| {
            if let Some(existing) = upload_in(c, &u.owner, &u.upload_id)? {
                return Ok(Put::Existing(existing));
            }
            let (kind, id) = u.owner.parts();
            c.prepare_cached(&format!(
                "INSERT INTO uploads ({UPLOAD_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ))?
            .execute(params![
                u.app_id,
                kind,
                id,
                u.upload_id,
                u.file_name,
                u.mime_type,
                seq_to_sql(u.size),
                u.sha256,
                seq_to_sql(u.received),
                u.attachment_id,
                u.created_at,
                u.expires_at
            ])?;
            Ok(Put::Created(u.clone()))
        })
    }

    fn set_upload_received(&self, o: &Owner, upload_id: &str, received: u64, expires_at: i64) -> StoreResult<()> {
        let (kind, id) = o.parts();
        self.write(|c| {
            c.prepare_cached(
                "UPDATE uploads SET received = ?4, expires_at = ?5
                 WHERE owner_kind = ?1 AND owner_id = ?2 AND upload_id = ?3",
            )?
            .execute(params![kind, id, upload_id, seq_to_sql(received), expires_at])?;
            Ok(())
        })
    }

    fn complete_upload(&self, a: &AttachmentRecord) -> StoreResult<()> {
        let body = serde_json::to_string(&a.attachment).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (kind, id) = a.owner.parts();
        self.write(|c| {
            c.prepare_cached(&format!(
                "INSERT INTO attachments ({ATT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL, ?8)"
            ))?
            .execute(params![
                a.attachment.id,
                a.app_id,
                kind,
                id,
                a.upload_id,
                body,
                a.thumbnail_key,
                a.created_at
            ])?;
            c.prepare_cached(
                "UPDATE uploads SET received = size, attachment_id = ?4
                 WHERE owner_kind = ?1 AND owner_id = ?2 AND upload_id = ?3",
            )?
            .execute(params![kind, id, a.upload_id, a.attachment.id])?;
            Ok(())
        })
    }

    fn delete_upload(&self, o: &Owner, upload_id: &str) -> StoreResult<()> {
        let (kind, id) = o.parts();
        self.write(|c| {
            c.prepare_cached("DELETE FROM uploads WHERE owner_kind = ?1 AND owner_id = ?2 AND upload_id = ?3")?
                .execute(params![kind, id, upload_id])?;
            Ok(())
        })
    }

    fn expired_uploads(&self, now: i64, limit: u32) -> StoreResult<Vec<UploadRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {UPLOAD_COLS} FROM uploads WHERE attachment_id IS NULL AND expires_at <= ?1
                 ORDER BY expires_at LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![now, limit], upload_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn attachment(&self, id: &str) -> StoreResult<Option<AttachmentRecord>> {
        self.read(|c| attachment_in(c, id))
    }

    fn attachment_max_bytes(&self, app_id: &str) -> StoreResult<Option<u64>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT max_bytes FROM attachment_settings WHERE app_id = ?1")?
                .query_row(params![app_id], |r| r.get::<_, i64>(0))
                .optional()?
                .map(seq_from_sql))
        })
    }

    fn set_attachment_max_bytes(&self, app_id: &str, max_bytes: u64, now: i64) -> StoreResult<()> {
        self.write(|c| {
            c.prepare_cached(
                "INSERT INTO attachment_settings (app_id, max_bytes, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (app_id) DO UPDATE SET max_bytes = excluded.max_bytes, updated_at = excluded.updated_at",
            )?
            .execute(params![app_id, seq_to_sql(max_bytes), now])?;
            Ok(())
        })
    }
}

impl AttachmentTx for SqliteTx<'_> {
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
        self.tx
            .prepare_cached("UPDATE attachments SET conversation_id = ?2, message_seq = ?3 WHERE id = ?1")?
            .execute(params![attachment_id, conversation_id, seq_to_sql(seq)])?;
        Ok(())
    }
}
