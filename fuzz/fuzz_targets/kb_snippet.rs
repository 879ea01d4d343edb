//! Knowledge-base snippets (`kb_snippet::snippet`) over any body bytes (invalid UTF-8 included) and any query: never a
//! panic, the snippet is no longer than the body (plus the two ellipses) and holds at most `size` words, and every
//! highlight is an ordered, non-overlapping range on character boundaries inside the snippet that covers word
//! characters only.
//!
//! Input: first byte = snippet size in words (mod 64), then the query text up to the first NUL byte, then the body.
#![no_main]

use chatflow_protocol::kb_query::{is_combining_mark, is_word_char, FtsQuery};
use chatflow_protocol::kb_snippet::{snippet, Matcher};
use libfuzzer_sys::fuzz_target;

fn words(text: &str) -> usize {
    let mut count = 0;
    let mut in_word = false;
    for c in text.chars() {
        let word = is_word_char(c) || (in_word && is_combining_mark(c));
        if word && !in_word {
            count += 1;
        }
        in_word = word;
    }
    count
}

fuzz_target!(|data: &[u8]| {
    let Some((&size, rest)) = data.split_first() else { return };
    let size = usize::from(size % 64);
    let (query, body) = match rest.iter().position(|&b| b == 0) {
        Some(nul) => (&rest[..nul], &rest[nul + 1..]),
        None => (rest, &[][..]),
    };
    let Some(query) = FtsQuery::parse(&String::from_utf8_lossy(query)) else { return };
    let (text, ranges) = snippet(body, &Matcher::new(&query), size);
    if size == 0 {
        assert!(text.is_empty() && ranges.is_empty());
    }
    assert!(text.len() <= body.len() + 2 * '…'.len_utf8(), "snippet longer than the body: {text:?}");
    assert!(words(&text) <= size, "more than {size} words: {text:?}");
    assert!(ranges.len() <= size);
    let mut previous_end = 0;
    for &(start, end) in &ranges {
        let (start, end) = (start as usize, end as usize);
        assert!(previous_end <= start && start < end && end <= text.len(), "bad range {start}..{end} in {text:?}");
        let word = text.get(start..end).unwrap_or_else(|| panic!("range {start}..{end} splits a character: {text:?}"));
        assert!(word.chars().all(|c| is_word_char(c) || is_combining_mark(c)), "highlight {word:?} is not a word");
        previous_end = end;
    }
});
