//! Knowledge-base articles of a seed file: inline (`kb_articles`) or in a JSON file next to the seed
//! (`kb_articles_file`, a path relative to the seed file), both a list of articles with an optional fixed `id`.
//! They are inserted when the app has never had an article (no article, no tombstone), so admin edits and deletions
//! survive restarts, and a database created before the knowledge base existed gets the seed's articles.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use super::validate_article;
use crate::store::kb::{ArticleInput, SeedArticle};

/// One article of a seed: the admin input plus its base and an optional fixed id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedArticleEntry {
    #[serde(default)]
    pub id: Option<i64>,
    pub kb_id: i64,
    pub title: String,
    pub body: String,
    pub language: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "yes")]
    pub published: bool,
    pub url: String,
}

fn yes() -> bool {
    true
}

/// Reads an app's articles (its file, then its inline list) and checks them. `ids` collects the fixed ids of the
/// whole seed (they must be unique across apps: article ids are global). The error names the article.
pub fn load(
    seed_path: &Path,
    file: Option<&str>,
    inline: Vec<SeedArticleEntry>,
    ids: &mut HashSet<i64>,
) -> Result<Vec<SeedArticle>, String> {
    let mut entries = Vec::new();
    if let Some(name) = file {
        let path = seed_path.parent().unwrap_or(Path::new(".")).join(name);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("kb_articles_file {}: {e}", path.display()))?;
        let list: Vec<SeedArticleEntry> =
            serde_json::from_str(&text).map_err(|e| format!("kb_articles_file {}: {e}", path.display()))?;
        entries.extend(list.into_iter().enumerate().map(|(i, a)| (format!("{name}[{i}]"), a)));
    }
    entries.extend(inline.into_iter().enumerate().map(|(i, a)| (format!("kb_articles[{i}]"), a)));
    let mut out = Vec::with_capacity(entries.len());
    for (at, a) in entries {
        if a.kb_id <= 0 {
            return Err(format!("{at}: kb_id must be positive, got {}", a.kb_id));
        }
        if let Some(id) = a.id {
            if id <= 0 || !ids.insert(id) {
                return Err(format!("{at}: id {id} must be positive and unique in the seed"));
            }
        }
        let input = ArticleInput {
            title: a.title,
            body: a.body,
            language: a.language,
            tags: a.tags,
            published: a.published,
            url: a.url,
        };
        validate_article(&input).map_err(|e| format!("{at}: {e}"))?;
        out.push(SeedArticle { id: a.id, kb_id: a.kb_id, input });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_articles_file_loads() {
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/demo.json");
        let mut ids = HashSet::new();
        let articles = load(&seed, Some("kb-articles.json"), Vec::new(), &mut ids).unwrap();
        assert!(articles.len() >= 60, "{}", articles.len());
        let err = load(&seed, Some("kb-articles.json"), Vec::new(), &mut ids).unwrap_err();
        assert!(err.contains("unique"), "{err}");
        let err = load(&seed, Some("missing.json"), Vec::new(), &mut HashSet::new()).unwrap_err();
        assert!(err.contains("missing.json"), "{err}");
    }

    #[test]
    fn the_demo_seed_applies_twice_without_duplicating_articles() {
        use crate::store::{KbStore, SqliteStore};
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/demo.json");
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("demo.db")).unwrap();
        crate::seed::apply(&store, &seed, 1).unwrap();
        crate::seed::apply(&store, &seed, 2).unwrap();
        assert!(store.kb_articles("app_trailmate", 1).unwrap().len() >= 60);
        assert_eq!(store.kb_articles("app_summit", 2).unwrap().len(), 3);
    }
}
