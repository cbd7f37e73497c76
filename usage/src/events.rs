//! The registered events and sets of them.
//!
//! Owns [`Universe`], the plan's (app, event) pairs with a dense index, and [`EventSet`], a
//! bitset over that index. Every lineage and predicate result is an `EventSet`, so a union or an
//! intersection costs one pass over `pairs / 64` words whatever the SQL looked like. Predicates
//! become sets here, by matching against the registered names: equality, `IN`, and `LIKE`
//! patterns.

use std::collections::HashMap;

/// A set of registered (app, event) pairs: one bit per pair of the [`Universe`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventSet {
    words: Vec<u64>,
}

impl EventSet {
    /// The empty set over a universe of `len` pairs.
    pub fn empty(len: usize) -> Self {
        EventSet { words: vec![0; len.div_ceil(64)] }
    }

    /// Every pair of a universe of `len` pairs.
    pub fn full(len: usize) -> Self {
        let mut set = EventSet { words: vec![u64::MAX; len.div_ceil(64)] };
        if len % 64 != 0 {
            if let Some(last) = set.words.last_mut() {
                *last = (1u64 << (len % 64)) - 1;
            }
        }
        set
    }

    /// Number of pairs the set can hold (a multiple of 64).
    pub fn capacity(&self) -> usize {
        self.words.len() * 64
    }

    /// Adds pair `index`.
    pub fn insert(&mut self, index: usize) {
        self.words[index / 64] |= 1 << (index % 64);
    }

    /// Whether pair `index` is in the set.
    pub fn contains(&self, index: usize) -> bool {
        self.words.get(index / 64).is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    /// `self ∪= other`.
    pub fn union_with(&mut self, other: &EventSet) {
        for (word, other) in self.words.iter_mut().zip(&other.words) {
            *word |= other;
        }
    }

    /// `self ∩= other`.
    pub fn intersect_with(&mut self, other: &EventSet) {
        for (word, other) in self.words.iter_mut().zip(&other.words) {
            *word &= other;
        }
    }

    /// The complement within a universe of `len` pairs.
    pub fn complement(&self, len: usize) -> EventSet {
        let mut full = EventSet::full(len);
        for (word, own) in full.words.iter_mut().zip(&self.words) {
            *word &= !own;
        }
        full
    }

    /// Whether every pair of `self` is in `other`.
    pub fn is_subset(&self, other: &EventSet) -> bool {
        self.words.iter().zip(&other.words).all(|(word, other)| word & !other == 0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|word| *word == 0)
    }

    /// Number of pairs in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|word| word.count_ones() as usize).sum()
    }

    /// The pairs' indexes, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(index, word)| {
            let mut bits = *word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(index * 64 + bit)
            })
        })
    }
}

/// The registered (app, event) pairs, indexed densely (pairs of one app are contiguous).
#[derive(Debug, Clone, Default)]
pub struct Universe {
    apps: Vec<String>,
    /// Per pair: its app's index into `apps` and its event name.
    pairs: Vec<(u32, Box<str>)>,
    /// Event name → pair indexes (one per app that registers the name).
    by_name: HashMap<Box<str>, Vec<u32>>,
    /// Per app: the range of its pairs.
    app_ranges: Vec<std::ops::Range<usize>>,
}

impl Universe {
    /// Builds the universe from each app's registered event names.
    pub fn new<'a>(apps: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> Self {
        let mut universe = Universe::default();
        for (app, mut names) in apps {
            names.sort_unstable();
            names.dedup();
            let app_index = match universe.apps.iter().position(|known| known == app) {
                Some(index) => index,
                None => {
                    universe.apps.push(app.to_owned());
                    universe.app_ranges.push(0..0);
                    universe.apps.len() - 1
                }
            };
            let start = universe.pairs.len();
            for name in names {
                let index = universe.pairs.len() as u32;
                universe.pairs.push((app_index as u32, name.into()));
                universe.by_name.entry(name.into()).or_default().push(index);
            }
            universe.app_ranges[app_index] = start..universe.pairs.len();
        }
        universe
    }

    /// Number of (app, event) pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no event is registered.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The app and event name of pair `index`.
    pub fn pair(&self, index: usize) -> (&str, &str) {
        let (app, name) = &self.pairs[index];
        (&self.apps[*app as usize], name)
    }

    /// The empty set.
    pub fn none(&self) -> EventSet {
        EventSet::empty(self.len())
    }

    /// Every registered pair.
    pub fn all(&self) -> EventSet {
        EventSet::full(self.len())
    }

    /// The pairs named `name` (in every app that registers it).
    pub fn named(&self, name: &str) -> EventSet {
        let mut set = self.none();
        if let Some(indexes) = self.by_name.get(name) {
            for index in indexes {
                set.insert(*index as usize);
            }
        }
        set
    }

    /// Whether some app registers `name`.
    pub fn knows_name(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The pairs of app `app`.
    pub fn of_app(&self, app: &str) -> EventSet {
        let mut set = self.none();
        if let Some(index) = self.apps.iter().position(|known| known == app) {
            for pair in self.app_ranges[index].clone() {
                set.insert(pair);
            }
        }
        set
    }

    /// The pairs whose event name matches the SQL `LIKE` pattern (`%`, `_`, optional escape).
    /// A `prefix%` pattern is a binary search per app (names are sorted within an app); others
    /// scan the names.
    pub fn event_like(&self, pattern: &str, escape: Option<char>) -> EventSet {
        let parsed = LikePattern::new(pattern, escape);
        let mut set = self.none();
        if let Some(prefix) = parsed.literal_prefix_only() {
            for range in &self.app_ranges {
                let pairs = &self.pairs[range.clone()];
                let start = pairs.partition_point(|(_, name)| &**name < prefix.as_str());
                for (offset, (_, name)) in pairs[start..].iter().enumerate() {
                    if !name.starts_with(prefix.as_str()) {
                        break;
                    }
                    set.insert(range.start + start + offset);
                }
            }
            return set;
        }
        for (index, (_, name)) in self.pairs.iter().enumerate() {
            if parsed.matches(name) {
                set.insert(index);
            }
        }
        set
    }

    /// The pairs whose app name matches the SQL `LIKE` pattern.
    pub fn app_like(&self, pattern: &str, escape: Option<char>) -> EventSet {
        let pattern = LikePattern::new(pattern, escape);
        let mut set = self.none();
        for (index, app) in self.apps.iter().enumerate() {
            if pattern.matches(app) {
                for pair in self.app_ranges[index].clone() {
                    set.insert(pair);
                }
            }
        }
        set
    }
}

/// A parsed SQL `LIKE` pattern.
#[derive(Debug)]
struct LikePattern {
    tokens: Vec<LikeToken>,
}

#[derive(Debug, PartialEq)]
enum LikeToken {
    Literal(char),
    One,
    Any,
}

impl LikePattern {
    fn new(pattern: &str, escape: Option<char>) -> Self {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars();
        while let Some(char) = chars.next() {
            let token = match char {
                _ if Some(char) == escape => LikeToken::Literal(chars.next().unwrap_or(char)),
                '%' => LikeToken::Any,
                '_' => LikeToken::One,
                other => LikeToken::Literal(other),
            };
            if !(token == LikeToken::Any && tokens.last() == Some(&LikeToken::Any)) {
                tokens.push(token);
            }
        }
        LikePattern { tokens }
    }

    /// `Some(prefix)` when the pattern is literal characters followed by one `%`.
    fn literal_prefix_only(&self) -> Option<String> {
        let (last, literals) = self.tokens.split_last()?;
        if *last != LikeToken::Any {
            return None;
        }
        literals.iter().map(|token| if let LikeToken::Literal(char) = token { Some(*char) } else { None }).collect()
    }

    /// Iterative matching with backtracking to the last `%` (linear for usual patterns).
    fn matches(&self, text: &str) -> bool {
        if text.is_ascii() {
            return self.matches_chars(text.as_bytes(), |byte| char::from(*byte));
        }
        let chars: Vec<char> = text.chars().collect();
        self.matches_chars(&chars, |char| *char)
    }

    fn matches_chars<T>(&self, text: &[T], char_of: impl Fn(&T) -> char) -> bool {
        let (mut t, mut p) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(LikeToken::Literal(char)) if *char == char_of(&text[t]) => {
                    t += 1;
                    p += 1;
                }
                Some(LikeToken::One) => {
                    t += 1;
                    p += 1;
                }
                Some(LikeToken::Any) => {
                    star = Some((p, t));
                    p += 1;
                }
                _ => match star {
                    Some((star_p, star_t)) => {
                        p = star_p + 1;
                        t = star_t + 1;
                        star = Some((star_p, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p..].iter().all(|token| *token == LikeToken::Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn universe() -> Universe {
        Universe::new([("shop", vec!["pay.ok", "pay.fail", "feed.view"]), ("mall", vec!["pay.ok", "mall.open"])])
    }

    #[test]
    fn sets_combine() {
        let universe = universe();
        let mut set = universe.named("pay.ok");
        assert_eq!(set.len(), 2);
        set.intersect_with(&universe.of_app("mall"));
        assert_eq!(set.iter().map(|index| universe.pair(index)).collect::<Vec<_>>(), [("mall", "pay.ok")]);
        assert_eq!(set.complement(universe.len()).len(), 4);
        assert!(set.is_subset(&universe.all()));
        assert_eq!(EventSet::full(130).len(), 130);
        assert!(EventSet::empty(130).is_empty());
    }

    #[test]
    fn like_patterns_match_registered_names() {
        let universe = universe();
        assert_eq!(universe.event_like("pay.%", None).len(), 3);
        assert_eq!(universe.event_like("%.ok", None).len(), 2);
        assert_eq!(universe.event_like("%ai%", None).len(), 1);
        assert_eq!(universe.event_like("pay.o_", None).len(), 2);
        assert_eq!(universe.event_like("feed.view", None).len(), 1);
        assert_eq!(universe.app_like("sh%", None).len(), 3);
        assert!(LikePattern::new("a!%b", Some('!')).matches("a%b"));
        assert!(!LikePattern::new("a!%b", Some('!')).matches("axb"));
        assert!(LikePattern::new("%a%b%", None).matches("xxaxxbxx"));
        assert!(!LikePattern::new("%a%b", None).matches("xxaxxbxc"));
        assert!(LikePattern::new("é_", None).matches("éx"));
        assert_eq!(LikePattern::new("pay.%", None).literal_prefix_only().as_deref(), Some("pay."));
        assert_eq!(LikePattern::new("pay_%", None).literal_prefix_only(), None);
        assert_eq!(universe.event_like("pay%", None).len(), 3);
        assert_eq!(universe.event_like("%", None).len(), 5);
    }
}
