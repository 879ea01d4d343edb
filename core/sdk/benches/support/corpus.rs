//! A deterministic knowledge-base corpus for tests and the `kb_search` benchmark: mixed French/English help-center
//! articles with accents and help-center lengths (60 to 500 words, about 200), plus the kinds of queries visitors
//! type (one word, accents dropped, a half-typed last word, short questions, upper case, the other language).
//!
//! Word statistics follow a help center's: every article is about one of [`TOPICS`] subjects and uses that
//! subject's specific words (trail and place names, feature names: generated, accented pseudo-words), general
//! product words drawn with a Zipf law (a few, like "compte" or "app", appear in most articles) and function words.
//!
//! Benchmark code, shared with the knowledge-base unit tests through `#[path]` (`src/kb/mod.rs`).
#![allow(dead_code)]

use chatflow_protocol::kb::Article;

/// xorshift64*: tiny, deterministic, good enough to pick words.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len())]
    }
}

pub const FR_FUNCTION: &[&str] = &[
    "le", "la", "les", "de", "des", "du", "un", "une", "et", "ou", "pour", "avec", "sans", "dans", "sur", "vous",
    "votre", "vos", "est", "sont", "pas", "ne", "qui", "que", "à", "en", "au", "aux", "se", "peut", "pouvez", "être",
    "très", "plus", "moins", "après", "avant", "où", "même", "déjà", "puis", "si", "quand", "chaque", "tout",
];

pub const FR_CONTENT: &[&str] = &[
    "carte",
    "sortie",
    "compte",
    "données",
    "télécharger",
    "hors",
    "ligne",
    "réglages",
    "application",
    "téléphone",
    "itinéraire",
    "randonnée",
    "synchronisation",
    "abonnement",
    "premium",
    "mot",
    "passe",
    "trace",
    "enregistrement",
    "notification",
    "confidentialité",
    "sécurité",
    "paiement",
    "facturation",
    "étape",
    "dénivelé",
    "météo",
    "réseau",
    "position",
    "batterie",
    "localisation",
    "précision",
    "profil",
    "région",
    "stockage",
    "espace",
    "appareil",
    "tablette",
    "montre",
    "partage",
    "lien",
    "ami",
    "invitation",
    "famille",
    "forfait",
    "essai",
    "gratuit",
    "remboursement",
    "boutique",
    "achat",
    "prélèvement",
    "erreur",
    "problème",
    "écran",
    "bouton",
    "menu",
    "sauvegarde",
    "zoom",
    "niveau",
    "détail",
    "version",
    "connexion",
    "adresse",
    "courriel",
    "refuge",
    "sentier",
    "forêt",
    "vallée",
    "sommet",
    "départ",
    "arrivée",
    "durée",
    "vitesse",
    "altitude",
    "pente",
    "difficulté",
    "groupe",
    "élève",
    "enseignant",
    "établissement",
    "réinitialiser",
    "supprimer",
    "modifier",
    "activer",
    "désactiver",
    "vérifier",
    "importer",
    "exporter",
    "fichier",
    "archive",
    "reçu",
    "taxe",
    "alerte",
    "orage",
    "chaleur",
    "été",
    "hiver",
    "neige",
    "équipement",
    "sac",
    "gourde",
    "boussole",
    "balise",
    "urgence",
    "contact",
    "secours",
    "itinérance",
    "mètres",
    "kilomètres",
    "unités",
    "thème",
    "sombre",
    "langue",
    "accessibilité",
];

pub const EN_FUNCTION: &[&str] = &[
    "the", "a", "an", "of", "to", "and", "or", "for", "with", "without", "in", "on", "you", "your", "is", "are", "not",
    "it", "this", "that", "can", "be", "when", "if", "then", "each", "all", "more", "less", "after", "before", "from",
    "at", "by", "as", "we", "our", "will", "also", "only",
];

pub const EN_CONTENT: &[&str] = &[
    "map",
    "trip",
    "account",
    "data",
    "download",
    "offline",
    "settings",
    "app",
    "phone",
    "route",
    "hike",
    "sync",
    "subscription",
    "premium",
    "password",
    "track",
    "recording",
    "notification",
    "privacy",
    "safety",
    "payment",
    "billing",
    "stage",
    "elevation",
    "weather",
    "network",
    "position",
    "battery",
    "location",
    "accuracy",
    "profile",
    "region",
    "storage",
    "space",
    "device",
    "tablet",
    "watch",
    "sharing",
    "link",
    "friend",
    "invitation",
    "family",
    "plan",
    "trial",
    "free",
    "refund",
    "store",
    "purchase",
    "charge",
    "error",
    "problem",
    "screen",
    "button",
    "menu",
    "backup",
    "zoom",
    "level",
    "detail",
    "version",
    "sign",
    "address",
    "email",
    "hut",
    "trail",
    "forest",
    "valley",
    "summit",
    "start",
    "finish",
    "duration",
    "speed",
    "altitude",
    "slope",
    "difficulty",
    "group",
    "student",
    "teacher",
    "school",
    "reset",
    "delete",
    "change",
    "enable",
    "disable",
    "check",
    "import",
    "export",
    "file",
    "archive",
    "receipt",
    "tax",
    "alert",
    "storm",
    "heat",
    "summer",
    "winter",
    "snow",
    "gear",
    "backpack",
    "bottle",
    "compass",
    "beacon",
    "emergency",
    "contact",
    "rescue",
    "roaming",
    "meters",
    "miles",
    "units",
    "theme",
    "dark",
    "language",
    "accessibility",
    "café",
    "naïve",
    "résumé",
];

/// Number of subjects; each has [`TOPIC_WORDS`] specific words. 10,000 articles → 25 articles per subject.
pub const TOPICS: usize = 400;
pub const TOPIC_WORDS: usize = 12;

const FR_SYLLABLES: &[&str] = &[
    "ba", "bé", "cha", "co", "dé", "fa", "gré", "la", "lé", "ma", "mo", "né", "pa", "pé", "ra", "ré", "sa", "té", "va",
    "vé", "lon", "mont", "val", "cré", "gne", "roc", "bri", "tal", "vi", "è", "ette", "ard", "ier", "ô", "çon", "lin",
];
const EN_SYLLABLES: &[&str] = &[
    "ash", "bar", "ber", "bro", "cal", "dale", "den", "el", "far", "fell", "gar", "ham", "hol", "ing", "ken", "lan",
    "ley", "mar", "mor", "ness", "ol", "pen", "ridge", "ros", "sel", "stone", "tor", "ton", "ver", "wick", "win",
];

/// Draws ranks `0..n` with probability proportional to `1 / (rank + 1)`.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Zipf {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect::<Vec<_>>();
        Zipf { cumulative: cumulative.iter().map(|c| c / total).collect() }
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cumulative.partition_point(|c| *c < u).min(self.cumulative.len() - 1)
    }
}

/// One language's vocabulary: function words, general product words, and subject words.
struct Language {
    code: &'static str,
    function: &'static [&'static str],
    general: &'static [&'static str],
    topics: Vec<Vec<String>>,
    function_zipf: Zipf,
    general_zipf: Zipf,
}

impl Language {
    fn new(code: &'static str, function: &'static [&'static str], general: &'static [&'static str]) -> Language {
        let syllables = if code == "fr" { FR_SYLLABLES } else { EN_SYLLABLES };
        let mut rng = Rng::new(if code == "fr" { 0xF0 } else { 0xE0 });
        let topics = (0..TOPICS)
            .map(|_| {
                (0..TOPIC_WORDS)
                    .map(|_| (0..2 + rng.below(3)).map(|_| rng.pick(syllables)).collect::<String>())
                    .collect()
            })
            .collect();
        Language {
            code,
            function,
            general,
            topics,
            function_zipf: Zipf::new(function.len()),
            general_zipf: Zipf::new(general.len()),
        }
    }

    fn function_word(&self, rng: &mut Rng) -> &'static str {
        self.function[self.function_zipf.draw(rng)]
    }

    fn general_word(&self, rng: &mut Rng) -> &'static str {
        self.general[self.general_zipf.draw(rng)]
    }

    fn topic_word(&self, rng: &mut Rng, topic: usize) -> String {
        self.topics[topic][rng.below(TOPIC_WORDS)].clone()
    }

    /// A body or title word: 40 % function, 37 % general, 23 % subject.
    fn word(&self, rng: &mut Rng, topic: usize) -> String {
        let u = rng.unit();
        if u < 0.40 {
            self.function_word(rng).to_owned()
        } else if u < 0.77 {
            self.general_word(rng).to_owned()
        } else {
            self.topic_word(rng, topic)
        }
    }

    fn sentence(&self, rng: &mut Rng, topic: usize) -> String {
        let n = 7 + rng.below(14);
        let mut words: Vec<String> = (0..n).map(|_| self.word(rng, topic)).collect();
        words[0] = capitalize(&words[0]);
        let mut s = words.join(" ");
        s.push(if rng.below(8) == 0 { '?' } else { '.' });
        s
    }
}

fn languages() -> [Language; 2] {
    [Language::new("fr", FR_FUNCTION, FR_CONTENT), Language::new("en", EN_FUNCTION, EN_CONTENT)]
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `n` articles of knowledge base `kb_id`, ids `1..=n`, about 55 % English and 45 % French.
pub fn articles(n: usize, kb_id: i64, seed: u64) -> Vec<Article> {
    let langs = languages();
    let mut rng = Rng::new(seed);
    (1..=n as i64)
        .map(|id| {
            let lang = if rng.unit() < 0.45 { &langs[0] } else { &langs[1] };
            let topic = rng.below(TOPICS);
            // Titles: two or three subject words and one to three general words.
            let mut title_words: Vec<String> =
                (0..2 + rng.below(2)).map(|_| lang.topic_word(&mut rng, topic)).collect();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(title_words.len() + 1);
                title_words.insert(at, lang.general_word(&mut rng).to_owned());
            }
            let title = capitalize(&title_words.join(" "));
            // 2 to 6 paragraphs of 2 to 6 sentences.
            let paragraphs: Vec<String> = (0..2 + rng.below(5))
                .map(|_| (0..2 + rng.below(5)).map(|_| lang.sentence(&mut rng, topic)).collect::<Vec<_>>().join(" "))
                .collect();
            Article {
                id,
                kb_id,
                title,
                body: paragraphs.join("\n\n"),
                language: lang.code.to_owned(),
                tags: vec![lang.general_word(&mut rng).to_owned()],
                published: true,
                url: format!("https://help.example.com/{}/articles/{id}", lang.code),
                updated_at: 1_700_000_000_000 + id,
            }
        })
        .collect()
}

/// Folds the accents of the French letters used above (to build accent-less queries).
pub fn strip_accents(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

/// `n` queries with the visitor's preferred language: what people type into a help-center search box.
pub fn queries(n: usize, seed: u64) -> Vec<(String, &'static str)> {
    let langs = languages();
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let lang = &langs[i % 2];
            let topic = rng.below(TOPICS);
            let text = match i % 10 {
                // The subject, as typed: one or two of its words.
                0 => lang.topic_word(&mut rng, topic),
                1 => {
                    let (a, b) = (lang.topic_word(&mut rng, topic), lang.topic_word(&mut rng, topic));
                    format!("{a} {b}")
                }
                // Accents dropped, upper case.
                2 => strip_accents(&lang.topic_word(&mut rng, topic)),
                3 => lang.topic_word(&mut rng, topic).to_uppercase(),
                // A general word and a subject word.
                4 => {
                    let (a, b) = (lang.general_word(&mut rng), lang.topic_word(&mut rng, topic));
                    format!("{a} {b}")
                }
                // Search-as-you-type: the last word is half typed.
                5 => {
                    let (a, b) = (lang.general_word(&mut rng), lang.topic_word(&mut rng, topic));
                    let cut: String = b.chars().take(3 + rng.below(3)).collect();
                    format!("{a} {cut}")
                }
                // General words only (frequent terms: the expensive queries).
                6 => lang.general_word(&mut rng).to_owned(),
                7 => {
                    let (a, b) = (lang.general_word(&mut rng), lang.general_word(&mut rng));
                    format!("{a} {b}")
                }
                // A question.
                8 => {
                    let (f, g, t) =
                        (lang.function_word(&mut rng), lang.general_word(&mut rng), lang.topic_word(&mut rng, topic));
                    format!("{g} {f} {t}")
                }
                _ => {
                    let (g, t) = (strip_accents(lang.general_word(&mut rng)), lang.topic_word(&mut rng, topic));
                    format!("{t} {g}")
                }
            };
            // One query in ten prefers the other language (exercises the fallback when it has no hit).
            let code = if rng.below(10) == 0 { langs[(i + 1) % 2].code } else { lang.code };
            (text, code)
        })
        .collect()
}
