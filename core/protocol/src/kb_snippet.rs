//! Snippets with highlight ranges, computed from the article body: the same code for the SDK's offline search and the
//! server's search, so both show the same snippet for the same hit.
//!
//! FTS5's `snippet()` re-tokenizes each returned body twice through the SQL tokenizer and scores every fragment; in
//! the benchmark it cost more than the ranked match itself on selective queries. Here one linear pass over the body
//! splits it into words the way the index does (letters and digits, combining marks kept), folds each word like the
//! index tokenizer (lowercase, Latin accents removed), marks the words that match a query term (the prefix term as a
//! prefix), and picks the window of [`SNIPPET_WORDS`] words holding the most distinct query terms.
//!
//! The folding mirrors `unicode61 remove_diacritics 2` for Latin letters with accents (what French, Spanish,
//! German, Portuguese... use). For other scripts it only lowercases, so a highlight may be missed there; ranking and
//! matching are FTS5's own and unaffected. Whitespace runs become one space and Markdown emphasis (`*`, `` ` ``) is
//! dropped: a snippet is one line of plain text. Ranges are byte offsets into the returned snippet.

use crate::kb_query::{is_combining_mark, is_word_char, FtsQuery, MAX_TOKENS};

/// Words in a snippet (the SDK's and the server's).
pub const SNIPPET_WORDS: usize = 24;

/// Query terms, folded, each with its prefix flag.
pub struct Matcher {
    terms: Vec<(String, bool)>,
    /// First folded character of each term: most words are rejected on it without folding the rest.
    firsts: Vec<char>,
    /// The ASCII ones as a bit set.
    ascii_firsts: u128,
}

impl Matcher {
    pub fn new(query: &FtsQuery) -> Matcher {
        let terms = query
            .terms()
            .map(|(text, prefix)| {
                let mut folded = String::with_capacity(text.len());
                fold_into(text, &mut folded);
                (folded, prefix)
            })
            .collect::<Vec<(String, bool)>>();
        let firsts: Vec<char> = terms.iter().filter_map(|(t, _)| t.chars().next()).collect();
        let ascii_firsts = firsts.iter().filter(|c| c.is_ascii()).fold(0u128, |set, c| set | 1u128 << (*c as u32));
        Matcher { terms, firsts, ascii_firsts }
    }

    /// Index of the first query term that `word` (a word of the body, valid UTF-8) matches once folded. `buffer` is
    /// scratch space.
    fn term_of(&self, word: &[u8], buffer: &mut String) -> Option<usize> {
        let &lead = word.first()?;
        // Most words are rejected on their first letter; most of the rest are ASCII and compare case-insensitively
        // in place. Only non-ASCII candidates are decoded and folded.
        if lead < 0x80 {
            if self.ascii_firsts & (1u128 << lead.to_ascii_lowercase()) == 0 {
                return None;
            }
        } else if !self.firsts.contains(&fold_char(text(word).chars().next()?)) {
            return None;
        }
        let folded = if word.is_ascii() {
            word
        } else {
            buffer.clear();
            fold_into(text(word), buffer);
            buffer.as_bytes()
        };
        self.terms.iter().position(|(term, prefix)| {
            let t = term.as_bytes();
            if *prefix {
                folded.len() >= t.len() && folded[..t.len()].eq_ignore_ascii_case(t)
            } else {
                folded.eq_ignore_ascii_case(t)
            }
        })
    }
}

/// Appends `word` lowercased and without Latin accents.
pub fn fold_into(word: &str, out: &mut String) {
    for c in word.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if !is_combining_mark(c) {
            out.extend(c.to_lowercase().map(strip_accent));
        }
    }
}

/// One character folded (lowercase, no accent). A combining mark stays: it never starts a word.
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().map_or(c, strip_accent)
    }
}

/// The base letter of a lowercase Latin letter with diacritics (the ones `remove_diacritics` folds); others as is.
fn strip_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ǎ' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ĥ' => 'h',
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ǐ' => 'i',
        'ĵ' => 'j',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ō' | 'ŏ' | 'ő' | 'ǒ' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => 's',
        'ţ' | 'ť' | 'ț' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ǔ' => 'u',
        'ŵ' => 'w',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

/// A word of the body: byte range and the query term it matches.
struct Word {
    start: usize,
    end: usize,
    term: Option<usize>,
}

/// Decodes the character at `i` of possibly invalid UTF-8: `(None, 1)` for a byte that starts no valid character.
/// Decoding as we go, instead of validating the whole body first, keeps the cost to the part actually scanned.
#[inline]
fn decode(bytes: &[u8], i: usize) -> (Option<char>, usize) {
    let b = bytes[i];
    if b < 0x80 {
        return (Some(b as char), 1);
    }
    decode_multibyte(bytes, i, b)
}

#[inline(never)]
fn decode_multibyte(bytes: &[u8], i: usize, b: u8) -> (Option<char>, usize) {
    let len = match b {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (None, 1),
    };
    match bytes.get(i..i + len).and_then(|s| std::str::from_utf8(s).ok()).and_then(|s| s.chars().next()) {
        Some(c) => (Some(c), len),
        None => (None, 1),
    }
}

/// `bytes[range]` as text; words and separators are made of decoded characters, so this never fails in practice.
fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// The words of `body` with their matches, scanning no further than needed: `size` words after every query term
/// has been seen, or `3 × size` words after the first match. The flag tells whether the scan stopped early.
fn words(body: &[u8], matcher: &Matcher, size: usize) -> (Vec<Word>, bool) {
    let mut words: Vec<Word> = Vec::with_capacity(64);
    let mut buffer = String::new();
    let all_terms: u32 = (1u32 << matcher.terms.len().min(31)) - 1;
    let mut seen = 0u32;
    let mut first_hit: Option<usize> = None;
    let mut all_seen_at: Option<usize> = None;
    let n = body.len();
    let mut i = 0;
    loop {
        // Skip to the next word (tight loop over ASCII separators).
        let start = loop {
            if i >= n {
                return (words, false);
            }
            let b = body[i];
            if b < 0x80 {
                if b.is_ascii_alphanumeric() {
                    break i;
                }
                i += 1;
            } else {
                let (c, len) = decode_multibyte(body, i, b);
                if c.is_some_and(is_word_char) {
                    break i;
                }
                i += len;
            }
        };
        let count = words.len();
        if first_hit.is_some_and(|f| count >= f + 3 * size) || all_seen_at.is_some_and(|a| count >= a + size) {
            return (words, true);
        }
        // The word: letters and digits, and combining marks after its first character.
        while i < n {
            let b = body[i];
            if b < 0x80 {
                if !b.is_ascii_alphanumeric() {
                    break;
                }
                i += 1;
            } else {
                let (c, len) = decode_multibyte(body, i, b);
                if !c.is_some_and(|c| is_word_char(c) || is_combining_mark(c)) {
                    break;
                }
                i += len;
            }
        }
        let term = matcher.term_of(&body[start..i], &mut buffer);
        if let Some(t) = term {
            first_hit.get_or_insert(count);
            seen |= 1 << t.min(31);
            if seen == all_terms && all_seen_at.is_none() {
                all_seen_at = Some(count);
            }
        }
        words.push(Word { start, end: i, term });
    }
}

/// The first word of the best window of `size` words: most distinct query terms, then most matches, then earliest.
fn best_window(words: &[Word], size: usize) -> usize {
    let hits: Vec<(usize, usize)> = words.iter().enumerate().filter_map(|(i, w)| w.term.map(|t| (i, t))).collect();
    let mut best = (0usize, 0usize, 0usize); // (distinct, count, start)
    let mut seen = [false; MAX_TOKENS];
    for (k, &(first, _)) in hits.iter().enumerate() {
        // Two words of context before the first match, without running past the end of the body.
        let start = first.saturating_sub(2).min(words.len().saturating_sub(size));
        seen.fill(false);
        let (mut distinct, mut count) = (0, 0);
        for &(i, term) in hits[k..].iter().take_while(|(i, _)| *i < start + size) {
            debug_assert!(i >= first);
            count += 1;
            if let Some(slot) = seen.get_mut(term) {
                if !*slot {
                    *slot = true;
                    distinct += 1;
                }
            }
        }
        if (distinct, count) > (best.0, best.1) {
            best = (distinct, count, start);
        }
    }
    best.2
}

/// Appends the text between two words: whitespace runs as one space, Markdown emphasis and invalid bytes dropped.
fn push_separator(out: &mut String, bytes: &[u8]) {
    let mut space = false;
    let mut i = 0;
    while i < bytes.len() {
        let (c, len) = decode(bytes, i);
        i += len;
        match c {
            Some(c) if c.is_whitespace() => space = true,
            Some(c) if c != '*' && c != '`' => {
                if space {
                    out.push(' ');
                    space = false;
                }
                out.push(c);
            }
            _ => {}
        }
    }
    if space {
        out.push(' ');
    }
}

/// A snippet of `body` of at most `size` words around the best matches, and the byte ranges of matching words.
/// `body` is the stored text as bytes (decoded lazily; invalid UTF-8 is skipped, never an error).
pub fn snippet(body: &[u8], matcher: &Matcher, size: usize) -> (String, Vec<(u32, u32)>) {
    let (words, stopped_early) = words(body, matcher, size);
    let mut out = String::new();
    let mut ranges = Vec::new();
    if words.is_empty() || size == 0 {
        return (out, ranges);
    }
    let start = best_window(&words, size);
    let end = (start + size).min(words.len());
    if start > 0 {
        out.push('…');
    }
    for (i, word) in words[start..end].iter().enumerate() {
        if i > 0 {
            push_separator(&mut out, &body[words[start + i - 1].end..word.start]);
        }
        let from = out.len();
        out.push_str(text(&body[word.start..word.end]));
        if word.term.is_some() {
            ranges.push((from as u32, out.len() as u32));
        }
    }
    if end < words.len() || stopped_early {
        out.push('…');
    } else {
        let mut tail = String::new();
        push_separator(&mut tail, &body[words[end - 1].end..]);
        out.push_str(tail.trim_end());
    }
    (out, ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str, query: &str, size: usize) -> (String, Vec<String>) {
        let q = FtsQuery::parse(query).unwrap();
        let (text, ranges) = snippet(body.as_bytes(), &Matcher::new(&q), size);
        for (s, e) in &ranges {
            assert!(text.is_char_boundary(*s as usize) && text.is_char_boundary(*e as usize), "{text}");
        }
        let marked = ranges.iter().map(|(s, e)| text[*s as usize..*e as usize].to_owned()).collect();
        (text, marked)
    }

    #[test]
    fn folding_matches_the_index_tokenizer_for_latin_text() {
        let mut out = String::new();
        fold_into("ÉLÈVE Données Ça Œuvre naïve Ångström e\u{301}te\u{301}", &mut out);
        assert_eq!(out, "eleve donnees ca œuvre naive angstrom ete");
    }

    #[test]
    fn highlights_accented_words_for_accentless_queries_and_prefixes() {
        let body = "Vos **données** personnelles sont protégées.\n\nNous ne vendons jamais vos données.";
        let (text, marked) = run(body, "donnees prot", 40);
        assert_eq!(text, "Vos données personnelles sont protégées. Nous ne vendons jamais vos données.");
        assert_eq!(marked, vec!["données", "protégées", "données"]);
    }

    #[test]
    fn the_window_holds_the_most_distinct_terms() {
        let body = "alpha one two three four five six seven eight nine beta gamma ten eleven twelve alpha";
        let (text, marked) = run(body, "beta gamma", 5);
        assert_eq!(text, "…eight nine beta gamma ten…");
        assert_eq!(marked, vec!["beta", "gamma"]);
        let (text, _) = run(body, "twelve", 5);
        assert_eq!(text, "…gamma ten eleven twelve alpha", "the window ends with the body");
    }

    #[test]
    fn invalid_utf8_is_skipped_not_an_error() {
        let q = FtsQuery::parse("caf").unwrap();
        let body = b"bad \xff\xfe bytes caf\xc3\xa9 \xe2\x82 end";
        let (text, ranges) = snippet(body, &Matcher::new(&q), 10);
        assert_eq!(text, "bad bytes café end");
        assert_eq!(ranges, vec![(10, 15)]);
    }

    #[test]
    fn no_body_match_gives_the_beginning() {
        let (text, marked) = run("First words of the body, then more words here.", "title", 4);
        assert_eq!(text, "First words of the…");
        assert!(marked.is_empty());
        assert_eq!(run("", "x", 4).0, "");
        assert_eq!(run("?!", "x", 4).0, "");
        assert_eq!(run("Short.", "short", 10), ("Short.".to_owned(), vec!["Short".to_owned()]));
    }
}
