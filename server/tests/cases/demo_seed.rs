//! The demo seed (`seeds/demo.json` + `seeds/kb-articles.json`) loads with `--seed` and holds what the demo needs:
//! two apps, the chatflows the issue lists, two agents (one away), a bilingual knowledge base where ranking matters,
//! and a working bot. A restart on the same database changes nothing.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

const TRAILMATE: &str = "app_trailmate";
const SUMMIT: &str = "app_summit";

fn demo_seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/demo.json")
}

async fn chatflows(api: &Api, app: &str) -> Vec<Value> {
    let r = api.get(&format!("/v1/apps/{app}/chatflows"), None).await;
    assert_eq!(r.status, 200, "{app}: {:?}", r.body);
    r.body["chatflows"].as_array().unwrap().clone()
}

/// Every change of a base, paged until done: (published articles, pages).
async fn sync(api: &Api, token: &str, kb: i64) -> (Vec<Value>, u32) {
    let (mut articles, mut since, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let q = if since.is_empty() { String::new() } else { format!("&since={since}") };
        let r = api.get(&format!("/v1/kb/{kb}/changes?limit=25{q}"), Some(token)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        pages += 1;
        articles.extend(r.body["upserted"].as_array().unwrap().iter().cloned());
        since = r.body["next_cursor"].as_str().unwrap().to_owned();
        if r.body["has_more"] == false {
            assert_eq!(r.body["total_published"].as_u64(), Some(articles.len() as u64));
            return (articles, pages);
        }
    }
}

#[tokio::test]
async fn the_demo_seed_has_what_the_demo_needs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let server = TestServer::start_seeded(&db, &demo_seed(), &[]);
    let api = server.api();
    let flows = chatflows(&api, TRAILMATE).await;
    assert!(flows.len() >= 8, "{} chatflows", flows.len());
    assert_eq!(chatflows(&api, SUMMIT).await.len(), 2);
    let with = |pred: &dyn Fn(&Value) -> bool| flows.iter().filter(|f| pred(f)).cloned().collect::<Vec<_>>();

    // Tag `support`: two enabled with different priorities, a disabled one above them.
    let support = with(&|f| f["mobile_tags"].as_array().unwrap().iter().any(|t| t == "support"));
    let enabled: Vec<i64> =
        support.iter().filter(|f| f["enabled"] == true).map(|f| f["priority"].as_i64().unwrap()).collect();
    assert!(enabled.len() >= 2 && enabled.iter().min() != enabled.iter().max(), "{enabled:?}");
    let disabled = support.iter().find(|f| f["enabled"] == false).expect("a disabled support chatflow");
    assert!(disabled["priority"].as_i64() > enabled.iter().max().copied());

    assert!(!with(&|f| f["language"].as_str().unwrap().starts_with("fr")).is_empty(), "a French chatflow");
    assert!(!with(&|f| f["csat_survey"] == true).is_empty(), "a chatflow asks for the satisfaction survey");
    assert!(!with(&|f| f["consent"]["process_data"]["mode"] == "explicit").is_empty(), "explicit consent");
    let legit = with(&|f| f["consent"]["process_data"]["mode"] == "legitimate_interest");
    assert!(legit.iter().any(|f| f["consent"]["communicate"]["subscription_type"].is_string()), "legit + communicate");
    let hours = with(&|f| f["availability"]["mode"] == "business_hours");
    assert!(hours.iter().any(|f| f["availability"]["time_zone"] == "Europe/Paris"), "business hours in Paris");
    assert!(!with(&|f| f["availability"]["when_away"] == "hide_launcher").is_empty(), "hides its launcher");

    // The bot: questions with quick replies and validation, branches, a handoff.
    let bot = with(&|f| f["kind"] == "bot").pop().expect("a bot chatflow");
    let nodes = bot["bot"]["flow"]["nodes"].as_array().unwrap();
    let count = |action: &str| nodes.iter().filter(|n| n["action"] == action).count();
    assert!(count("ask") >= 3 && count("branch") >= 2 && count("handoff") == 1, "{nodes:?}");
    assert!(nodes.iter().any(|n| n["validation"] == "email") && nodes.iter().any(|n| n["quick_replies"].is_array()));

    // Two agents, one away.
    let presence: Vec<bool> =
        database::rows(&db, "SELECT available FROM agents WHERE app_id = ?1 ORDER BY id", &[TRAILMATE])
            .iter()
            .map(|r| r[0].int() != 0)
            .collect();
    assert_eq!(presence.len(), 2);
    assert_eq!(presence.iter().filter(|a| !**a).count(), 1, "one agent away");

    // The knowledge base: 60+ published articles in English and French, with accents.
    let (_, visitor) = api.visitor(TRAILMATE).await;
    let kb = flows.iter().find_map(|f| f["knowledge_base"]["kb_id"].as_i64()).expect("a chatflow offers the kb");
    let (articles, pages) = sync(&api, &visitor, kb).await;
    assert!(articles.len() >= 60 && pages >= 3, "{} articles in {pages} pages", articles.len());
    let lang = |l: &str| articles.iter().filter(|a| a["language"].as_str().unwrap().starts_with(l)).count();
    assert!(lang("en") >= 25 && lang("fr") >= 25, "en {} fr {}", lang("en"), lang("fr"));
    assert!(articles.iter().any(|a| a["title"].as_str().unwrap().contains('é')));
    // Ranking: the French password articles, by title, for an accent-less query in French.
    let r = api.get(&format!("/v1/kb/{kb}/search?q=mot%20de%20passe&language=fr"), Some(&visitor)).await;
    let titles: Vec<&str> = r.body["hits"].as_array().unwrap().iter().map(|h| h["title"].as_str().unwrap()).collect();
    assert!(titles.len() >= 2 && titles[..2].iter().all(|t| t.contains("mot de passe")), "{titles:?}");
    let r = api.get(&format!("/v1/kb/{kb}/search?q=cartes%20hors%20lig&language=fr"), Some(&visitor)).await;
    assert!(r.body["hits"][0]["title"].as_str().unwrap().contains("hors ligne"), "{:?}", r.body);

    // The bot greets and asks with buttons.
    let flow = bot["id"].as_i64().unwrap();
    let conversation = api.open(&visitor, flow).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let question = loop {
        let page = api.messages(&visitor, &conversation, "").await.body;
        if let Some(q) = page["messages"].as_array().unwrap().iter().find(|m| m["quick_replies"].is_array()) {
            break q.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "the bot never asked");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(question["author"]["kind"], "bot");
    assert_eq!(question["quick_replies"].as_array().unwrap().len(), 4);

    // The other app has its own base (inline articles of the seed).
    let (_, summit_visitor) = api.visitor(SUMMIT).await;
    assert_eq!(sync(&api, &summit_visitor, 2).await.0.len(), 3);
    assert_eq!(api.get(&format!("/v1/kb/{kb}/changes"), Some(&summit_visitor)).await.code(), "not_found");

    // A restart with the same seed adds nothing.
    server.stop();
    let server = TestServer::start_seeded(&db, &demo_seed(), &[]);
    let (again, _) = sync(&server.api(), &visitor, kb).await;
    assert_eq!(again.len(), articles.len());
}
