//! What the agent says and the words it recognises, per language. French and English are written out; any other
//! chatflow language speaks English. Words are compared folded (lowercase, no accents: `kb_snippet::fold_into`), so
//! the lists hold folded forms. Recognition always accepts English and French words together: a visitor may write in
//! either whatever the chatflow's language.

/// The agent's sentences in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Texts {
    /// Sent at the opening when the chatflow's welcome message is empty.
    pub welcome: &'static str,
    /// First line of an answer.
    pub found: &'static str,
    /// Heading of the other articles of an answer.
    pub see_also: &'static str,
    /// The question after an answer.
    pub solved: &'static str,
    pub yes_label: &'static str,
    pub no_label: &'static str,
    pub person_label: &'static str,
    /// The visitor said the answer helped.
    pub glad: &'static str,
    /// The visitor said it did not: before the handoff.
    pub not_solved: &'static str,
    /// The search found nothing: before the handoff.
    pub no_match: &'static str,
    /// The message held no word to search for (empty, emoji, only words like "how" or "the").
    pub rephrase: &'static str,
}

pub const EN: Texts = Texts {
    welcome: "Hi! I'm the virtual assistant. Ask me a question and I'll look for the answer in our help articles.",
    found: "Here is what I found:",
    see_also: "See also:",
    solved: "Did that answer your question?",
    yes_label: "Yes, thanks",
    no_label: "No",
    person_label: "Talk to a person",
    glad: "Great! Ask me anything else whenever you need.",
    not_solved: "Sorry that didn't help.",
    no_match: "I couldn't find an article about that.",
    rephrase: "Could you describe your question in a few more words?",
};

pub const FR: Texts = Texts {
    welcome: "Bonjour ! Je suis l'assistant virtuel. Posez-moi votre question, je chercherai la réponse dans nos \
              articles d'aide.",
    found: "Voici ce que j'ai trouvé :",
    see_also: "Voir aussi :",
    solved: "Cela répond-il à votre question ?",
    yes_label: "Oui, merci",
    no_label: "Non",
    person_label: "Parler à un conseiller",
    glad: "Parfait ! Posez-moi une autre question quand vous voulez.",
    not_solved: "Désolé, cela ne vous a pas aidé.",
    no_match: "Je n'ai pas trouvé d'article à ce sujet.",
    rephrase: "Pouvez-vous décrire votre question en quelques mots de plus ?",
};

/// The texts of a chatflow language (its primary subtag): French, else English.
pub fn texts(language: &str) -> &'static Texts {
    if crate::store::kb::primary_language(language) == "fr" {
        &FR
    } else {
        &EN
    }
}

/// Words that answer "did that help?" positively; [`FEEDBACK_FILLER`] may come with them ("yes it did, thanks").
pub const YES: &[&str] = &[
    "yes",
    "yeah",
    "yep",
    "yup",
    "ok",
    "okay",
    "thanks",
    "thank",
    "great",
    "perfect",
    "solved",
    "helped",
    "oui",
    "merci",
    "parfait",
    "super",
    "resolu",
    "top",
    "absolument",
    "exactement",
    "bien",
];

/// Words that answer it negatively.
pub const NO: &[&str] = &["no", "nope", "not", "didn", "doesn", "nothing", "non", "pas", "rien", "nan"];

/// Words that may surround a yes or a no without making the message a new question.
pub const FEEDBACK_FILLER: &[&str] = &[
    "it", "did", "does", "that", "you", "much", "very", "so", "really", "t", "all", "at", "ca", "m", "a", "aide",
    "beaucoup", "c", "est", "du", "tout", "vraiment", "ne", "n", "help", "work", "works", "worked", "marche",
];

/// A word that alone names a person of the team.
pub const PERSON: &[&str] = &[
    "agent",
    "agents",
    "human",
    "humans",
    "person",
    "representative",
    "operator",
    "someone",
    "somebody",
    "staff",
    "humain",
    "humaine",
    "conseiller",
    "conseillere",
    "conseillers",
    "operateur",
    "operatrice",
    "quelqu",
    "interlocuteur",
];

/// Pairs of words that name a person where one word alone is ambiguous (French `personne` also means "nobody").
pub const PERSON_PAIRS: &[(&str, &str)] = &[("une", "personne"), ("vraie", "personne"), ("real", "person")];

/// Verbs of asking for someone: with one of them, a person word is a request whatever the message's length.
pub const ASK_FOR: &[&str] = &[
    "talk",
    "speak",
    "chat",
    "contact",
    "connect",
    "reach",
    "transfer",
    "parler",
    "discuter",
    "contacter",
    "joindre",
    "passer",
    "mettre",
];

/// A message this long or shorter that names a person is a request for one ("agent", "I need a real person"); longer
/// ones need a verb of asking ("How do I invite a person to my family plan?" is a question).
pub const SHORT_REQUEST_WORDS: usize = 5;

/// Words that carry no subject: dropped before searching. A message with nothing else asks to rephrase.
pub const STOP: &[&str] = &[
    // English
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "anyone", "are", "as", "at", "be", "been",
    "but", "by", "can", "cannot", "could", "couldn", "do", "does", "doesn", "don", "did", "didn", "for", "from", "get",
    "got", "had", "has", "have", "hello", "help", "hey", "hi", "how", "i", "if", "in", "into", "is", "isn", "it",
    "its", "just", "know", "let", "like", "me", "my", "need", "no", "not", "of", "on", "or", "our", "please",
    "problem", "question", "should", "so", "some", "t", "thank", "thanks", "that", "the", "their", "them", "then",
    "there", "this", "to", "tried", "trying", "try", "up", "use", "using", "want", "was", "way", "we", "were", "what",
    "when", "where", "which", "who", "why", "will", "with", "won", "would", "yes", "you", "your", "s", "m", "ve", "ll",
    "d", "re", "im", "good", "morning", "evening", // French
    "a", "afin", "ai", "aie", "alors", "au", "aux", "avec", "avez", "avoir", "bonjour", "bonsoir", "ca", "ce", "cela",
    "ces", "cette", "comment", "d", "dans", "de", "des", "dois", "doit", "donc", "du", "elle", "en", "est", "et",
    "etre", "faire", "fais", "fait", "faut", "il", "ils", "j", "je", "l", "la", "le", "les", "leur", "lui", "ma",
    "mais", "me", "merci", "mes", "mon", "n", "ne", "nos", "notre", "nous", "on", "ou", "par", "pas", "peut", "peux",
    "plait", "pour", "pourquoi", "puis", "qu", "quand", "que", "quel", "quelle", "quels", "qui", "s", "sa", "salut",
    "se", "ses", "si", "son", "suis", "sur", "svp", "t", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos",
    "votre", "vous", "y", "aide", "aider", "question", "probleme", "oui", "non", "veux", "voudrais", "besoin",
];

/// Is `word` (folded) in `list`?
pub fn is_in(list: &[&str], word: &str) -> bool {
    list.contains(&word)
}
