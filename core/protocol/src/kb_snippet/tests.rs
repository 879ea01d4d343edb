//! Snippet tests: fixed examples, and property tests against a whole-body split and a plain character-by-character
//! split.

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
fn the_decoder_accepts_what_from_utf8_accepts() {
    let mut bytes = [0u8; 4];
    for lead in 0xC0..=0xFFu8 {
        for second in 0x70..=0xC0u8 {
            for third in [0x7F, 0x80, 0x8F, 0x90, 0xA0, 0xBF, 0xC0] {
                bytes = [lead, second, third, 0x80];
                let expected = (1..=4)
                    .find_map(|len| std::str::from_utf8(&bytes[..len]).ok().map(|s| (s.chars().next(), len)))
                    .unwrap_or((None, 1));
                assert_eq!(decode(&bytes, 0), expected, "{bytes:x?}");
            }
        }
    }
    assert_eq!(decode(&bytes[..1], 0), (None, 1), "a character cut by the end of the body");
}

#[test]
fn invalid_utf8_is_skipped_not_an_error() {
    let q = FtsQuery::parse("caf").unwrap();
    let body = b"bad \xff\xfe bytes caf\xc3\xa9 \xe2\x82 end";
    let (text, ranges) = snippet(body, &Matcher::new(&q), 10);
    assert_eq!(text, "bad bytes café end");
    assert_eq!(ranges, vec![(10, 15)]);
}

/// Pieces of bodies: query words in every case and accent form, other words, separators ASCII or not, combining
/// marks in and outside words, invalid UTF-8.
const PIECES: [&[u8]; 24] = [
    b"alpha",
    b"Beta",
    b"gamma",
    "données".as_bytes(),
    "DONNÉES".as_bytes(),
    b"donnees",
    "élève".as_bytes(),
    b"Eleve",
    b"other",
    b"words",
    "cafe\u{301}".as_bytes(),
    "l’article".as_bytes(),
    "«".as_bytes(),
    "—".as_bytes(),
    " \u{301}x".as_bytes(),
    b"12",
    "Été".as_bytes(),
    b"\xff",
    b"\xc3",
    b"\x80a",
    b"**bold**",
    b" ",
    b"\n\n",
    b", ",
];

proptest::proptest! {
    /// Starting the word split near the first match gives exactly what splitting the whole body gives.
    #[test]
    fn the_shortcut_answers_like_a_whole_split(
        pieces in proptest::collection::vec((0..PIECES.len(), 0..4usize), 0..120),
        query in proptest::sample::select(vec!["donnees", "eleve beta", "alpha gamma", "caf", "beta x", "ete", "article", "zzz"]),
        size in 1..30usize,
    ) {
        let mut body = Vec::new();
        for (piece, separator) in pieces {
            body.extend_from_slice(PIECES[piece]);
            body.extend_from_slice([&b" "[..], b". ", "’".as_bytes(), b""][separator]);
        }
        let matcher = Matcher::new(&FtsQuery::parse(query).unwrap());
        let fast = snippet(&body, &matcher, size);
        let whole = render(&body, full_scan(&body, &matcher, size), size);
        proptest::prop_assert_eq!(fast, whole);
    }
}

/// The word split and term matching, written the plain way: characters decoded one by one, each word folded
/// whole through the Unicode case tables and compared with every term.
fn reference_words(body: &[u8], terms: &[(String, bool)]) -> Vec<(usize, usize, Option<usize>)> {
    let mut words = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let (c, len) = decode(body, i);
        if !c.is_some_and(is_word_char) {
            i += len;
            continue;
        }
        let start = i;
        i += len;
        while i < body.len() {
            let (c, len) = decode(body, i);
            if !c.is_some_and(|c| is_word_char(c) || is_combining_mark(c)) {
                break;
            }
            i += len;
        }
        let folded: String = std::str::from_utf8(&body[start..i])
            .unwrap()
            .chars()
            .filter(|c| !is_combining_mark(*c))
            .flat_map(char::to_lowercase)
            .map(strip_accent)
            .collect();
        let term =
            terms.iter().position(|(t, prefix)| if *prefix { folded.starts_with(t.as_str()) } else { folded == *t });
        words.push((start, i, term));
    }
    words
}

proptest::proptest! {
    /// The fast word split (byte classes, ASCII shortcuts, first-letter rejection) finds the same words and
    /// matches as the plain one.
    #[test]
    fn words_and_matches_equal_the_plain_split(
        pieces in proptest::collection::vec((0..PIECES.len(), 0..4usize), 0..80),
        query in proptest::sample::select(
            vec!["donnees", "eleve beta", "alpha gamma", "caf", "beta x", "ete", "article", "12 o", "l"],
        ),
    ) {
        let mut body = Vec::new();
        for (piece, separator) in pieces {
            body.extend_from_slice(PIECES[piece]);
            body.extend_from_slice([&b" "[..], b". ", "’".as_bytes(), b""][separator]);
        }
        let matcher = Matcher::new(&FtsQuery::parse(query).unwrap());
        let (fast, _) = words(&body, 0, &matcher, usize::MAX / 8, usize::MAX);
        let fast: Vec<_> = fast.iter().map(|w| (w.start, w.end, w.term)).collect();
        proptest::prop_assert_eq!(fast, reference_words(&body, &matcher.terms));
    }
}

#[test]
fn a_late_match_skips_the_words_before_it() {
    let body = format!("{} the answer is here {}", "filler ".repeat(500), "end ".repeat(40));
    let q = FtsQuery::parse("answer").unwrap();
    let matcher = Matcher::new(&q);
    let scan = scan(body.as_bytes(), &matcher, 8);
    assert!(scan.words_before && scan.words.len() < 20, "{} words split", scan.words.len());
    let (text, _) = render(body.as_bytes(), scan, 8);
    assert_eq!(text, "…filler the answer is here end end end…");
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
