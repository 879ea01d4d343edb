//! Knowledge base through the real server: admin CRUD, delta sync by cursor (paging, unpublishing and deletions
//! reported as removed, a foreign cursor refused), access rules, and search (titles first, accents, prefix, language
//! fallback, hostile text).

use serde_json::{json, Value};

use crate::support::*;

const KB: i64 = 7;

fn article(title: &str, body: &str, language: &str) -> Value {
    json!({"title": title, "body": body, "language": language, "tags": ["t"],
           "url": format!("https://help.acme.test/{}", title.len())})
}

/// Offers knowledge base `KB` through a new chatflow of Acme.
pub async fn offer_kb(api: &Api) {
    let flow = json!({
        "name": "Help center", "kind": "live_chat", "mobile_tags": ["kb"], "header": {"display_name": "Help"},
        "email_capture": {"mode": "never"}, "routing": {"mode": "unassigned"},
        "availability": {"mode": "always", "when_away": "away_message"},
        "knowledge_base": {"enabled": true, "kb_id": KB}, "consent": {"process_data": {"mode": "off"}}
    });
    let r = api.call("POST", "/v1/admin/chatflows", Some(ACME_ADMIN), Some(flow)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

async fn create(api: &Api, body: Value) -> i64 {
    let r = api.call("POST", &format!("/v1/admin/kb/{KB}/articles"), Some(ACME_ADMIN), Some(body)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_i64().unwrap()
}

/// Percent-encodes a query value (every byte outside the unreserved set).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap_or_else(|| a.as_i64().unwrap())).collect()
}

#[tokio::test]
async fn admin_crud_and_delta_sync_with_deletions() {
    let server = TestServer::start();
    let api = server.api();
    offer_kb(&api).await;
    let a = create(&api, article("Offline maps", "Download a region before you leave.", "en")).await;
    let b = create(&api, article("Cartes hors ligne", "Téléchargez une région avant de partir.", "fr")).await;
    let c = create(&api, article("Reset your password", "Tap Forgot password.", "en")).await;
    let mut draft = article("Draft", "Not yet.", "en");
    draft["published"] = json!(false);
    let d = create(&api, draft).await;

    // Admin reads see drafts too; another app's admin sees nothing of this base.
    let list = api.get(&format!("/v1/admin/kb/{KB}/articles"), Some(ACME_ADMIN)).await;
    assert_eq!(ids(&list.body["articles"]), vec![a, b, c, d]);
    let r = api.get(&format!("/v1/admin/kb/{KB}/articles/{a}"), Some(ACME_ADMIN)).await;
    assert_eq!((r.body["title"].as_str(), r.body["kb_id"].as_i64()), (Some("Offline maps"), Some(KB)));
    assert_eq!(api.get(&format!("/v1/admin/kb/{KB}/articles/{a}"), Some(GLOBEX_ADMIN)).await.code(), "not_found");
    assert_eq!(api.get(&format!("/v1/admin/kb/{}/articles/{a}", KB + 1), Some(ACME_ADMIN)).await.code(), "not_found");

    // Refusals write nothing.
    let before = server.table_counts();
    for (patch, field) in [("title", "title"), ("language", "language"), ("url", "url")] {
        let mut bad = article("x", "y", "en");
        bad[patch] = json!(if patch == "title" { " " } else { "no good" });
        let r = api.call("POST", &format!("/v1/admin/kb/{KB}/articles"), Some(ACME_ADMIN), Some(bad)).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_field"), "{field}");
        assert!(r.body["message"].as_str().unwrap().starts_with(field), "{:?}", r.body);
    }
    let r = api.call("POST", "/v1/admin/kb/0/articles", Some(ACME_ADMIN), Some(article("x", "y", "en"))).await;
    assert_eq!(r.code(), "not_found");
    assert_eq!(server.table_counts(), before);

    // A first sync in pages of 2: published articles only, a resumable cursor.
    let (_, visitor) = api.visitor(ACME).await;
    let changes = |since: Option<String>, limit: u32| {
        let api = api.clone();
        let visitor = visitor.clone();
        async move {
            let q = since.map(|s| format!("&since={s}")).unwrap_or_default();
            let r = api.get(&format!("/v1/kb/{KB}/changes?limit={limit}{q}"), Some(&visitor)).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            r.body
        }
    };
    let p1 = changes(None, 2).await;
    assert_eq!(
        (ids(&p1["upserted"]), p1["has_more"].as_bool(), p1["total_published"].as_u64()),
        (vec![a, b], Some(true), Some(3))
    );
    let p2 = changes(p1["next_cursor"].as_str().map(str::to_owned), 2).await;
    assert_eq!((ids(&p2["upserted"]), p2["has_more"].as_bool()), (vec![c], Some(false)));
    // The draft changed after the first page's cursor: reported as not published (a no-op for this client).
    assert_eq!(p2["removed"], json!([d]));
    let cursor = p2["next_cursor"].as_str().unwrap().to_owned();
    let idle = changes(Some(cursor.clone()), 50).await;
    assert_eq!(
        (idle["upserted"].clone(), idle["removed"].clone(), idle["next_cursor"].as_str()),
        (json!([]), json!([]), Some(cursor.as_str()))
    );

    // Unpublish a, delete b, edit c, publish the draft: one page reports all of it, in change order.
    let mut hidden = article("Offline maps", "Download a region before you leave.", "en");
    hidden["published"] = json!(false);
    assert_eq!(
        api.call("PUT", &format!("/v1/admin/kb/{KB}/articles/{a}"), Some(ACME_ADMIN), Some(hidden)).await.status,
        200
    );
    assert_eq!(
        api.call("DELETE", &format!("/v1/admin/kb/{KB}/articles/{b}"), Some(ACME_ADMIN), None).await.status,
        204
    );
    assert_eq!(
        api.call("DELETE", &format!("/v1/admin/kb/{KB}/articles/{b}"), Some(ACME_ADMIN), None).await.code(),
        "not_found"
    );
    let edited = article("Reset your password", "Tap **Forgot password?** on the sign-in screen.", "en");
    let r = api.call("PUT", &format!("/v1/admin/kb/{KB}/articles/{c}"), Some(ACME_ADMIN), Some(edited)).await;
    assert_eq!(r.body["body"], "Tap **Forgot password?** on the sign-in screen.");
    let published = article("Draft", "Now ready.", "en");
    assert_eq!(
        api.call("PUT", &format!("/v1/admin/kb/{KB}/articles/{d}"), Some(ACME_ADMIN), Some(published)).await.status,
        200
    );
    let delta = changes(Some(cursor.clone()), 50).await;
    assert_eq!(ids(&delta["upserted"]), vec![c, d]);
    assert_eq!(delta["removed"], json!([a, b]));
    assert_eq!((delta["has_more"].as_bool(), delta["total_published"].as_u64()), (Some(false), Some(2)));
    // Paged one change at a time, the same changes come in the same order.
    let (mut since, mut seen_up, mut seen_rm) = (cursor, Vec::new(), Vec::new());
    loop {
        let p = changes(Some(since.clone()), 1).await;
        seen_up.extend(ids(&p["upserted"]));
        seen_rm.extend(p["removed"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()));
        since = p["next_cursor"].as_str().unwrap().to_owned();
        if p["has_more"] == json!(false) {
            break;
        }
    }
    assert_eq!((seen_up, seen_rm), (vec![c, d], vec![a, b]));

    // Cursors and page sizes are checked; a base no chatflow offers (or another app's) does not exist.
    assert_eq!(api.get(&format!("/v1/kb/{KB}/changes?since=bogus"), Some(&visitor)).await.code(), "invalid_field");
    assert_eq!(api.get(&format!("/v1/kb/{KB}/changes?limit=0"), Some(&visitor)).await.code(), "invalid_paging");
    assert_eq!(api.get(&format!("/v1/kb/{KB}/changes?limit=501"), Some(&visitor)).await.code(), "invalid_paging");
    assert_eq!(api.get(&format!("/v1/kb/{}/changes", KB + 1), Some(&visitor)).await.code(), "not_found");
    assert_eq!(api.get(&format!("/v1/kb/{KB}/changes"), None).await.code(), "unauthenticated");
    let (_, globex) = api.visitor(GLOBEX).await;
    assert_eq!(api.get(&format!("/v1/kb/{KB}/changes"), Some(&globex)).await.code(), "not_found");
}

#[tokio::test]
async fn search_ranks_titles_first_and_accepts_any_text() {
    let server = TestServer::start();
    let api = server.api();
    offer_kb(&api).await;
    let body_only = create(&api, article("Confidentialité", "Vos données personnelles restent en Europe.", "fr")).await;
    let title = create(&api, article("Exporter vos données", "Un fichier CSV par sortie.", "fr")).await;
    let en = create(&api, article("Export your data", "One CSV file per trip.", "en")).await;
    let (_, visitor) = api.visitor(ACME).await;
    let search = |q: &str| {
        let (api, visitor, q) = (api.clone(), visitor.clone(), q.to_owned());
        async move {
            let r = api.get(&format!("/v1/kb/{KB}/search?q={}", encode(&q)), Some(&visitor)).await;
            assert_eq!(r.status, 200, "{q:?}: {:?}", r.body);
            r.body["hits"].as_array().unwrap().clone()
        }
    };
    let hit_ids = |hits: &[Value]| hits.iter().map(|h| h["article_id"].as_i64().unwrap()).collect::<Vec<_>>();

    // Accent-insensitive, title before body.
    let hits = search("DONNEES").await;
    assert_eq!(hit_ids(&hits), vec![title, body_only]);
    assert!(hits[0]["score"].as_f64().unwrap() > hits[1]["score"].as_f64().unwrap());
    for h in &hits {
        let snippet = h["snippet"].as_str().unwrap();
        for r in h["highlights"].as_array().unwrap() {
            let (s, e) = (r[0].as_u64().unwrap() as usize, r[1].as_u64().unwrap() as usize);
            assert!(snippet.is_char_boundary(s) && snippet.is_char_boundary(e) && s < e, "{snippet}");
        }
    }
    assert_eq!(hits[1]["snippet"], "Vos données personnelles restent en Europe.");
    assert_eq!(hits[1]["highlights"], json!([[4, 12]]), "the byte range of `données`");
    // The last word is a prefix; every word first, any word when no article has them all.
    assert_eq!(hit_ids(&search("fichier sor").await), vec![title]);
    assert_eq!(hit_ids(&search("csv zzzz").await).len(), 2);
    // Language: the preferred one first; all languages when it has no hit.
    let r = api.get(&format!("/v1/kb/{KB}/search?q=export&language=en-GB"), Some(&visitor)).await;
    assert_eq!(hit_ids(r.body["hits"].as_array().unwrap()), vec![en]);
    let r = api.get(&format!("/v1/kb/{KB}/search?q=donnees&language=de"), Some(&visitor)).await;
    assert_eq!(r.body["hits"].as_array().unwrap().len(), 2, "no German article: every language");
    // Paging past the end stays empty (no fallback); limits are checked.
    let r = api.get(&format!("/v1/kb/{KB}/search?q=donnees&limit=1&offset=1"), Some(&visitor)).await;
    assert_eq!(hit_ids(r.body["hits"].as_array().unwrap()), vec![body_only]);
    let r = api.get(&format!("/v1/kb/{KB}/search?q=donnees&offset=5"), Some(&visitor)).await;
    assert_eq!(r.body["hits"], json!([]));
    assert_eq!(api.get(&format!("/v1/kb/{KB}/search?q=x&limit=101"), Some(&visitor)).await.code(), "invalid_paging");
    assert_eq!(
        api.get(&format!("/v1/kb/{KB}/search?q=x&language=english"), Some(&visitor)).await.code(),
        "invalid_field"
    );
    // Any text: FTS syntax, quotes, emoji, nothing, a pasted page.
    let long = "données ".repeat(500);
    for q in ["", "   ", "\"", "AND (", "NEAR(a b)", "title:secret", "*", "🙂", "données\" OR \"x", long.as_str()] {
        search(q).await;
    }
    assert!(search("").await.is_empty());
}
