//! What makes a spoken sentence worth forwarding, read off its form: the cues of a lesson, a
//! cause, a contrast with common belief, a prediction, a recommendation or a number that
//! compares something; and the cues of what only looks like one (an introduction, thanks and
//! credits, a sponsor read or other logistics, a personal anecdote, a question or an unfinished
//! hypothetical, a timeline, an inventory of numbers).
//!
//! Every cue is a general English phrase, not a word of any one show. Cues are matched on
//! whole words of the lower-cased text, so "thanks" never matches inside another word.

use std::collections::HashMap;
use std::sync::OnceLock;

/// How a stretch of speech reads: `substance` (0 and up) for the insight cues, `kind` (0..=1)
/// the factor left after the cues of a non-insight, and `reasons` naming which of those fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub substance: f64,
    pub kind: f64,
    pub reasons: Vec<&'static str>,
}

/// A sentence that introduces someone: a role with a copula or a workplace, or a welcome.
const INTRO_CUES: &[&str] = &[
    "joined by",
    "joining us",
    "joining me",
    "with me today",
    "with us today",
    "with me as always",
    "with me is",
    "here with us",
    "here with me",
    "welcome",
    "to have you",
    "have you on",
    "have you back",
    "introduce",
    "our guest",
    "our guests",
    "my guest",
    "today we have",
    "we have a",
    "i'm your host",
    "your host",
    "formerly",
    "works at",
    "working at",
    "worked at",
    "i work at",
    "he works",
    "she works",
    "they work",
    "founder of",
    "creator of",
    "author of",
    "maintainer of",
    "co-founder",
    "cofounder",
];
const ROLES: &[&str] = &[
    "engineer",
    "founder",
    "ceo",
    "cto",
    "cpo",
    "coo",
    "vp",
    "director",
    "manager",
    "maintainer",
    "creator",
    "author",
    "instructor",
    "professor",
    "researcher",
    "architect",
    "advocate",
    "evangelist",
    "host",
    "co-host",
    "panelist",
    "editor",
    "consultant",
    "designer",
    "president",
    "head of",
    "chief",
];
const COPULAS_OF_ROLE: &[&str] =
    &["is a", "is an", "is the", "is currently", "is now", "was a", "was the", "are a", "you're a", "i'm a", "i'm the"];

const THANKS_CUES: &[&str] = &[
    "thank",
    "thanks",
    "appreciate",
    "grateful",
    "kudos",
    "shout out",
    "shout-out",
    "shoutout",
    "props to",
    "hat tip",
    "theme music",
    "music by",
    "beats by",
    "composed by",
    "credit to",
];

/// Sponsor reads, calls to action, scheduling and show business.
const LOGISTICS_CUES: &[&str] = &[
    "sponsor",
    "sponsored",
    "advertise",
    "advertising",
    "ad spot",
    "promo",
    "coupon",
    "discount",
    "head to",
    "go to",
    "visit",
    "email us",
    "reach out",
    "join us",
    "tune in",
    "next week",
    "next time",
    "tomorrow",
    "tonight",
    "o'clock",
    "pacific",
    "eastern",
    "calendar",
    "booked",
    "register",
    "tickets",
    "coming up",
    "later in the show",
    "after the break",
    "the break",
    "season",
    "show notes",
    "the show",
    "this show",
    "the pod",
    "the episode",
    "this episode",
    "the channel",
    "slack",
    "listener",
    "listeners",
    "listening",
    "feed",
    "merch",
    "t-shirt",
    "t-shirts",
    "stickers",
    // A game on the show: its rules and score, not a point about anything.
    "this round",
    "next round",
    "the round",
    "in a round",
    "bonus round",
    "the other team",
    "most points",
    "double points",
    "double score",
    "scoreboard",
];

/// Openings of a question or of a thought experiment put to someone.
const QUESTION_OPENINGS: &[&str] = &[
    "do you",
    "did you",
    "does it",
    "does that",
    "are you",
    "were you",
    "is it",
    "is that",
    "is this",
    "is there",
    "was it",
    "was that",
    "can you",
    "could you",
    "would you",
    "will you",
    "have you",
    "has it",
    "should we",
    "should i",
    "don't you",
    "what do",
    "what did",
    "what does",
    "what is",
    "what's the",
    "what are",
    "what was",
    "what would",
    "how do",
    "how did",
    "how does",
    "how would",
    "how is",
    "why do",
    "why did",
    "why would",
    "why is",
    "who is",
    "where do",
    "when did",
    "which one",
    "i wonder",
    "i'm curious",
    "i was curious",
    "i've gotta ask",
    "i have to ask",
    "i gotta ask",
    "my question",
    "tell us",
    "tell me",
];
const HYPOTHETICAL_CUES: &[&str] = &[
    "imagine",
    "let's say",
    "say you",
    "suppose",
    "supposing",
    "pretend",
    "what if",
    "picture this",
    "if you were",
    "if i were",
    "if we were",
    "you could imagine",
    "hypothetically",
];

/// First-person narration: where I was, what happened to me, my family.
const ANECDOTE_CUES: &[&str] = &[
    "i remember",
    "i recall",
    "when i was",
    "i was like",
    "was like",
    "were like",
    "i grew up",
    "growing up",
    "years ago",
    "ago",
    "the other day",
    "the other week",
    "yesterday",
    "last night",
    "last week",
    "last weekend",
    "this morning",
    "this weekend",
    "my wife",
    "my husband",
    "my partner",
    "my dad",
    "my father",
    "my mom",
    "my mother",
    "my kids",
    "my son",
    "my daughter",
    "my family",
    "my brother",
    "my sister",
    "my friend",
    "my house",
    "my apartment",
    "my car",
    "i live",
    "i lived",
    "i went",
    "we went",
    "i bought",
    "i watched",
    "i saw",
    "i had",
    "i was",
    "we were",
    "i got",
    "i used to",
    "when we were",
    "funny story",
    "true story",
    "one time",
];
const SMALL_TALK_CUES: &[&str] = &[
    "haha",
    "lol",
    "oh my god",
    "oh my gosh",
    "that's awesome",
    "that's amazing",
    "that's funny",
    "that's hilarious",
    "that's cool",
    "so cool",
    "love that",
    "love it",
    "i love",
    "i'm a fan",
    "big fan",
    "huge fan",
    "shut up",
    "no way",
    "for sure",
    "fair enough",
    "good point",
    "great question",
    "good question",
    "exactly right",
    "nice",
    "awesome",
];
/// References to the conversation itself: who asked, who said what before.
const META_CUES: &[&str] = &[
    "you asked",
    "i asked",
    "this question",
    "that question",
    "your question",
    "as you said",
    "like you said",
    "as he said",
    "as she said",
    "like he said",
    "like she said",
    "mentioned",
    "to your point",
    "going back to",
    "you were saying",
    "i was saying",
    "we were talking",
    "we talked about",
    "you talked about",
    "earlier in the show",
];
/// Irregular past tenses common in speech; regular ones are told by their "-ed".
const PAST_VERBS: &[&str] = &[
    "was", "were", "had", "did", "went", "got", "said", "came", "told", "saw", "made", "took", "gave", "wrote",
    "began", "thought", "knew", "found", "left", "felt", "met", "ran", "built", "bought", "sat", "won", "lost",
    "became", "grew",
];
/// Words ending in "-ed" that are no past tense.
const NOT_PAST: &[&str] = &["need", "needed", "speed", "indeed", "embed", "based", "interested", "used", "supposed"];

/// A subject that lives in an earlier sentence.
const BACK_REFERENCES: &[&str] = &[
    "the latter",
    "the former",
    "same situation",
    "same exact",
    "exact same situation",
    "the same way",
    "that one",
    "this one",
    "the other one",
    "same one",
    "the second one",
    "the third one",
    "the last one",
    "those ones",
    "these ones",
    "that case",
    "this case",
    "those cases",
    "that situation",
    "those situations",
    "the two",
    "somewhere in there",
];
const TIMELINE_CUES: &[&str] =
    &["back in", "back then", "circa", "by the time", "at the time", "was founded", "was invented", "was released"];

/// Generalising subjects and claims about how things are.
const GENERAL_CUES: &[&str] = &[
    "people",
    "everyone",
    "everybody",
    "nobody",
    "no one",
    "most",
    "teams",
    "companies",
    "businesses",
    "developers",
    "engineers",
    "users",
    "customers",
    "organizations",
    "humans",
    "always",
    "never",
    "every time",
    "in general",
    "generally",
    "tends to",
    "tend to",
    "the key",
    "the problem",
    "the reason",
    "the trick",
    "the secret",
    "the lesson",
    "the point",
    "the difference",
    "the thing is",
    "the truth",
    "the goal",
    "important",
    "matters",
    "mistake",
    "underrated",
    "overrated",
    "dangerous",
    "powerful",
    "biggest",
    "best way",
    "the best",
    "the worst",
    "the hardest",
    "the most",
    "if you",
    "when you",
    "you can't",
    "you don't",
    "you need",
    "you have to",
];
const CAUSE_CUES: &[&str] = &[
    "because",
    "so that",
    "which means",
    "that means",
    "it means",
    "that's why",
    "this is why",
    "the reason",
    "leads to",
    "led to",
    "results in",
    "resulted in",
    "due to",
    "therefore",
    "as a result",
    "caused",
    "causes",
    "in order to",
];
const CONTRAST_CUES: &[&str] = &[
    "but",
    "however",
    "actually",
    "turns out",
    "turned out",
    "surprising",
    "surprisingly",
    "counterintuitive",
    "instead of",
    "rather than",
    "the opposite",
    "myth",
    "misconception",
    "people think",
    "you'd think",
    "oddly",
    "ironically",
    "in fact",
    "not the same",
    "not true",
    "isn't true",
    "disagree",
    "whereas",
    "although",
    "unless",
];
const PREDICTION_CUES: &[&str] = &[
    "in the future",
    "future",
    "eventually",
    "next few years",
    "next five years",
    "next ten years",
    "in five years",
    "in ten years",
    "predict",
    "prediction",
    "i bet",
    "is going to be",
    "are going to be",
    "is gonna be",
    "are gonna be",
    "will be",
    "will become",
    "moving forward",
    "going forward",
    "trend",
    "uptick",
];
const ADVICE_CUES: &[&str] = &[
    "should",
    "shouldn't",
    "recommend",
    "advice",
    "make sure",
    "avoid",
    "don't",
    "need to",
    "needs to",
    "have to",
    "has to",
    "must",
    "try to",
    "start with",
    "the best way",
    "worth it",
    "learned",
    "lesson",
    "realized",
    "takeaway",
];
/// Words that give a number something to mean: a comparison, a rate, a change.
const MEASURE_WORDS: &[&str] = &[
    "percent",
    "times",
    "x",
    "faster",
    "slower",
    "more",
    "less",
    "fewer",
    "cheaper",
    "bigger",
    "smaller",
    "higher",
    "lower",
    "than",
    "per",
    "half",
    "double",
    "doubled",
    "triple",
    "tripled",
    "cut",
    "reduce",
    "reduced",
    "increase",
    "increased",
    "decrease",
    "decreased",
    "improve",
    "improved",
    "saved",
    "save",
    "grew",
    "grow",
    "drop",
    "dropped",
    "average",
    "only",
    "over",
    "under",
    "up to",
    "from",
];
const NUMBER_WORDS: &[&str] = &[
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "fifteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "billion",
    "billions",
    "percent",
    "dozen",
    "twice",
    "half",
];

/// Reads one stretch of speech (one or two sentences, verbatim or cleaned).
pub fn read(text: &str) -> Reading {
    let words: Vec<String> = super::terms::tokens(text).collect();
    let found = find_cues(&words);
    let count = |list: usize| found.count(list) as f64;
    let has_any = |list: usize| found.count(list) > 0;
    let lead = words.iter().position(|w| !LEAD_INS.contains(&w.as_str())).unwrap_or(words.len());
    let starts = |list: usize| found.at(list, 0);
    let opens_with = |list: usize| found.at(list, lead);
    let mut kind = 1.0;
    let mut reasons = Vec::new();
    let mut cut = |why: &'static str, factor: f64, reasons: &mut Vec<&'static str>| {
        kind *= factor;
        reasons.push(why);
    };

    if has_any(INTRO) || found.role_after_copula() {
        cut("intro", 0.3, &mut reasons);
    }
    if has_any(THANKS) {
        cut("thanks", 0.3, &mut reasons);
    }
    // An address alone ("gitlab.com runs on ...") is no call to action; "head to" or "visit" is.
    let logistics = count(LOGISTICS);
    if logistics > 0.0 {
        cut("logistics", if logistics > 1.0 { 0.35 } else { 0.6 }, &mut reasons);
    }
    if asks(text) || opens_with(QUESTION) {
        cut("question", 0.2, &mut reasons);
    }
    if starts(HYPOTHETICAL) || opens_with(HYPOTHETICAL) || has_any(HYPOTHETICAL_ANYWHERE) {
        cut("hypothetical", 0.35, &mut reasons);
    }
    let trailing = text.trim_end();
    if trailing.ends_with("--") || trailing.ends_with(" -") || trailing.ends_with('—') || trailing.ends_with(',') {
        cut("unfinished", 0.4, &mut reasons);
    }

    // Personal narration: first person and past tense, with nothing that generalises.
    let first_person =
        words.iter().filter(|w| matches!(w.as_str(), "i" | "i'm" | "me" | "my" | "i've" | "i'd")).count();
    let past = words
        .iter()
        .filter(|w| matches!(w.as_str(), "was" | "were" | "had" | "did" | "went" | "got" | "said" | "came" | "told"))
        .count();
    // Every past tense, regular ones told by their "-ed": how much of it is a sequence of events.
    let events = words
        .iter()
        .filter(|w| {
            PAST_VERBS.contains(&w.as_str()) || (w.len() > 4 && w.ends_with("ed") && !NOT_PAST.contains(&w.as_str()))
        })
        .count();
    let present = words
        .iter()
        .filter(|w| matches!(w.as_str(), "is" | "are" | "isn't" | "aren't" | "does" | "doesn't" | "can" | "can't"))
        .count();
    let third_person =
        words.iter().filter(|w| matches!(w.as_str(), "he" | "she" | "his" | "her" | "him" | "he's" | "she's")).count();
    let general = count(GENERAL);
    let anecdote = count(ANECDOTE);
    let narration = (first_person >= 2 || third_person >= 2) && past > present && general == 0.0;
    if anecdote > 0.0 && (general == 0.0 || anecdote >= 2.0) || narration {
        cut("anecdote", if anecdote >= 2.0 { 0.35 } else { 0.5 }, &mut reasons);
    }
    // A story: a run of past events that explains nothing.
    if events >= 3 && present == 0 && !has_any(CAUSE) && !reasons.contains(&"anecdote") {
        cut("story", 0.6, &mut reasons);
    }
    // Talk about the conversation itself, or a subject named only before ("the latter"), leans
    // on what was said earlier.
    if has_any(META) || has_any(BACK_REFERENCE) || names_a_speaker(text) {
        cut("context", 0.6, &mut reasons);
    }
    // Someone speaking about themselves or about one other person, with nothing that carries
    // over to the listener.
    let persons = first_person + third_person;
    if persons >= 2 && general * 2.0 < persons as f64 && !reasons.contains(&"anecdote") {
        cut("personal", 0.75, &mut reasons);
    }
    // Opening on a quotation: a voice acted out, not a claim made.
    if text.trim_start().starts_with(['"', '“']) {
        cut("quoted", 0.6, &mut reasons);
    }
    if has_any(SMALL_TALK) {
        cut("small talk", 0.5, &mut reasons);
    }

    // Numbers: a number with something to compare it to is a finding; numbers on their own are
    // trivia, several of them an inventory, and years a timeline.
    let is_number = |w: &str| w.chars().any(|c| c.is_ascii_digit()) || NUMBER_WORDS.contains(&w);
    let numbers: Vec<usize> = (0..words.len()).filter(|&i| is_number(&words[i])).collect();
    let years = words
        .iter()
        .filter(|w| {
            w.len() == 4 && (w.starts_with("19") || w.starts_with("20")) && w.chars().all(|c| c.is_ascii_digit())
        })
        .count();
    let measured = text.contains('%')
        || numbers.iter().any(|&i| {
            let lo = i.saturating_sub(3);
            let hi = (i + 4).min(words.len());
            words[lo..hi].iter().any(|w| MEASURE_WORDS.contains(&w.as_str()))
        });
    let comparison = measured && numbers.len() > years;
    if numbers.len() >= 3 && !comparison {
        cut("inventory", 0.45, &mut reasons);
    }
    if (years > 0 || has_any(TIMELINE)) && past >= present && !has_any(PREDICTION) {
        cut("timeline", 0.6, &mut reasons);
    }

    let substance = (general * 0.35).min(1.2)
        + (count(CAUSE) * 0.5).min(1.0)
        + (count(CONTRAST) * 0.35).min(0.8)
        + (count(PREDICTION) * 0.5).min(0.8)
        + (count(ADVICE) * 0.35).min(0.9)
        + if comparison { 1.0 } else { 0.0 }
        + if present > past { 0.4 } else { 0.0 };
    Reading { substance, kind, reasons }
}

/// A question mark of the speaker's own: one inside a quotation the sentence goes on from ("you
/// have to ask "who owns this?" before ...") is a question quoted in a statement; one that ends
/// the sentence ("people will be like "why is she sitting there?"") leaves it a question.
fn asks(text: &str) -> bool {
    if text.trim_end().trim_end_matches(['"', '“', '”', '\'', ')', '.']).ends_with('?') {
        return true;
    }
    let mut quoted = false;
    text.chars().any(|c| {
        if matches!(c, '"' | '“' | '”') {
            quoted = c == '“' || (c == '"' && !quoted);
        }
        c == '?' && !quoted
    })
}

/// "Like Ashley said", "what Wilken said": pointing at someone's earlier words by name.
fn names_a_speaker(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(2).any(|w| {
        let said = w[1].trim_matches(|c: char| !c.is_alphanumeric()).eq_ignore_ascii_case("said")
            || w[1].trim_matches(|c: char| !c.is_alphanumeric()).eq_ignore_ascii_case("mentioned");
        let name = w[0].trim_matches(|c: char| !c.is_alphanumeric());
        said && name != "I" && name.chars().next().is_some_and(char::is_uppercase)
    })
}

/// Spoken lead-ins ("so", "and", "yeah", "well") skipped before reading a sentence's opening.
const LEAD_INS: &[&str] = &["so", "and", "but", "yeah", "yes", "well", "okay", "ok", "oh", "like", "um", "uh", "now"];

/// A text with one extra way of saying it starts a thought experiment anywhere.
const HYPOTHETICAL_ANYWHERE_CUES: &[&str] = &["could you imagine", "imagine if"];

// The cue lists, by their index in `LISTS`.
const INTRO: usize = 0;
const ROLE: usize = 1;
const COPULA_OF_ROLE: usize = 2;
const THANKS: usize = 3;
const LOGISTICS: usize = 4;
const QUESTION: usize = 5;
const HYPOTHETICAL: usize = 6;
const HYPOTHETICAL_ANYWHERE: usize = 7;
const ANECDOTE: usize = 8;
const SMALL_TALK: usize = 9;
const META: usize = 10;
const BACK_REFERENCE: usize = 11;
const TIMELINE: usize = 12;
const GENERAL: usize = 13;
const CAUSE: usize = 14;
const CONTRAST: usize = 15;
const PREDICTION: usize = 16;
const ADVICE: usize = 17;
const LISTS: [&[&str]; 18] = [
    INTRO_CUES,
    ROLES,
    COPULAS_OF_ROLE,
    THANKS_CUES,
    LOGISTICS_CUES,
    QUESTION_OPENINGS,
    HYPOTHETICAL_CUES,
    HYPOTHETICAL_ANYWHERE_CUES,
    ANECDOTE_CUES,
    SMALL_TALK_CUES,
    META_CUES,
    BACK_REFERENCES,
    TIMELINE_CUES,
    GENERAL_CUES,
    CAUSE_CUES,
    CONTRAST_CUES,
    PREDICTION_CUES,
    ADVICE_CUES,
];

/// One cue as words, and where it belongs: (list, index in the list, words).
type Cue = (usize, usize, Vec<String>);

/// Every cue keyed by its first word, so one pass over a text's words finds the cues of all
/// lists (a search per cue and sentence made extraction several times slower).
fn lexicon() -> &'static HashMap<String, Vec<Cue>> {
    static LEXICON: OnceLock<HashMap<String, Vec<Cue>>> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut by_first: HashMap<String, Vec<Cue>> = HashMap::new();
        for (list, cues) in LISTS.iter().enumerate() {
            for (index, cue) in cues.iter().enumerate() {
                let words: Vec<String> = super::terms::tokens(cue).collect();
                if let Some(first) = words.first() {
                    by_first.entry(first.clone()).or_default().push((list, index, words));
                }
            }
        }
        by_first
    })
}

/// The cues found in a text: (list, index in the list, word position) of each occurrence.
struct Found(Vec<(usize, usize, usize)>);

impl Found {
    /// How many different cues of `list` occur.
    fn count(&self, list: usize) -> usize {
        let mut cues: Vec<usize> = self.0.iter().filter(|m| m.0 == list).map(|m| m.1).collect();
        cues.sort_unstable();
        cues.dedup();
        cues.len()
    }

    /// Whether a cue of `list` starts at word `position`.
    fn at(&self, list: usize, position: usize) -> bool {
        self.0.iter().any(|m| m.0 == list && m.2 == position)
    }

    /// A role said of someone: "is a senior engineer", "I'm the maintainer", the role within a
    /// few words after the copula. A role and a copula far apart ("a maintainer shouldn't ...
    /// when there is an early response") introduce nobody.
    fn role_after_copula(&self) -> bool {
        self.0.iter().filter(|m| m.0 == COPULA_OF_ROLE).any(|c| {
            let end = c.2 + LISTS[COPULA_OF_ROLE][c.1].split_whitespace().count();
            self.0.iter().any(|r| r.0 == ROLE && (end..=end + 3).contains(&r.2))
        })
    }
}

/// Subjects that are things, not people: "a process that works at scale" introduces nobody.
const THING_SUBJECTS: &[&str] = &["that", "which", "it", "this", "what", "something", "everything", "nothing"];

fn find_cues(words: &[String]) -> Found {
    let lexicon = lexicon();
    let mut found = Vec::new();
    for (i, w) in words.iter().enumerate() {
        for (list, index, cue) in lexicon.get(w).map(Vec::as_slice).unwrap_or_default() {
            if words.get(i..i + cue.len()).is_some_and(|span| span == cue.as_slice()) && !misread(*list, cue, words, i)
            {
                found.push((*list, *index, i));
            }
        }
    }
    Found(found)
}

/// A cue whose words are there but not its sense: where someone "works at" is a workplace only
/// when someone works there, and "that one of the ..." points back at nothing.
fn misread(list: usize, cue: &[String], words: &[String], at: usize) -> bool {
    let before = at.checked_sub(1).map(|b| words[b].as_str());
    let after = words.get(at + cue.len()).map(String::as_str);
    match list {
        INTRO => cue.len() == 2 && cue[1] == "at" && before.is_some_and(|b| THING_SUBJECTS.contains(&b)),
        BACK_REFERENCE => cue.len() == 2 && cue[1] == "one" && after == Some("of"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<&'static str> {
        read(text).reasons
    }

    #[test]
    fn non_insights_are_recognised_by_their_form() {
        assert!(
            kinds("Jane is a senior software engineer at Acme, where she leads the storage team.").contains(&"intro")
        );
        assert!(kinds("Thanks to our friends who composed the theme music for this one.").contains(&"thanks"));
        assert!(kinds("I remember when I was a kid my dad took us to the cinema every Friday.").contains(&"anecdote"));
        assert!(
            kinds("Let's say you have a million users and a single database and you want to").contains(&"hypothetical")
        );
        assert!(
            kinds("We've got seven each of large, medium and small, 11 of XL, and 15 of 2XL.").contains(&"inventory")
        );
        assert!(kinds("Do you think the team would ever go back to the old way of doing things").contains(&"question"));
    }

    #[test]
    fn words_of_a_cue_without_its_sense_are_no_cue() {
        // Someone's workplace and role are an introduction; a thing that "works at" scale, a role
        // far from a copula, and "that one of" are not (nor a pointer back).
        assert!(kinds("She works at Acme on the storage team these days.").contains(&"intro"));
        assert!(kinds("Kevin, who is now the head of engineering at Acme, joins us.").contains(&"intro"));
        assert!(kinds("I'm the maintainer of a small parser library for config files.").contains(&"intro"));
        for claim in [
            "One of the worst things projects do is find a process that works at the scale they're at and \
             never change it when they double in size.",
            "A maintainer shouldn't feel pressured to respond immediately, but when there is an early response it \
             increases engagement.",
            "I think that one of the hardest parts of open source is saying no to a feature.",
        ] {
            let r = kinds(claim);
            assert!(!r.contains(&"intro") && !r.contains(&"context"), "{claim}: {r:?}");
        }
        assert!(kinds("That one was much slower than the old build.").contains(&"context"));
        // A question quoted inside a statement is no question; one asked after a quotation is.
        let quoted = "If you never ask \"How does this fit into how work gets done?\", people bypass the controls.";
        assert!(!kinds(quoted).contains(&"question"), "{:?}", kinds(quoted));
        assert!(kinds("He said \"ship it\", but why did nobody check the logs?").contains(&"question"));
        assert!(kinds("So what do you think about “ship it” as a motto?").contains(&"question"));
        assert!(kinds("And people will be like \"Why is this lady sitting on the stoop?\"").contains(&"question"));
    }

    #[test]
    fn any_text_reads_without_panicking() {
        for text in ["", "?", "Sébastien — café “déjà vu” 😀…", "é", "do", "ça va? 日本語のテキスト。", "--", "\""]
        {
            let r = read(text);
            assert!(r.kind > 0.0 && r.kind <= 1.0 && r.substance >= 0.0, "{text}: {r:?}");
        }
    }

    #[test]
    fn claims_carry_substance_and_no_penalty() {
        for claim in [
            "Most incident reviews fail because teams write them to assign blame instead of finding the missing safeguard.",
            "Caching at the edge cut our latency by forty percent, which means the database is no longer the bottleneck.",
            "You should never let a roadmap be used against the team that has to deliver it.",
        ] {
            let r = read(claim);
            assert_eq!(r.kind, 1.0, "{claim}: {:?}", r.reasons);
            assert!(r.substance >= 1.0, "{claim}: {}", r.substance);
        }
        let plain = read("The conference had a lot of talks in the main hall on the second day of it.");
        assert!(plain.substance < 1.0, "{}", plain.substance);
    }
}
