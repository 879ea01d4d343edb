//! Snippets with highlight ranges, computed from the article body like the SDK does (`core/sdk/src/kb/snippet.rs`):
//! the body is split into words as the index tokenizes it, each word is folded (lowercase, Latin accents removed) and
//! matched against the query terms (the prefix term as a prefix), and the window of `size` words holding the most
//! distinct terms (then the most matches, then the earliest) becomes the snippet. Whitespace runs become one space and
//! Markdown emphasis (`*`, `` ` ``) is dropped; ranges are byte offsets into the snippet.

use super::query::{is_combining_mark, is_word_char, FtsQuery, MAX_TOKENS};

/// Words in a snippet.
pub const SNIPPET_WORDS: usize = 24;

/// The query terms, folded, each with its prefix flag.
pub struct Matcher {
    terms: Vec<(String, bool)>,
}

impl Matcher {
    pub fn new(query: &FtsQuery) -> Matcher {
        Matcher { terms: query.terms().map(|(t, prefix)| (fold(t), prefix)).collect() }
    }

    fn term_of(&self, word: &str) -> Option<usize> {
        let folded = fold(word);
        self.terms
            .iter()
            .position(|(term, prefix)| if *prefix { folded.starts_with(term.as_str()) } else { folded == *term })
    }
}

/// Lowercase without Latin accents: what `unicode61 remove_diacritics 2` does to Latin text.
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if !is_combining_mark(c) {
            out.extend(c.to_lowercase().map(strip_accent));
        }
    }
    out
}

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

fn words(body: &str, matcher: &Matcher) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in body.char_indices() {
        let in_word = is_word_char(c) || (start.is_some() && is_combining_mark(c));
        match (in_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(Word { start: s, end: i, term: matcher.term_of(&body[s..i]) });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(Word { start: s, end: body.len(), term: matcher.term_of(&body[s..]) });
    }
    out
}

/// The first word of the best window: most distinct terms, then most matches, then earliest.
fn best_window(words: &[Word], size: usize) -> usize {
    let hits: Vec<(usize, usize)> = words.iter().enumerate().filter_map(|(i, w)| w.term.map(|t| (i, t))).collect();
    let mut best = (0usize, 0usize, 0usize);
    for (k, &(first, _)) in hits.iter().enumerate() {
        // Two words of context before the first match, without running past the end of the body.
        let start = first.saturating_sub(2).min(words.len().saturating_sub(size));
        let mut seen = [false; MAX_TOKENS];
        let (mut distinct, mut count) = (0, 0);
        for &(_, term) in hits[k..].iter().take_while(|(i, _)| *i < start + size) {
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

fn push_separator(out: &mut String, text: &str) {
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
        } else if c != '*' && c != '`' {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    if space {
        out.push(' ');
    }
}

/// A snippet of at most `size` words of `body` around the best matches, and the byte ranges of the matching words.
pub fn snippet(body: &str, matcher: &Matcher, size: usize) -> (String, Vec<(u32, u32)>) {
    let words = words(body, matcher);
    let (mut text, mut ranges) = (String::new(), Vec::new());
    if words.is_empty() || size == 0 {
        return (text, ranges);
    }
    let start = best_window(&words, size);
    let end = (start + size).min(words.len());
    if start > 0 {
        text.push('…');
    }
    for (i, word) in words[start..end].iter().enumerate() {
        if i > 0 {
            push_separator(&mut text, &body[words[start + i - 1].end..word.start]);
        }
        let from = text.len();
        text.push_str(&body[word.start..word.end]);
        if word.term.is_some() {
            ranges.push((from as u32, text.len() as u32));
        }
    }
    if end < words.len() {
        text.push('…');
    } else {
        let mut tail = String::new();
        push_separator(&mut tail, &body[words[end - 1].end..]);
        text.push_str(tail.trim_end());
    }
    (text, ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str, query: &str, size: usize) -> (String, Vec<String>) {
        let (text, ranges) = snippet(body, &Matcher::new(&FtsQuery::parse(query).unwrap()), size);
        let marked = ranges.iter().map(|(s, e)| text[*s as usize..*e as usize].to_owned()).collect();
        (text, marked)
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
        assert_eq!(run(body, "beta gamma", 5).0, "…eight nine beta gamma ten…");
        assert_eq!(run(body, "twelve", 5).0, "…gamma ten eleven twelve alpha");
        assert_eq!(run("First words of the body, then more.", "title", 4).0, "First words of the…");
        assert_eq!(run("", "x", 4).0, "");
    }
}
