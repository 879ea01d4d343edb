//! Snippets with highlight ranges, computed from the article body: the same code for the SDK's offline search and the
//! server's search, so both show the same snippet for the same hit.
//!
//! FTS5's `snippet()` re-tokenizes each returned body twice through the SQL tokenizer and scores every fragment; in
//! the benchmark it cost more than the ranked match itself on selective queries. Here one linear pass over the body
//! splits it into words the way the index does (letters and digits, combining marks kept), folds each word like the
//! index tokenizer (lowercase, Latin accents removed), marks the words that match a query term (the prefix term as a
//! prefix), and picks the window of [`SNIPPET_WORDS`] words holding the most distinct query terms.
//!
//! Most of a body lies before its first match, and splitting it into words there is wasted work. So a first pass
//! looks only at bytes that can start a matching word (a term's first letter, either case, or any non-ASCII letter)
//! to find where the first match can be, and the word split starts a few words before it. The answer is the same as a
//! split of the whole body (a property test compares them); when the shortcut cannot guarantee that (a match among
//! the last words, unusual separators) the whole body is split.
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
    /// Bytes that may start a word matching a term: a term's first letter in either case, and every byte that starts
    /// a non-ASCII character (it may fold to one: "É" → "e").
    starts: [bool; 256],
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
        let mut starts = [false; 256];
        for (b, start) in starts.iter_mut().enumerate() {
            *start = match b as u8 {
                b @ (b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z') => firsts.contains(&char::from(b.to_ascii_lowercase())),
                0xC2..=0xF4 => true,
                _ => false,
            };
        }
        Matcher { terms, firsts, starts }
    }

    /// Index of the first query term that `word` (a word of the body, valid UTF-8; `ascii` when all its bytes are)
    /// matches once folded. `buffer` is scratch space.
    #[inline]
    fn term_of(&self, word: &[u8], ascii: bool, buffer: &mut String) -> Option<usize> {
        let &lead = word.first()?;
        // Most words are rejected on their first letter; most of the rest are ASCII and compare case-insensitively
        // in place. Only non-ASCII candidates are decoded and folded.
        if lead < 0x80 {
            if !self.starts[usize::from(lead)] {
                return None;
            }
        } else if !self.firsts.contains(&fold_char(decode_multibyte(word, 0, lead).0?)) {
            return None;
        }
        let folded = if ascii {
            word
        } else {
            buffer.clear();
            fold_bytes_into(word, buffer);
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
        push_folded(c, out);
    }
}

/// [`fold_into`] for a word of the body, decoded as it goes (its bytes are characters the split decoded).
fn fold_bytes_into(word: &[u8], out: &mut String) {
    let mut i = 0;
    while i < word.len() {
        let (c, len) = decode(word, i);
        i += len;
        if let Some(c) = c {
            push_folded(c, out);
        }
    }
}

#[inline]
fn push_folded(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else if is_latin1_lowercase(c) {
        out.push(strip_accent(c));
    } else if !is_combining_mark(c) {
        out.extend(c.to_lowercase().map(strip_accent));
    }
}

/// Latin-1 lowercase letters (à to ÿ, not ÷): French accents, already lowercase, skip the Unicode case tables.
fn is_latin1_lowercase(c: char) -> bool {
    ('\u{DF}'..='\u{FF}').contains(&c) && c != '÷'
}

/// One character folded (lowercase, no accent). A combining mark stays: it never starts a word.
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else if is_latin1_lowercase(c) {
        strip_accent(c)
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

/// The multi-byte case of [`decode`], by hand: validating through `str::from_utf8` cost more than the rest of the scan.
/// Accepts exactly what `from_utf8` accepts (no overlong forms, surrogates or code points past U+10FFFF).
#[inline(never)]
fn decode_multibyte(bytes: &[u8], i: usize, b: u8) -> (Option<char>, usize) {
    let (len, smallest, mut code) = match b {
        0xC2..=0xDF => (2, 0x80, u32::from(b & 0x1F)),
        0xE0..=0xEF => (3, 0x800, u32::from(b & 0x0F)),
        0xF0..=0xF4 => (4, 0x1_0000, u32::from(b & 0x07)),
        _ => return (None, 1),
    };
    for k in 1..len {
        match bytes.get(i + k) {
            Some(&c) if c & 0xC0 == 0x80 => code = code << 6 | u32::from(c & 0x3F),
            _ => return (None, 1),
        }
    }
    match char::from_u32(code).filter(|_| code >= smallest) {
        Some(c) => (Some(c), len),
        None => (None, 1),
    }
}

/// `bytes[range]` as text; words and separators are made of decoded characters, so this never fails in practice.
fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// The end of the word that starts at `i` (letters and digits, and combining marks after its first character), and
/// whether the word is all ASCII.
#[inline]
fn word_end(body: &[u8], mut i: usize) -> (usize, bool) {
    let mut ascii = true;
    while i < body.len() {
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
            ascii = false;
            i += len;
        }
    }
    (i, ascii)
}

/// The offset of the first word that may match a term: no matching word starts before it. Only bytes in
/// [`Matcher::starts`] are looked at closely, and most of those are rejected on the byte before them.
fn first_possible_match(body: &[u8], matcher: &Matcher) -> Option<usize> {
    let mut buffer = String::new();
    let mut from = 0;
    while let Some(k) = body[from..].iter().position(|&b| matcher.starts[b as usize]) {
        let i = from + k;
        from = i + 1;
        // After an ASCII letter or digit, `i` is inside a word. After another non-ASCII character it may start one
        // (a word after "’"): then it is checked; a false candidate only makes the word split start earlier.
        if i > 0 && body[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        if !decode(body, i).0.is_some_and(is_word_char) {
            continue;
        }
        let (end, ascii) = word_end(body, i);
        if matcher.term_of(&body[i..end], ascii, &mut buffer).is_some() {
            return Some(i);
        }
        from = end;
    }
    None
}

/// Where to start splitting words so that a few words precede `first` (the first possible match): just after an
/// ASCII separator, where a split of the whole body is between words too. 0 when there is no such place.
fn restart_point(body: &[u8], first: usize) -> usize {
    let is_separator = |b: u8| b < 0x80 && !b.is_ascii_alphanumeric();
    let mut boundaries = 0;
    for j in (1..first).rev() {
        if is_separator(body[j - 1]) && !is_separator(body[j]) {
            boundaries += 1;
            // The snippet shows two words before its first match; one more for a separator that is no word.
            if boundaries == 3 {
                // Words before it make the snippet start with "…"; with none, start at 0 (same answer).
                return if body[..j].iter().any(u8::is_ascii_alphanumeric) { j } else { 0 };
            }
        }
    }
    0
}

/// The words of `body` from offset `from` (0, or a place between two words) with their matches, scanning no further
/// than needed: `size` words after every query term has been seen, `3 × size` words after the first match, or
/// `max_words` words. The flag tells whether a match stopped the scan early.
fn words(body: &[u8], from: usize, matcher: &Matcher, size: usize, max_words: usize) -> (Vec<Word>, bool) {
    let mut words: Vec<Word> = Vec::with_capacity(64);
    let mut buffer = String::new();
    let all_terms: u32 = (1u32 << matcher.terms.len().min(31)) - 1;
    let mut seen = 0u32;
    let mut first_hit: Option<usize> = None;
    let mut all_seen_at: Option<usize> = None;
    let n = body.len();
    let mut i = from;
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
        if count == max_words {
            return (words, false);
        }
        if first_hit.is_some_and(|f| count >= f + 3 * size) || all_seen_at.is_some_and(|a| count >= a + size) {
            return (words, true);
        }
        let ascii;
        (i, ascii) = word_end(body, start);
        let term = matcher.term_of(&body[start..i], ascii, &mut buffer);
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

/// The words a snippet is chosen from: the same window and text as splitting the whole body, usually without
/// splitting the part before the first match. Also tells whether words precede the returned ones.
struct Scan {
    words: Vec<Word>,
    words_before: bool,
    stopped_early: bool,
}

fn scan(body: &[u8], matcher: &Matcher, size: usize) -> Scan {
    let Some(first) = first_possible_match(body, matcher) else {
        // No match: the snippet is the first `size` words; one more tells whether the body goes on.
        let (words, stopped_early) = words(body, 0, matcher, size, size + 1);
        return Scan { words, words_before: false, stopped_early };
    };
    let from = restart_point(body, first);
    if from > 0 {
        let (words, stopped_early) = words(body, from, matcher, size, usize::MAX);
        // Same answer as a whole split when the window needs no word before `from`: two words of context precede
        // the first match, `size` words follow `from`, and a window holds more than those two words (so the best
        // window holds a match: with none, a whole split answers with the body's first words).
        let first_hit = words.iter().position(|w| w.term.is_some());
        if first_hit.is_some_and(|f| f >= 2) && words.len() >= size && size > 2 {
            return Scan { words, words_before: true, stopped_early };
        }
    }
    full_scan(body, matcher, size)
}

fn full_scan(body: &[u8], matcher: &Matcher, size: usize) -> Scan {
    let (words, stopped_early) = words(body, 0, matcher, size, usize::MAX);
    Scan { words, words_before: false, stopped_early }
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
    render(body, scan(body, matcher, size), size)
}

fn render(body: &[u8], scan: Scan, size: usize) -> (String, Vec<(u32, u32)>) {
    let Scan { words, words_before, stopped_early } = scan;
    let mut ranges = Vec::new();
    if words.is_empty() || size == 0 {
        return (String::new(), ranges);
    }
    let start = best_window(&words, size);
    let end = (start + size).min(words.len());
    let (span_start, span_end) = (words[start].start, words[end - 1].end);
    let mut out = String::with_capacity(span_end - span_start + 8);
    // One validation for the whole window instead of one per word; a separator with invalid bytes (skipped by
    // `push_separator`) makes it fail, then each word is taken on its own.
    let span = std::str::from_utf8(&body[span_start..span_end]).ok();
    let word_text = |w: &Word| match span {
        Some(span) => span.get(w.start - span_start..w.end - span_start).unwrap_or_default(),
        None => text(&body[w.start..w.end]),
    };
    if start > 0 || words_before {
        out.push('…');
    }
    for (i, word) in words[start..end].iter().enumerate() {
        if i > 0 {
            push_separator(&mut out, &body[words[start + i - 1].end..word.start]);
        }
        let from = out.len();
        out.push_str(word_text(word));
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
mod tests;
