//! Property tests with a seeded generator (no proptest): random predicates over a random plan.
//!
//! - Soundness: the set a predicate yields contains every (app, event) a real row could pass
//!   with (checked by brute force over the other columns' truth values), and equals it when the
//!   predicate mentions only the event and app columns.
//! - Adding a filter (`AND q`, in the same statement or one layer down) only shrinks a table's set.
//! - Replacing any atom by one the tool cannot resolve never shrinks what a query reads, so an
//!   unresolved statement never makes an event look unused.

use trackgate_usage::events::{EventSet, Universe};
use trackgate_usage::lineage::{Catalog, Lineage};

/// xorshift64*: deterministic, seeded.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

const APPS: [&str; 2] = ["shop", "mall"];
const NAMES: [&str; 8] =
    ["pay.ok", "pay.fail", "feed.view", "feed.scroll", "search.run", "cart.add", "cart.drop", "app.open"];
const PREFIXES: [&str; 4] = ["pay.", "feed.", "cart.", "x"];

#[derive(Clone, Debug)]
enum Predicate {
    EventIs(usize, bool),
    EventIn(Vec<usize>, bool),
    EventLike(usize, bool),
    AppIs(usize, bool),
    /// A column unrelated to events: free truth value number `.0`.
    Other(usize),
    /// A function of the event column the tool cannot resolve.
    Unknown(usize),
    Not(Box<Predicate>),
    And(Box<Predicate>, Box<Predicate>),
    Or(Box<Predicate>, Box<Predicate>),
    Case(Box<Predicate>, Box<Predicate>),
}

fn generate(rng: &mut Rng, depth: usize, others: &mut usize) -> Predicate {
    let leaf = depth == 0 || rng.below(3) == 0;
    if leaf {
        match rng.below(6) {
            0 => Predicate::EventIs(rng.below(NAMES.len()), rng.below(2) == 0),
            1 => Predicate::EventIn((0..1 + rng.below(3)).map(|_| rng.below(NAMES.len())).collect(), rng.below(2) == 0),
            2 => Predicate::EventLike(rng.below(PREFIXES.len()), rng.below(2) == 0),
            3 => Predicate::AppIs(rng.below(APPS.len()), rng.below(2) == 0),
            _ => {
                *others += 1;
                Predicate::Other(*others - 1)
            }
        }
    } else {
        let kind = rng.below(4);
        let mut sub = || Box::new(generate(rng, depth - 1, others));
        match kind {
            0 => Predicate::Not(sub()),
            1 => Predicate::And(sub(), sub()),
            2 => Predicate::Or(sub(), sub()),
            _ => Predicate::Case(sub(), sub()),
        }
    }
}

fn sql(predicate: &Predicate) -> String {
    let not = |negated: bool| if negated { "NOT " } else { "" };
    match predicate {
        Predicate::EventIs(name, negated) => format!("event {} '{}'", if *negated { "<>" } else { "=" }, NAMES[*name]),
        Predicate::EventIn(names, negated) => {
            let list: Vec<String> = names.iter().map(|name| format!("'{}'", NAMES[*name])).collect();
            format!("event {}IN ({})", not(*negated), list.join(", "))
        }
        Predicate::EventLike(prefix, negated) => format!("event {}LIKE '{}%'", not(*negated), PREFIXES[*prefix]),
        Predicate::AppIs(app, negated) => format!("app {} '{}'", if *negated { "<>" } else { "=" }, APPS[*app]),
        Predicate::Other(index) => format!("c{index} > 0"),
        Predicate::Unknown(name) => format!("lower(event) = '{}'", NAMES[*name]),
        Predicate::Not(inner) => format!("NOT ({})", sql(inner)),
        Predicate::And(left, right) => format!("({}) AND ({})", sql(left), sql(right)),
        Predicate::Or(left, right) => format!("({}) OR ({})", sql(left), sql(right)),
        Predicate::Case(condition, then) => {
            format!("CASE WHEN {} THEN 0 WHEN {} THEN 1 ELSE 0 END = 1", sql(condition), sql(then))
        }
    }
}

/// The predicate's truth for a row of `app`/`name`, given the free columns' truth values.
fn truth(predicate: &Predicate, app: &str, name: &str, others: u32) -> bool {
    match predicate {
        Predicate::EventIs(index, negated) => (NAMES[*index] == name) != *negated,
        Predicate::EventIn(list, negated) => list.iter().any(|index| NAMES[*index] == name) != *negated,
        Predicate::EventLike(prefix, negated) => name.starts_with(PREFIXES[*prefix]) != *negated,
        Predicate::AppIs(index, negated) => (APPS[*index] == app) != *negated,
        Predicate::Other(index) => others & (1 << index) != 0,
        Predicate::Unknown(index) => NAMES[*index] == name,
        Predicate::Not(inner) => !truth(inner, app, name, others),
        Predicate::And(left, right) => truth(left, app, name, others) && truth(right, app, name, others),
        Predicate::Or(left, right) => truth(left, app, name, others) || truth(right, app, name, others),
        Predicate::Case(condition, then) => !truth(condition, app, name, others) && truth(then, app, name, others),
    }
}

fn has_other(predicate: &Predicate) -> bool {
    match predicate {
        Predicate::Other(_) | Predicate::Unknown(_) => true,
        Predicate::Not(inner) => has_other(inner),
        Predicate::And(left, right) | Predicate::Or(left, right) | Predicate::Case(left, right) => {
            has_other(left) || has_other(right)
        }
        _ => false,
    }
}

/// Replaces the `target`-th atom (in walk order) by an unknown one.
fn blur(predicate: &Predicate, target: &mut isize) -> Predicate {
    let atom = !matches!(predicate, Predicate::Not(_) | Predicate::And(..) | Predicate::Or(..) | Predicate::Case(..));
    if atom {
        *target -= 1;
        return if *target == -1 { Predicate::Unknown(0) } else { predicate.clone() };
    }
    match predicate {
        Predicate::Not(inner) => Predicate::Not(Box::new(blur(inner, target))),
        Predicate::And(left, right) => Predicate::And(Box::new(blur(left, target)), Box::new(blur(right, target))),
        Predicate::Or(left, right) => Predicate::Or(Box::new(blur(left, target)), Box::new(blur(right, target))),
        Predicate::Case(left, right) => Predicate::Case(Box::new(blur(left, target)), Box::new(blur(right, target))),
        other => other.clone(),
    }
}

fn universe() -> Universe {
    Universe::new([("shop", NAMES.to_vec()), ("mall", NAMES[..5].to_vec())])
}

fn catalog() -> Catalog {
    serde_json::from_str(r#"{"tables": [{"name": "ods.log", "event_column": "event", "app_column": "app"}]}"#)
        .expect("catalog")
}

/// Table sets after the jobs `statements`.
fn tables(universe: &Universe, statements: &str, names: &[&str]) -> Vec<EventSet> {
    let mut lineage = Lineage::new(universe, &catalog());
    lineage.add_jobs(&[("p.sql".to_owned(), statements.to_owned())]);
    names.iter().map(|name| lineage.table_set(name).expect("table")).collect()
}

#[test]
fn predicate_sets_are_sound_and_exact_on_event_columns() {
    let universe = universe();
    let mut rng = Rng(0x5eed_0001);
    for _ in 0..300 {
        let mut others = 0;
        let predicate = generate(&mut rng, 4, &mut others);
        let others = others.min(6);
        let text = format!("INSERT INTO t SELECT * FROM ods.log WHERE {};", sql(&predicate));
        let set = &tables(&universe, &text, &["t"])[0];
        for pair in 0..universe.len() {
            let (app, name) = universe.pair(pair);
            let possible = (0..1u32 << others).any(|assignment| truth(&predicate, app, name, assignment));
            assert!(!possible || set.contains(pair), "unsound for {app}/{name}: {text}");
            if !has_other(&predicate) {
                assert_eq!(possible, set.contains(pair), "inexact for {app}/{name}: {text}");
            }
        }
    }
}

#[test]
fn adding_a_filter_only_shrinks_a_tables_set() {
    let universe = universe();
    let mut rng = Rng(0x5eed_0002);
    for _ in 0..200 {
        let (mut o1, mut o2) = (0, 0);
        let (p, q) = (generate(&mut rng, 3, &mut o1), generate(&mut rng, 3, &mut o2));
        let text = format!(
            "INSERT INTO t1 SELECT app, event AS ev FROM ods.log WHERE {p};\n\
             INSERT INTO t2 SELECT app, event AS ev FROM ods.log WHERE ({p}) AND ({q});\n\
             INSERT INTO t3 SELECT * FROM (SELECT app, ev AS event FROM t1) x WHERE {q};",
            p = sql(&p),
            q = sql(&q)
        );
        let sets = tables(&universe, &text, &["t1", "t2", "t3"]);
        assert!(sets[1].is_subset(&sets[0]), "{text}");
        assert!(sets[2].is_subset(&sets[0]), "{text}");
    }
}

#[test]
fn an_unresolved_atom_never_makes_an_event_look_unused() {
    let universe = universe();
    let mut rng = Rng(0x5eed_0003);
    for _ in 0..200 {
        let mut others = 0;
        let predicate = generate(&mut rng, 4, &mut others);
        let mut target = rng.below(6) as isize;
        let blurred = blur(&predicate, &mut target);
        let text = format!(
            "INSERT INTO exact SELECT * FROM ods.log WHERE {};\nINSERT INTO blurred SELECT * FROM ods.log WHERE {};",
            sql(&predicate),
            sql(&blurred)
        );
        let sets = tables(&universe, &text, &["exact", "blurred"]);
        assert!(sets[0].is_subset(&sets[1]), "{text}");
    }
}
