//! User text → a safe FTS5 `MATCH` expression.
//!
//! Shared by the SDK's offline index and the server's search, so both read a visitor's query the same way.
//!
//! The visitor types anything: quotes, `*`, `-`, `AND`/`OR`/`NEAR`, parentheses, emoji, a pasted page, nothing. We
//! never hand that text to FTS5's query parser. Instead we cut it into Unicode word tokens (letters and digits, with
//! combining accents kept inside their word), wrap every token in double quotes (an FTS5 string: no operator, no
//! column filter, no syntax) and join them ourselves. Inside a quoted string the only special character is `"`, and a
//! token never contains one, so the expression is always well formed. FTS5 then tokenizes each string with the
//! index's own tokenizer (`unicode61 remove_diacritics 2`), which folds case and accents the same way on both sides.
//!
//! - The user's last word becomes a prefix query (`"donn"*` finds "données"): search-as-you-type. A one-character last
//!   word stays exact: a one-letter prefix would expand to a large part of the vocabulary for no useful ranking.
//! - At most [`MAX_TOKENS`] distinct tokens of at most [`MAX_TOKEN_CHARS`] characters are kept (a longer word is cut
//!   and searched as a prefix), so 10 kB of pasted text costs one linear scan that stops early and a small query.
//! - Case-insensitive duplicates are dropped.

/// Most tokens a query keeps; the rest of the text is ignored.
pub const MAX_TOKENS: usize = 12;
/// Longest token kept, in characters; longer words are cut and matched as prefixes.
pub const MAX_TOKEN_CHARS: usize = 48;

/// A parsed search query: at least one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtsQuery {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    prefix: bool,
}

impl FtsQuery {
    /// Parses user text. `None` when it holds no word at all (empty, whitespace, only punctuation or emoji): the
    /// search answer is then empty, without touching the index.
    pub fn parse(text: &str) -> Option<FtsQuery> {
        let mut tokens: Vec<Token> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let mut current = String::new();
        let mut current_chars = 0usize;
        let mut truncated = false;
        // Whether the user's last word is the last token we kept (only then is it a prefix).
        let mut last_word_kept = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let in_word = is_word_char(c) || (current_chars > 0 && is_combining_mark(c));
            if in_word {
                if tokens.len() == MAX_TOKENS {
                    // A word beyond the cap: the kept last token is not the user's last word.
                    last_word_kept = false;
                    break;
                }
                if current_chars < MAX_TOKEN_CHARS {
                    current.push(c);
                    current_chars += 1;
                } else {
                    truncated = true;
                }
            }
            let word_ends = !in_word || chars.peek().is_none();
            if word_ends && current_chars > 0 {
                let folded = current.to_lowercase();
                if seen.contains(&folded) {
                    last_word_kept = false;
                } else {
                    seen.push(folded);
                    tokens.push(Token { text: std::mem::take(&mut current), prefix: truncated });
                    last_word_kept = true;
                }
                current.clear();
                current_chars = 0;
                truncated = false;
            }
        }
        if last_word_kept {
            if let Some(last) = tokens.last_mut() {
                if last.text.chars().nth(1).is_some() {
                    last.prefix = true;
                }
            }
        }
        if tokens.is_empty() {
            None
        } else {
            Some(FtsQuery { tokens })
        }
    }

    /// Every token must match (FTS5's implicit AND): `"a" "b" "c"*`.
    pub fn all_terms(&self) -> String {
        self.join(" ")
    }

    /// Any token may match, ranked by how well: `"a" OR "b" OR "c"*`. Used when no article has every word.
    pub fn any_term(&self) -> String {
        self.join(" OR ")
    }

    /// Number of tokens (at least 1).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Always false: a query has at least one token (kept for the `len` convention).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The tokens as typed (not folded), each with whether it is matched as a prefix.
    pub fn terms(&self) -> impl Iterator<Item = (&str, bool)> {
        self.tokens.iter().map(|t| (t.text.as_str(), t.prefix))
    }

    fn join(&self, separator: &str) -> String {
        let mut out = String::new();
        for (i, token) in self.tokens.iter().enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            out.push('"');
            // Tokens hold only letters, digits and combining marks: never a `"` to escape.
            out.push_str(&token.text);
            out.push('"');
            if token.prefix {
                out.push('*');
            }
        }
        out
    }
}

pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else if ('\u{C0}'..='\u{24F}').contains(&c) {
        // Latin-1 letters and Latin Extended-A/B (all letters but × and ÷): skips the Unicode table lookup.
        c != '×' && c != '÷'
    } else {
        c.is_alphanumeric()
    }
}

/// Combining marks that follow a letter belong to its word (decomposed "é" = "e" + U+0301): FTS5 folds them away.
pub fn is_combining_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(text: &str) -> Option<String> {
        FtsQuery::parse(text).map(|q| q.all_terms())
    }

    #[test]
    fn table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", None),
            ("   \t\n ", None),
            ("?!… -- ** \"\"", None),
            ("🙂🚀", None),
            ("données", Some("\"données\"*")),
            ("Mot de passe", Some("\"Mot\" \"de\" \"passe\"*")),
            ("reset password ", Some("\"reset\" \"password\"*")),
            ("a", Some("\"a\"")),
            ("offline map a", Some("\"offline\" \"map\" \"a\"")),
            ("\"quoted\" AND (x OR y) NEAR(z)", Some("\"quoted\" \"AND\" \"x\" \"OR\" \"y\" \"NEAR\" \"z\"")),
            ("-billing *plan", Some("\"billing\" \"plan\"*")),
            ("title:secret", Some("\"title\" \"secret\"*")),
            ("l'application", Some("\"l\" \"application\"*")),
            ("e-mail", Some("\"e\" \"mail\"*")),
            ("sync 🙂 maps", Some("\"sync\" \"maps\"*")),
            ("Map map MAP", Some("\"Map\"")),
            ("map offline map", Some("\"map\" \"offline\"")),
            ("e\u{301}le\u{300}ve", Some("\"e\u{301}le\u{300}ve\"*")),
            ("\u{301}abc", Some("\"abc\"*")),
            ("vers 2.0", Some("\"vers\" \"2\" \"0\"")),
            ("日本語 テキスト", Some("\"日本語\" \"テキスト\"*")),
        ];
        for (input, expected) in cases {
            assert_eq!(all(input).as_deref(), *expected, "input {input:?}");
        }
    }

    #[test]
    fn any_term_joins_with_or() {
        let q = FtsQuery::parse("sync offline maps").unwrap();
        assert_eq!(q.any_term(), "\"sync\" OR \"offline\" OR \"maps\"*");
        assert_eq!(q.terms().collect::<Vec<_>>(), vec![("sync", false), ("offline", false), ("maps", true)]);
        assert_eq!(q.len(), 3);
        assert!(!q.is_empty());
    }

    #[test]
    fn huge_input_is_capped() {
        let text = "alpha beta gamma ".repeat(700) + &"x".repeat(10_000) + " tail";
        assert!(text.len() > 10_000);
        let q = FtsQuery::parse(&text).unwrap();
        let long = "x".repeat(MAX_TOKEN_CHARS);
        assert_eq!(q.all_terms(), format!("\"alpha\" \"beta\" \"gamma\" \"{long}\"* \"tail\"*"));

        let distinct: String = (0..2_000).map(|i| format!("w{i} ")).collect();
        let q = FtsQuery::parse(&distinct).unwrap();
        assert_eq!(q.len(), MAX_TOKENS);
        // The cap cut the text: the last kept token is not the user's last word, so it stays exact.
        assert!(q.all_terms().ends_with("\"w11\""), "{}", q.all_terms());

        let long_word = "é".repeat(5_000);
        let q = FtsQuery::parse(&long_word).unwrap();
        let expected = format!("\"{}\"*", "é".repeat(MAX_TOKEN_CHARS));
        assert_eq!(q.all_terms(), expected);
    }

    /// Runs `expr` against a real FTS5 table with the index's tokenizer.
    fn fts_accepts(conn: &rusqlite::Connection, expr: &str) -> rusqlite::Result<()> {
        let mut stmt = conn.prepare_cached("SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rank LIMIT 5")?;
        let mut rows = stmt.query([expr])?;
        while rows.next()?.is_some() {}
        Ok(())
    }

    fn fts_table() -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
             INSERT INTO t VALUES ('Données personnelles', 'AND OR NEAR \"quotes\" * - ( ) 🙂 élève');",
        )
        .unwrap();
        conn
    }

    #[test]
    fn hostile_inputs_are_valid_fts() {
        let conn = fts_table();
        let inputs = [
            "\"",
            "\"\"\"",
            "*",
            "-",
            "^",
            ":",
            "AND",
            "OR",
            "NOT",
            "NEAR",
            "NEAR(a b, 2)",
            "a AND",
            "OR b",
            "(",
            ")",
            "((a)",
            "title:x",
            "{title body}: x",
            "a + b",
            "'",
            "\\",
            "\0",
            "\u{2}x\u{3}",
            "🙂",
            "e\u{301}",
            "\u{301}",
            "ा",
            "x ा",
            "²",
            "ⅷ",
            "\u{200d}",
            "a\u{200d}b",
            "\u{FEFF}bom",
        ];
        for input in inputs {
            if let Some(q) = FtsQuery::parse(input) {
                fts_accepts(&conn, &q.all_terms()).unwrap_or_else(|e| panic!("{input:?} → {}: {e}", q.all_terms()));
                fts_accepts(&conn, &q.any_term()).unwrap_or_else(|e| panic!("{input:?} → {}: {e}", q.any_term()));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_text_gives_a_valid_bounded_expression(text in any::<String>()) {
            thread_local!(static CONN: rusqlite::Connection = fts_table());
            if let Some(q) = FtsQuery::parse(&text) {
                prop_assert!(q.len() <= MAX_TOKENS);
                let (all, any) = (q.all_terms(), q.any_term());
                prop_assert!(all.len() <= MAX_TOKENS * (MAX_TOKEN_CHARS * 4 + 4));
                CONN.with(|c| fts_accepts(c, &all)).map_err(|e| TestCaseError::fail(format!("{all}: {e}")))?;
                CONN.with(|c| fts_accepts(c, &any)).map_err(|e| TestCaseError::fail(format!("{any}: {e}")))?;
            } else {
                prop_assert!(!text.chars().any(char::is_alphanumeric));
            }
        }

        #[test]
        fn operator_soup_is_valid(parts in prop::collection::vec(
            prop::sample::select(vec!["\"", "*", "-", "+", "^", ":", "(", ")", "{", "}", "AND", "OR", "NOT", "NEAR",
                "NEAR(", ",", "title", "body", "données", "élève", "🙂", " ", "  ", "\t", "x", "é"]), 0..40)) {
            thread_local!(static CONN: rusqlite::Connection = fts_table());
            let text: String = parts.concat();
            if let Some(q) = FtsQuery::parse(&text) {
                let all = q.all_terms();
                CONN.with(|c| fts_accepts(c, &all)).map_err(|e| TestCaseError::fail(format!("{all}: {e}")))?;
            }
        }
    }
}
