//! User text → a safe FTS5 `MATCH` expression. Same rules as the SDK's offline search (`core/sdk/src/kb/query.rs`),
//! so a query ranks the same on both sides; the server cannot depend on the SDK crate, hence this twin.
//!
//! The text is cut into Unicode word tokens (letters and digits, combining accents kept inside their word); every
//! token is wrapped in double quotes (an FTS5 string: no operator, no column filter) and joined by us, so no user text
//! ever reaches FTS5's query syntax. The last word becomes a prefix (`"donn"*`) unless it has one character. At most
//! [`MAX_TOKENS`] distinct tokens of at most [`MAX_TOKEN_CHARS`] characters (a longer word is cut and searched as a
//! prefix); case-insensitive duplicates are dropped.

pub const MAX_TOKENS: usize = 12;
pub const MAX_TOKEN_CHARS: usize = 48;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtsQuery {
    tokens: Vec<(String, bool)>,
}

pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Combining marks that follow a letter belong to its word (decomposed "é" = "e" + U+0301).
pub fn is_combining_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

impl FtsQuery {
    /// `None` when the text holds no word (empty, spaces, punctuation, emoji): the answer is then empty.
    pub fn parse(text: &str) -> Option<FtsQuery> {
        let mut tokens: Vec<(String, bool)> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let (mut current, mut current_chars, mut truncated) = (String::new(), 0usize, false);
        // Whether the user's last word is the last token kept (only then is it a prefix).
        let mut last_word_kept = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let in_word = is_word_char(c) || (current_chars > 0 && is_combining_mark(c));
            if in_word {
                if tokens.len() == MAX_TOKENS {
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
                    tokens.push((std::mem::take(&mut current), truncated));
                    last_word_kept = true;
                }
                current.clear();
                current_chars = 0;
                truncated = false;
            }
        }
        if last_word_kept {
            if let Some(last) = tokens.last_mut() {
                if last.0.chars().nth(1).is_some() {
                    last.1 = true;
                }
            }
        }
        (!tokens.is_empty()).then_some(FtsQuery { tokens })
    }

    /// Every token must match: `"a" "b" "c"*`.
    pub fn all_terms(&self) -> String {
        self.join(" ")
    }

    /// Any token may match: `"a" OR "b" OR "c"*` (used when no article has every word).
    pub fn any_term(&self) -> String {
        self.join(" OR ")
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The tokens as typed, each with whether it is a prefix.
    pub fn terms(&self) -> impl Iterator<Item = (&str, bool)> {
        self.tokens.iter().map(|(t, p)| (t.as_str(), *p))
    }

    fn join(&self, separator: &str) -> String {
        let mut out = String::new();
        for (i, (text, prefix)) in self.tokens.iter().enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            // Tokens hold only letters, digits and combining marks: never a `"` to escape.
            out.push('"');
            out.push_str(text);
            out.push('"');
            if *prefix {
                out.push('*');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_table_as_the_sdk() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", None),
            ("?!… -- ** \"\"", None),
            ("🙂🚀", None),
            ("données", Some("\"données\"*")),
            ("Mot de passe", Some("\"Mot\" \"de\" \"passe\"*")),
            ("reset password ", Some("\"reset\" \"password\"*")),
            ("a", Some("\"a\"")),
            ("\"quoted\" AND (x OR y) NEAR(z)", Some("\"quoted\" \"AND\" \"x\" \"OR\" \"y\" \"NEAR\" \"z\"")),
            ("-billing *plan", Some("\"billing\" \"plan\"*")),
            ("title:secret", Some("\"title\" \"secret\"*")),
            ("l'application", Some("\"l\" \"application\"*")),
            ("Map map MAP", Some("\"Map\"")),
            ("e\u{301}le\u{300}ve", Some("\"e\u{301}le\u{300}ve\"*")),
            ("vers 2.0", Some("\"vers\" \"2\" \"0\"")),
        ];
        for (input, expected) in cases {
            assert_eq!(FtsQuery::parse(input).map(|q| q.all_terms()).as_deref(), *expected, "input {input:?}");
        }
        let q = FtsQuery::parse("sync offline maps").unwrap();
        assert_eq!(q.any_term(), "\"sync\" OR \"offline\" OR \"maps\"*");
    }

    #[test]
    fn huge_input_is_capped() {
        let distinct: String = (0..2_000).map(|i| format!("w{i} ")).collect();
        let q = FtsQuery::parse(&distinct).unwrap();
        assert_eq!(q.len(), MAX_TOKENS);
        assert!(q.all_terms().ends_with("\"w11\""), "{}", q.all_terms());
        let q = FtsQuery::parse(&"é".repeat(5_000)).unwrap();
        assert_eq!(q.all_terms(), format!("\"{}\"*", "é".repeat(MAX_TOKEN_CHARS)));
    }
}
