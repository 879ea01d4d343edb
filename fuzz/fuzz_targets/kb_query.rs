//! The knowledge-base query builder (`FtsQuery`): any text a visitor types gives either no query (only when the text
//! has no letter or digit) or an FTS5 expression that a small independent reader accepts: quoted tokens without `"`,
//! an optional `*`, joined by exactly the builder's separator, no operator anywhere else, within the caps.
#![no_main]

use chatflow_protocol::kb_query::{is_combining_mark, is_word_char, FtsQuery, MAX_TOKENS, MAX_TOKEN_CHARS};
use libfuzzer_sys::fuzz_target;

/// Reads `expr` as `"tok"[*] (sep "tok"[*])*` and returns the tokens; panics with the reason when it is not.
fn read(expr: &str, separator: &str) -> Vec<(String, bool)> {
    let mut tokens = Vec::new();
    let mut rest = expr;
    loop {
        let body = rest.strip_prefix('"').unwrap_or_else(|| panic!("token must open with a quote: {expr:?}"));
        let close = body.find('"').unwrap_or_else(|| panic!("unbalanced quote: {expr:?}"));
        let (text, after) = (&body[..close], &body[close + 1..]);
        let (prefix, after) = match after.strip_prefix('*') {
            Some(after) => (true, after),
            None => (false, after),
        };
        tokens.push((text.to_owned(), prefix));
        if after.is_empty() {
            return tokens;
        }
        rest = after.strip_prefix(separator).unwrap_or_else(|| panic!("unexpected text between tokens: {expr:?}"));
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Some(query) = FtsQuery::parse(&text) else {
        assert!(!text.chars().any(is_word_char), "a query with a word was dropped: {text:?}");
        return;
    };
    assert!(!query.is_empty() && query.len() <= MAX_TOKENS);
    let expected: Vec<(String, bool)> = query.terms().map(|(t, p)| (t.to_owned(), p)).collect();
    for (expr, separator) in [(query.all_terms(), " "), (query.any_term(), " OR ")] {
        assert_eq!(read(&expr, separator), expected, "expression {expr:?} does not hold the terms");
    }
    let mut folded = Vec::new();
    for (token, _) in &expected {
        let mut chars = token.chars();
        let first = chars.next().expect("a token is never empty");
        assert!(is_word_char(first), "token starts with a non-word character: {token:?}");
        assert!(chars.all(|c| is_word_char(c) || is_combining_mark(c)), "token holds a separator: {token:?}");
        assert!(token.chars().count() <= MAX_TOKEN_CHARS, "token too long: {token:?}");
        assert!(text.contains(token.as_str()), "token {token:?} is not in the text");
        let lower = token.to_lowercase();
        assert!(!folded.contains(&lower), "duplicate token {token:?}");
        folded.push(lower);
    }
});
