//! The fast path of `parse_plan` (`serde_json` into the plan types) and the spanned reader
//! (`parse_plan_spanned`) agree on every text: the same plan and warnings for valid plans, the
//! spanned reader's diagnostics for everything else; and the fast path takes exactly the plans
//! the spanned reader takes without a diagnostic. Run over every plan file in the repository,
//! texts built to catch the ways `serde_json` differs from the spanned reader (duplicate keys,
//! `-0`, floats, `null`, enum and array forms, escapes), and seeded mutations of generated plans.

use std::path::{Path, PathBuf};

use trackgate_core::{parse_plan, parse_plan_bytes, parse_plan_fast, parse_plan_spanned, SplitMix64};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Both paths give the same result, and the fast path alone takes exactly the plans the spanned
/// reader takes without a diagnostic. Returns whether the text was such a plan.
fn assert_same(label: &str, source: &str) -> bool {
    let fast = parse_plan(source);
    let spanned = parse_plan_spanned(source);
    assert_eq!(fast, spanned, "{label}: the two paths disagree");
    assert_eq!(parse_plan_bytes(source.as_bytes()), spanned, "{label}: parse_plan_bytes disagrees");
    let clean = spanned.as_ref().is_ok_and(|validated| validated.warnings.is_empty());
    let taken = parse_plan_fast(source);
    assert_eq!(taken.is_some(), clean, "{label}: the fast path takes a text iff it has nothing to report");
    if let (Some(plan), Ok(validated)) = (taken, &spanned) {
        assert_eq!(plan, validated.plan, "{label}: the fast path read another plan");
    }
    clean
}

fn json_files(directory: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
        if path.is_dir() && !matches!(name, "target" | ".git" | "node_modules" | "build" | ".gradle") {
            json_files(&path, found);
        } else if name.ends_with(".json") {
            found.push(path);
        }
    }
}

#[test]
fn every_json_file_in_the_repository_reads_the_same_both_ways() {
    let mut files = Vec::new();
    json_files(&repository(), &mut files);
    let mut plans = 0;
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        assert_same(&file.display().to_string(), &text);
        plans += usize::from(parse_plan_spanned(&text).is_ok());
    }
    // cli/src/sample_plan.json, docs/examples/plan.json, the usage, Spark and demo plans, seeds.
    assert!(plans >= 8, "only {plans} valid plans found among {} JSON files", files.len());
}

const HEAD: &str = r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "events": {"#;

fn plan_with(events: &str) -> String {
    format!("{HEAD}{events}}}}}")
}

#[test]
fn texts_where_serde_json_and_the_spanned_reader_differ() {
    let cases = [
        // Duplicates: serde_json alone would merge them.
        plan_with(r#""a": {"priority": "P1"}, "a": {"priority": "P2"}"#),
        plan_with(r#""b": {"priority": "P1"}, "a": {"priority": "P2"}, "b": {"priority": "P1"}"#),
        plan_with(r#""a": {"priority": "P1", "priority": "P1"}"#),
        plan_with(r#""a": {"priority": "P1", "owner": null, "owner": "x"}"#),
        plan_with(r#""a": {"priority": "P1", "rate_limit": {"per_second": 1, "burst": 1, "burst": 1}}"#),
        r#"{"schema": 1, "schema": 1, "app": "shop", "env": "prod", "version": 3, "events": {}}"#.into(),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "events": {}, "events": {}}"#.into(),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "defaults": {"max_bytes": 1, "max_bytes": 1}, "events": {}}"#.into(),
        plan_with(r#""a": {"priority": "P1"}, "\u0061": {"priority": "P1"}"#),
        // Numbers: only their decimal text counts.
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": -0, "events": {}}"#.into(),
        r#"{"schema": 1.0, "app": "shop", "env": "prod", "version": 3, "events": {}}"#.into(),
        r#"{"schema": 1e0, "app": "shop", "env": "prod", "version": 3, "events": {}}"#.into(),
        r#"{"schema": 01, "app": "shop", "env": "prod", "version": 3, "events": {}}"#.into(),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 18446744073709551615, "events": {}}"#.into(),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 18446744073709551616, "events": {}}"#.into(),
        plan_with(r#""a": {"priority": "P1", "sample": 0.10000000000000001}"#),
        plan_with(r#""a": {"priority": "P1", "sample": 0.1000001}"#),
        plan_with(r#""a": {"priority": "P1", "sample": 25E-2}"#),
        plan_with(r#""a": {"priority": "P1", "sample": -0}"#),
        plan_with(r#""a": {"priority": "P1", "sample": -0.0e-0}"#),
        plan_with(r#""a": {"priority": "P1", "sample": 1e400}"#),
        plan_with(r#""a": {"priority": "P1", "sample": 1e-400}"#),
        plan_with(r#""a": {"priority": "P1", "sample": "0.5"}"#),
        plan_with(r#""a": {"priority": "P1", "max_bytes": 4294967296}"#),
        plan_with(r#""a": {"priority": "P1", "max_bytes": -0}"#),
        plan_with(r#""a": {"priority": "P1", "max_bytes": 1.0}"#),
        plan_with(r#""a": {"priority": "P1", "rate_limit": {"per_second": 1e400, "burst": 1}}"#),
        plan_with(r#""a": {"priority": "P1", "rate_limit": {"per_second": 0.30000000000000004, "burst": 1}}"#),
        plan_with(r#""a": {"priority": "P1", "rate_limit": {"per_second": 2.2250738585072011e-308, "burst": 1}}"#),
        // null: absent for optional fields, an error for required ones.
        plan_with(r#""a": {"priority": "P1", "sample": null, "salt": null, "rate_limit": null, "owner": null}"#),
        plan_with(r#""a": {"priority": null}"#),
        plan_with(r#""a": {"priority": "P1", "rate_limit": {"per_second": null, "burst": 1}}"#),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "defaults": null, "shadow": null, "events": {}}"#
            .into(),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "defaults": {"max_bytes": null}, "events": {}}"#
            .into(),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "sampling_salt": null, "events": {}}"#.into(),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "events": null}"#.into(),
        r#"{"schema": null, "app": "shop", "env": "prod", "version": 3, "events": {}}"#.into(),
        r#"{"app": "shop", "env": "prod", "version": 3, "events": {}}"#.into(),
        // Enumerations are strings only.
        plan_with(r#""a": {"priority": {"P1": null}}"#),
        plan_with(r#""a": {"priority": "P\u0031", "status": "retired"}"#),
        plan_with(r#""a": {"priority": "p1"}"#),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "unregistered": {"keep": null}, "events": {}}"#
            .into(),
        // serde's derived structs also read a JSON array, field by field: a plan is objects only.
        r#"[1, "shop", "prod", 3, null, null, null, null, null, null, {}]"#.into(),
        plan_with(r#""a": [null, "P1", null, null, null, null, null, null]"#),
        plan_with(r#""a": {"priority": "P1", "rate_limit": [1, 2]}"#),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "defaults": [10], "events": {}}"#.into(),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "defaults": [], "events": {}}"#.into(),
        r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "events": []}"#.into(),
        // Unknown fields, escaped known fields, warnings, names, structure.
        plan_with(r#""a": {"priority": "P1", "colour": "red"}"#),
        plan_with(r#""a": {"pri\u006frity": "P1"}"#),
        plan_with(r#""pay": {"priority": "P0", "sample": 0.5}"#),
        plan_with(r#""pay": {"priority": "P0", "sample": 0.5, "status": "retired"}"#),
        plan_with(r#""bad name": {"priority": "P1"}"#),
        plan_with(r#""": {"priority": "P1"}"#),
        r#"{"schema": 2, "app": "shop", "env": "prod", "version": 3, "events": {}}"#.into(),
        r#"{"schema": 1, "app": "", "env": "prod", "version": 3, "events": {}}"#.into(),
        // Strings: escapes, surrogates, control characters.
        plan_with(r#""a": {"priority": "P1", "salt": "\ud800"}"#),
        plan_with(r#""a": {"priority": "P1", "owner": "caf\u00e9 \ud83d\ude00 \/ \b\f\n\r\t"}"#),
        plan_with(r#""a": {"priority": "P1", "owner": "\ud83d\u0041"}"#),
        plan_with(r#""a": {"priority": "P1", "owner": "\ud83d\ud83d"}"#),
        plan_with(r#""a": {"priority": "P1", "owner": "\udc00"}"#),
        plan_with(r#""a": {"priority": "P1", "owner": "\x"}"#),
        plan_with(r#""a\ud83d": {"priority": "P1"}"#),
        plan_with("\"a\": {\"priority\": \"P1\", \"owner\": \"tab\there\"}"),
        plan_with("\"a\": {\"priority\": \"P1\", \"owner\": \"caf\u{e9} \u{7f}\"}"),
        // Trailing commas and data, white space, empty input, nesting, byte-order mark.
        plan_with(r#""a": {"priority": "P1"},"#),
        format!("{} x", plan_with("")),
        format!("{} {{}}", plan_with("")),
        format!("\n\t {} \r\n", plan_with(r#""a": {"priority": "P1"}"#)),
        format!("\u{c}{}", plan_with("")),
        "[]".into(),
        String::new(),
        " ".into(),
        format!("{}{}{}", "[".repeat(70), plan_with(""), "]".repeat(70)),
        format!(r#"{{"schema": {}1{}, "app": "shop", "env": "prod", "version": 3, "events": {{}}}}"#, "[".repeat(200), "]".repeat(200)),
        format!("\u{feff}{}", plan_with("")),
    ];
    let mut clean = 0;
    for (index, source) in cases.iter().enumerate() {
        clean += usize::from(assert_same(&format!("case {index}: {source}"), source));
    }
    // The cases that are valid plans without warnings (nulls, escapes, exponents, white space).
    assert!(clean >= 8, "only {clean} cases were taken by the fast path");
}

/// A random plan: valid most of the time, with rare mistakes of every kind.
fn generated_plan(rng: &mut SplitMix64, events: usize) -> String {
    let mut pick = |bound: u64| rng.next_u64() % bound;
    let mut text = String::from(HEAD);
    for index in 0..events {
        if index > 0 {
            text.push(',');
        }
        let name = match pick(200) {
            0 => "bad name".to_owned(),
            1 => "dup".to_owned(),
            _ => format!("e{}.{}", pick(5), index),
        };
        let priority = ["P0", "P1", "P2", "P3", "P4"][(pick(101) as usize).min(400) / 25];
        text.push_str(&format!("\"{name}\":{{\"priority\":\"{priority}\""));
        if pick(3) == 0 {
            let sample =
                ["0.5", "0.25", "1", "0", "1e-6", "0.000001", "0.0000001", "1.5", "0.10", "5E-1"][pick(10) as usize];
            text.push_str(&format!(",\"sample\":{sample}"));
        }
        if pick(10) == 0 {
            text.push_str(",\"status\":\"retired\"");
        }
        if pick(20) == 0 {
            let per_second = ["0.1", "1", "2.5", "0", "1e9", "1.0000000000000002"][pick(6) as usize];
            text.push_str(&format!(",\"rate_limit\":{{\"per_second\":{per_second},\"burst\":{}}}", pick(4)));
        }
        if pick(10) == 0 {
            text.push_str(&format!(",\"max_bytes\":{}", pick(3) * 1000));
        }
        if pick(10) == 0 {
            text.push_str(&format!(",\"salt\":\"s{}\"", pick(3)));
        }
        if pick(4) == 0 {
            text.push_str(",\"owner\":\"team\",\"description\":\"what \\\"it\\\" means\"");
        }
        text.push('}');
    }
    text.push_str("}}");
    text
}

#[test]
fn generated_plans_read_the_same_both_ways() {
    let mut rng = SplitMix64::new(15);
    let mut valid = 0;
    for round in 0..400 {
        let source = generated_plan(&mut rng, 1 + round % 40);
        valid += usize::from(assert_same(&format!("round {round}: {source}"), &source));
    }
    assert!(valid > 20, "only {valid} generated plans were valid without warnings");
}

/// Number texts where exactness, range and grammar matter (some are not JSON at all).
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "3",
    "01",
    "1.0",
    "1e0",
    "1E+0",
    "-1",
    "10",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "1e400",
    "-1e400",
    "1e-400",
    "0.1",
    "0.000001",
    "0.0000001",
    "1e-6",
    "1e-7",
    "5E-1",
    "0.10000000000000001",
    "0.5",
    "2.5",
    "1e9",
    "1000000000.0000001",
    "1.",
    ".5",
    "+1",
    "0x10",
    "NaN",
    "1e",
    "-",
    "00",
];

/// String texts (with their quotes, some broken): escapes, surrogates, alphabet, enum words.
const STRINGS: &[&str] = &[
    r#""a""#,
    r#""shop""#,
    r#""\u0061""#,
    r#""caf\u00e9""#,
    r#""\ud83d\ude00""#,
    r#""\ud83d""#,
    r#""\udc00""#,
    r#""\ud83d\u0041""#,
    r#""\x""#,
    r#""a\"b""#,
    r#""\/""#,
    r#""""#,
    r#""bad name""#,
    r#""P1""#,
    r#""P0""#,
    r#""p1""#,
    r#""P\u0031""#,
    r#""retired""#,
    r#""active""#,
    r#""keep""#,
    r#""drop""#,
    "\"é\"",
    "\"tab\there\"",
    r#""unterminated"#,
];

/// Other values: literals, wrong shapes, enum-as-object, arrays in place of objects.
const OTHERS: &[&str] =
    &["null", "true", "false", "{}", "[]", r#"{"P1": null}"#, r#"["P1"]"#, "[[[[1]]]]", "[1, 2]", "nul", "tru"];

/// Bytes a byte-level mutation inserts or writes over.
const ALPHABET: &[char] = &[
    '{', '}', '[', ']', '"', ',', ':', '\\', '0', '1', '9', 'e', 'E', '-', '.', '+', ' ', '\n', 'n', 'u', 'l', 't',
    'P', 'a', 'é', '\u{1}', '\u{feff}',
];

/// A writer of one randomly mutated plan: each field, key and value is usually what a valid plan
/// holds and sometimes a mistake (another value, an escaped or unknown key, a repeat, a gap).
struct Mutator {
    rng: SplitMix64,
    text: String,
}

impl Mutator {
    fn below(&mut self, bound: usize) -> usize {
        (self.rng.next_u64() % bound as u64) as usize
    }

    fn chance(&mut self, per_thousand: usize) -> bool {
        self.below(1000) < per_thousand
    }

    fn space(&mut self) {
        let space = ["", "", " ", "\n", "\t", "\r\n  "][self.below(6)];
        self.text.push_str(space);
    }

    /// Some value of any kind, for a field given the wrong one.
    fn any_value(&mut self) -> String {
        match self.below(3) {
            0 => NUMBERS[self.below(NUMBERS.len())].to_owned(),
            1 => STRINGS[self.below(STRINGS.len())].to_owned(),
            _ => OTHERS[self.below(OTHERS.len())].to_owned(),
        }
    }

    /// The members of one object: `(key, value)` with the usual value given, mutated at times.
    fn object(&mut self, members: &[(&str, String)], required: &[&str]) {
        self.text.push('{');
        let mut first = true;
        for (key, value) in members {
            let repeats = if self.chance(15) { 2 } else { 1 };
            // Optional members are often left out; any member rarely.
            let leave_out = if required.contains(key) { self.chance(8) } else { self.chance(300) };
            if leave_out {
                continue;
            }
            for _ in 0..repeats {
                if !first {
                    self.text.push(',');
                }
                first = false;
                self.space();
                let key = match self.below(1000) {
                    0..=9 => format!("\"{}\\u{:04x}{}\"", &key[..1], key.as_bytes()[1], &key[2..]),
                    10..=14 => format!("\"{key}x\""),
                    15..=17 => "\"colour\"".to_owned(),
                    _ => format!("\"{key}\""),
                };
                self.text.push_str(&key);
                self.space();
                self.text.push(':');
                self.space();
                let value = if self.chance(40) { self.any_value() } else { value.clone() };
                self.text.push_str(&value);
                self.space();
            }
        }
        self.text.push('}');
    }

    fn number(&mut self, usual: &[&str]) -> String {
        if self.chance(60) {
            NUMBERS[self.below(NUMBERS.len())].to_owned()
        } else {
            usual[self.below(usual.len())].to_owned()
        }
    }

    fn rule(&mut self) -> String {
        let saved = std::mem::take(&mut self.text);
        let priority = ["\"P0\"", "\"P1\"", "\"P2\"", "\"P3\""][self.below(4)].to_owned();
        let status = ["\"active\"", "\"retired\""][self.below(2)].to_owned();
        let sample = self.number(&["1", "0.5", "0.25", "0", "1e-6", "0.000001", "5E-1", "1.0"]);
        let per_second = self.number(&["0.1", "1", "2.5", "1e3"]);
        let burst = self.number(&["1", "5", "100"]);
        let mut rate_limit = Mutator { rng: SplitMix64::new(self.rng.next_u64()), text: String::new() };
        rate_limit.object(&[("per_second", per_second), ("burst", burst)], &["per_second", "burst"]);
        let max_bytes = self.number(&["1", "512", "4096"]);
        let members = [
            ("status", status),
            ("priority", priority),
            ("sample", sample),
            ("salt", "\"s1\"".to_owned()),
            ("rate_limit", rate_limit.text),
            ("max_bytes", max_bytes),
            ("owner", "\"team\"".to_owned()),
            ("description", r#""what \"it\" means \u00e9""#.to_owned()),
        ];
        // Most events set only a few fields.
        let chosen: Vec<(&str, String)> =
            members.into_iter().filter(|(key, _)| *key == "priority" || self.chance(250)).collect();
        self.object(&chosen, &["priority"]);
        std::mem::replace(&mut self.text, saved)
    }

    fn plan(&mut self) -> String {
        let events_count = 1 + self.below(12);
        let mut events = Vec::new();
        for index in 0..events_count {
            let name = match self.below(1000) {
                0..=19 => "e.0".to_owned(),
                20..=29 => "bad name".to_owned(),
                30..=34 => String::new(),
                35..=44 => format!("e\\u002e{index}"),
                45..=49 => "x".repeat(65),
                _ => format!("e.{index}"),
            };
            events.push((name, self.rule()));
        }
        let saved = std::mem::take(&mut self.text);
        self.text.push('{');
        for (index, (name, rule)) in events.iter().enumerate() {
            if index > 0 {
                self.text.push(',');
            }
            self.space();
            self.text.push_str(&format!("\"{name}\":"));
            self.space();
            self.text.push_str(rule);
        }
        self.text.push('}');
        let events = std::mem::replace(&mut self.text, saved);
        let mut defaults = Mutator { rng: SplitMix64::new(self.rng.next_u64()), text: String::new() };
        let default_bytes = self.number(&["1", "4096"]);
        defaults.object(&[("max_bytes", default_bytes)], &[]);
        let schema = self.number(&["1"]);
        let version = self.number(&["3", "7", "0"]);
        let members = [
            ("schema", schema),
            ("app", "\"shop\"".to_owned()),
            ("env", "\"prod\"".to_owned()),
            ("version", version),
            ("enabled", ["true", "false"][self.below(2)].to_owned()),
            ("sampling_salt", "\"salt\"".to_owned()),
            ("unregistered", ["\"drop\"", "\"keep\""][self.below(2)].to_owned()),
            ("shed_below", ["\"P1\"", "\"P3\""][self.below(2)].to_owned()),
            ("shadow", ["true", "false"][self.below(2)].to_owned()),
            ("defaults", defaults.text),
            ("events", events),
        ];
        let chosen: Vec<(&str, String)> = members
            .into_iter()
            .filter(|(key, _)| ["schema", "app", "env", "version", "events"].contains(key) || self.chance(300))
            .collect();
        self.space();
        self.object(&chosen, &["schema", "app", "env", "version", "events"]);
        self.space();
        std::mem::take(&mut self.text)
    }

    /// A byte-level edit at a character boundary: insert, delete or overwrite one character.
    fn edit(&mut self, text: &mut String) {
        let boundaries: Vec<usize> = text.char_indices().map(|(index, _)| index).chain([text.len()]).collect();
        let at = boundaries[self.below(boundaries.len())];
        let character = ALPHABET[self.below(ALPHABET.len())];
        match self.below(3) {
            0 => text.insert(at, character),
            1 if at < text.len() => {
                text.remove(at);
            }
            _ if at < text.len() => {
                text.remove(at);
                text.insert(at, character);
            }
            _ => text.push(character),
        }
    }
}

#[test]
fn mutated_plans_read_the_same_both_ways() {
    let mut mutator = Mutator { rng: SplitMix64::new(0x7472_6163_6b67_6174), text: String::new() };
    let (mut clean, mut refused) = (0, 0);
    for round in 0..3000 {
        let mut source = mutator.plan();
        // A quarter also get one to three byte-level edits.
        if mutator.chance(250) {
            for _ in 0..=mutator.below(3) {
                mutator.edit(&mut source);
            }
        }
        let taken = assert_same(&format!("round {round}: {source:?}"), &source);
        clean += usize::from(taken);
        refused += usize::from(parse_plan_spanned(&source).is_err());
    }
    // Both sides are well exercised: plans the fast path takes, and texts with problems.
    assert!(clean >= 300, "only {clean} of 3000 mutated plans were clean");
    assert!(refused >= 1000, "only {refused} of 3000 mutated plans were refused");
}
