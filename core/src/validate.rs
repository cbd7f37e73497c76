//! Reading a plan from JSON text, reporting every problem at once with its place.
//!
//! Structure and types are checked while walking a spanned JSON tree (unknown and duplicate
//! fields, wrong types, bad rates); the semantic rules come from [`Plan::check`], and their paths
//! are mapped back to line:column here. Runs off the hot path; allocates freely.

use std::collections::{BTreeMap, HashMap};

use crate::diagnostic::{Diagnostic, Severity};
use crate::json::{self, LineIndex, Member, Node, Value};
use crate::plan::{
    event_path, Defaults, EventRule, EventStatus, Plan, Priority, RateLimit, SampleRate, UnregisteredPolicy,
    MAX_EVENTS, MAX_PLAN_BYTES,
};

/// A plan that passed validation, with the warnings it still has.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedPlan {
    /// The plan.
    pub plan: Plan,
    /// Problems that do not refuse the plan.
    pub warnings: Vec<Diagnostic>,
}

/// A refused plan: every problem found, errors first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", summary(.diagnostics))]
pub struct PlanError {
    /// All problems, errors first, each with its place.
    pub diagnostics: Vec<Diagnostic>,
}

fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|diagnostic| diagnostic.is_error()).count();
    let mut text = format!("invalid plan: {errors} error(s)");
    for diagnostic in diagnostics.iter().filter(|diagnostic| diagnostic.is_error()).take(10) {
        text.push_str("\n  ");
        text.push_str(&diagnostic.to_string());
    }
    if errors > 10 {
        text.push_str(&format!("\n  … and {} more", errors - 10));
    }
    text
}

/// The refusal of a plan text over [`MAX_PLAN_BYTES`], before anything is parsed.
fn too_large(length: usize) -> PlanError {
    let mut diagnostic = Diagnostic::new(
        Severity::Error,
        "$",
        format!("the plan is {length} bytes; at most {MAX_PLAN_BYTES} are allowed (docs/plan.md, size limits)"),
    );
    diagnostic.offset = Some(MAX_PLAN_BYTES);
    PlanError { diagnostics: vec![diagnostic] }
}

/// Reads and validates a plan from UTF-8 bytes (a file's contents).
///
/// Text over [`MAX_PLAN_BYTES`] is refused before it is decoded or parsed.
pub fn parse_plan_bytes(bytes: &[u8]) -> Result<ValidatedPlan, PlanError> {
    if bytes.len() > MAX_PLAN_BYTES {
        return Err(too_large(bytes.len()));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_plan(text),
        Err(error) => {
            let offset = error.valid_up_to();
            let (line, column) =
                LineIndex::new(std::str::from_utf8(&bytes[..offset]).unwrap_or("")).line_column(offset);
            let mut diagnostic = Diagnostic::new(Severity::Error, "$", format!("invalid UTF-8 at byte {offset}"));
            diagnostic.line = line;
            diagnostic.column = column;
            diagnostic.offset = Some(offset);
            Err(PlanError { diagnostics: vec![diagnostic] })
        }
    }
}

/// Reads and validates a plan from JSON text.
///
/// Returns the plan and its warnings, or every problem found, each with JSON path, line:column
/// and byte offset. Text over [`MAX_PLAN_BYTES`] is refused before parsing, and so is a text
/// with more than [`MAX_EVENTS`] events (found by a scan that builds nothing; the parser
/// stops at the first event too many as well).
///
/// A plan with nothing to report is read by `serde_json` straight into the plan types
/// (`fast_plan.rs`); any other text is read again by the spanned reader, which places every
/// problem. Both give the same [`ValidatedPlan`] for every plan the fast path accepts.
pub fn parse_plan(source: &str) -> Result<ValidatedPlan, PlanError> {
    if source.len() > MAX_PLAN_BYTES {
        return Err(too_large(source.len()));
    }
    if let Some(offset) = json::first_event_beyond(source, MAX_EVENTS) {
        return Err(too_many_events(source, offset));
    }
    if let Some(plan) = crate::fast_plan::read(source) {
        return Ok(ValidatedPlan { plan, warnings: Vec::new() });
    }
    parse_spanned(source)
}

/// [`parse_plan`] through the spanned reader only, the path that places problems: kept callable
/// so tests check both paths agree and benchmarks compare them.
#[doc(hidden)]
pub fn parse_plan_spanned(source: &str) -> Result<ValidatedPlan, PlanError> {
    if source.len() > MAX_PLAN_BYTES {
        return Err(too_large(source.len()));
    }
    if let Some(offset) = json::first_event_beyond(source, MAX_EVENTS) {
        return Err(too_many_events(source, offset));
    }
    parse_spanned(source)
}

/// The fast path of [`parse_plan`] alone: the plan when `serde_json` reads it with nothing to
/// report, `None` when [`parse_plan`] would read it again with the spanned reader. Kept callable
/// so tests check it takes exactly the plans the spanned reader takes without a diagnostic.
#[doc(hidden)]
pub fn parse_plan_fast(source: &str) -> Option<Plan> {
    crate::fast_plan::read(source)
}

fn too_many_events(source: &str, offset: usize) -> PlanError {
    let mut walker = Walker::new(LineIndex::new(source));
    let message = format!("more than {MAX_EVENTS} events; at most {MAX_EVENTS} are allowed");
    walker.report(Severity::Error, "$.events".into(), offset, message);
    PlanError { diagnostics: walker.diagnostics }
}

fn parse_spanned(source: &str) -> Result<ValidatedPlan, PlanError> {
    let index = LineIndex::new(source);
    let root = match json::parse(source, MAX_EVENTS) {
        Ok(root) => root,
        Err(syntax) => {
            let mut walker = Walker::new(index);
            walker.report(Severity::Error, syntax.path.into(), syntax.offset, syntax.message);
            return Err(PlanError { diagnostics: walker.diagnostics });
        }
    };
    let mut walker = Walker::new(index);
    let plan = walker.plan(&root);
    let semantic = match &plan {
        Some(plan) => plan.check(),
        // Still judge the events that were well-formed, so one pass shows every problem.
        None => {
            let mut found = Vec::new();
            for (name, rule) in &walker.partial_events {
                rule.check(name, &mut found);
            }
            found
        }
    };
    if !semantic.is_empty() {
        // Positions are looked up only when there is something to place: recording every
        // path while walking would cost more than the whole walk for large plans.
        let mut offsets = HashMap::new();
        collect_offsets(&root, "$", &mut offsets);
        for diagnostic in semantic {
            let offset = offset_of(&offsets, &diagnostic.path);
            walker.report(diagnostic.severity, diagnostic.path, offset, diagnostic.message);
        }
    }
    let mut diagnostics = walker.diagnostics;
    diagnostics.sort_by_key(|diagnostic| (diagnostic.severity, diagnostic.offset));
    match plan {
        Some(plan) if !diagnostics.iter().any(Diagnostic::is_error) => {
            Ok(ValidatedPlan { plan, warnings: diagnostics })
        }
        _ => Err(PlanError { diagnostics }),
    }
}

struct Walker<'source> {
    index: LineIndex<'source>,
    diagnostics: Vec<Diagnostic>,
    /// The well-formed events of a plan that is not well-formed as a whole.
    partial_events: BTreeMap<String, EventRule>,
}

type Fields<'tree, 'source> = HashMap<&'tree str, &'tree Node<'source>>;

const PLAN_FIELDS: &[&str] = &[
    "schema",
    "app",
    "env",
    "version",
    "enabled",
    "sampling_salt",
    "unregistered",
    "shed_below",
    "shadow",
    "defaults",
    "events",
];
const EVENT_FIELDS: &[&str] =
    &["status", "priority", "sample", "salt", "rate_limit", "max_bytes", "owner", "description"];

impl<'source> Walker<'source> {
    fn new(index: LineIndex<'source>) -> Self {
        Walker { index, diagnostics: Vec::new(), partial_events: BTreeMap::new() }
    }

    fn report(&mut self, severity: Severity, path: String, offset: usize, message: String) {
        let (line, column) = self.index.line_column(offset);
        self.diagnostics.push(Diagnostic { severity, path, line, column, offset: Some(offset), message });
    }

    fn error(&mut self, path: &str, offset: usize, message: impl Into<String>) {
        self.report(Severity::Error, path.to_owned(), offset, message.into());
    }

    /// The members of an object, after reporting duplicate and unknown keys.
    fn fields<'tree>(
        &mut self,
        path: &str,
        node: &'tree Node<'source>,
        known: &[&str],
    ) -> Option<Fields<'tree, 'source>> {
        let Value::Object(members) = &node.value else {
            self.error(path, node.offset, format!("expected an object, found {}", node.value.type_name()));
            return None;
        };
        let mut fields = HashMap::new();
        for Member { key, key_offset, value } in members {
            if !known.contains(&key.as_str()) {
                let message = format!("unknown field `{key}`; expected one of: {}", known.join(", "));
                self.error(&format!("{path}.{key}"), *key_offset, message);
            } else if fields.insert(key.as_str(), value).is_some() {
                self.error(&format!("{path}.{key}"), *key_offset, format!("duplicate field `{key}`"));
            }
        }
        Some(fields)
    }

    fn required<'tree, T>(
        &mut self,
        fields: &Fields<'tree, 'source>,
        path: &str,
        object_offset: usize,
        key: &str,
        read: impl FnOnce(&mut Self, &str, &'tree Node<'source>) -> Option<T>,
    ) -> Option<T> {
        match fields.get(key) {
            Some(node) => read(self, &format!("{path}.{key}"), node),
            None => {
                self.error(path, object_offset, format!("missing field `{key}`"));
                None
            }
        }
    }

    /// `Some(None)` when absent or null, `Some(Some(value))` when valid, `None` when invalid.
    fn optional<'tree, T>(
        &mut self,
        fields: &Fields<'tree, 'source>,
        path: &str,
        key: &str,
        read: impl FnOnce(&mut Self, &str, &'tree Node<'source>) -> Option<T>,
    ) -> Option<Option<T>> {
        match fields.get(key) {
            None => Some(None),
            Some(node) if matches!(node.value, Value::Null) => Some(None),
            Some(node) => read(self, &format!("{path}.{key}"), node).map(Some),
        }
    }

    fn type_error<T>(&mut self, path: &str, node: &Node<'_>, expected: &str) -> Option<T> {
        self.error(path, node.offset, format!("expected {expected}, found {}", node.value.type_name()));
        None
    }

    fn string(&mut self, path: &str, node: &Node<'_>) -> Option<String> {
        match &node.value {
            Value::String(text) => Some(text.clone()),
            _ => self.type_error(path, node, "a string"),
        }
    }

    fn boolean(&mut self, path: &str, node: &Node<'_>) -> Option<bool> {
        match node.value {
            Value::Bool(value) => Some(value),
            _ => self.type_error(path, node, "true or false"),
        }
    }

    fn unsigned(&mut self, path: &str, node: &Node<'_>, maximum: u64) -> Option<u64> {
        let Value::Number(text) = node.value else {
            return self.type_error(path, node, "a whole number");
        };
        match text.parse::<u64>() {
            Ok(value) if value <= maximum => Some(value),
            _ => {
                self.error(path, node.offset, format!("expected a whole number from 0 to {maximum}, found {text}"));
                None
            }
        }
    }

    fn u32_value(&mut self, path: &str, node: &Node<'_>) -> Option<u32> {
        self.unsigned(path, node, u64::from(u32::MAX)).map(|value| value as u32)
    }

    fn float(&mut self, path: &str, node: &Node<'_>) -> Option<f64> {
        match node.value {
            Value::Number(text) => text.parse::<f64>().ok().filter(|value| value.is_finite()).or_else(|| {
                self.error(path, node.offset, format!("number {text} is out of range"));
                None
            }),
            _ => self.type_error(path, node, "a number"),
        }
    }

    fn choice<T: Copy>(&mut self, path: &str, node: &Node<'_>, choices: &[(&str, T)]) -> Option<T> {
        let expected = || choices.iter().map(|(name, _)| format!("\"{name}\"")).collect::<Vec<_>>().join(" or ");
        let Value::String(text) = &node.value else {
            return self.type_error(path, node, &expected());
        };
        match choices.iter().find(|(name, _)| name == text) {
            Some((_, value)) => Some(*value),
            None => {
                self.error(path, node.offset, format!("expected {}, found \"{text}\"", expected()));
                None
            }
        }
    }

    fn priority(&mut self, path: &str, node: &Node<'_>) -> Option<Priority> {
        let choices: Vec<(&str, Priority)> =
            Priority::ALL.iter().map(|priority| (priority.as_str(), *priority)).collect();
        self.choice(path, node, &choices)
    }

    fn rate(&mut self, path: &str, node: &Node<'_>) -> Option<SampleRate> {
        let Value::Number(text) = node.value else {
            return self.type_error(path, node, "a number between 0 and 1");
        };
        match SampleRate::parse_decimal(text) {
            Ok(rate) => Some(rate),
            Err(problem) => {
                self.error(path, node.offset, format!("{problem} (found {text})"));
                None
            }
        }
    }

    fn plan(&mut self, root: &Node<'source>) -> Option<Plan> {
        let fields = self.fields("$", root, PLAN_FIELDS)?;
        let offset = root.offset;
        let schema = self.required(&fields, "$", offset, "schema", |walker, path, node| walker.u32_value(path, node));
        let app = self.required(&fields, "$", offset, "app", Self::string);
        let env = self.required(&fields, "$", offset, "env", Self::string);
        let version =
            self.required(&fields, "$", offset, "version", |walker, path, node| walker.unsigned(path, node, u64::MAX));
        let enabled = self.optional(&fields, "$", "enabled", Self::boolean);
        let sampling_salt = self.optional(&fields, "$", "sampling_salt", Self::string);
        let unregistered = self.optional(&fields, "$", "unregistered", |walker, path, node| {
            walker.choice(path, node, &[("drop", UnregisteredPolicy::Drop), ("keep", UnregisteredPolicy::Keep)])
        });
        let shed_below = self.optional(&fields, "$", "shed_below", Self::priority);
        let shadow = self.optional(&fields, "$", "shadow", Self::boolean);
        let defaults = self.optional(&fields, "$", "defaults", Self::defaults);
        let events = self.required(&fields, "$", offset, "events", Self::events);
        Some(Plan {
            schema: schema?,
            app: app?,
            env: env?,
            version: version?,
            enabled: enabled?.unwrap_or(true),
            sampling_salt: sampling_salt?.unwrap_or_default(),
            unregistered: unregistered?.unwrap_or_default(),
            shed_below: shed_below?,
            shadow: shadow?.unwrap_or(false),
            defaults: defaults?.unwrap_or_default(),
            events: events?,
        })
    }

    fn defaults(&mut self, path: &str, node: &Node<'source>) -> Option<Defaults> {
        let fields = self.fields(path, node, &["max_bytes"])?;
        let max_bytes = self.optional(&fields, path, "max_bytes", Self::u32_value)?;
        Some(Defaults { max_bytes })
    }

    fn events(&mut self, path: &str, node: &Node<'source>) -> Option<BTreeMap<String, EventRule>> {
        let Value::Object(members) = &node.value else {
            return self.type_error(path, node, "an object mapping event names to rules");
        };
        let mut events = BTreeMap::new();
        let mut complete = true;
        for Member { key, key_offset, value } in members {
            let event_path = event_path(key);
            if events.contains_key(key) {
                self.error(&event_path, *key_offset, format!("duplicate event `{key}`"));
                complete = false;
                continue;
            }
            match self.event(&event_path, value) {
                Some(rule) => {
                    events.insert(key.clone(), rule);
                }
                None => {
                    if let Err(problem) = crate::name::check_event_name(key) {
                        self.error(&event_path, *key_offset, problem.to_string());
                    }
                    complete = false;
                }
            }
        }
        if complete {
            Some(events)
        } else {
            self.partial_events = events;
            None
        }
    }

    fn event(&mut self, path: &str, node: &Node<'source>) -> Option<EventRule> {
        let fields = self.fields(path, node, EVENT_FIELDS)?;
        let status = self.optional(&fields, path, "status", |walker, path, node| {
            walker.choice(path, node, &[("active", EventStatus::Active), ("retired", EventStatus::Retired)])
        });
        let priority = self.required(&fields, path, node.offset, "priority", Self::priority);
        let sample = self.optional(&fields, path, "sample", Self::rate);
        let salt = self.optional(&fields, path, "salt", Self::string);
        let rate_limit = self.optional(&fields, path, "rate_limit", Self::rate_limit);
        let max_bytes = self.optional(&fields, path, "max_bytes", Self::u32_value);
        let owner = self.optional(&fields, path, "owner", Self::string);
        let description = self.optional(&fields, path, "description", Self::string);
        Some(EventRule {
            status: status?.unwrap_or_default(),
            priority: priority?,
            sample: sample?.unwrap_or_default(),
            salt: salt?,
            rate_limit: rate_limit?,
            max_bytes: max_bytes?,
            owner: owner?,
            description: description?,
        })
    }

    fn rate_limit(&mut self, path: &str, node: &Node<'source>) -> Option<RateLimit> {
        let fields = self.fields(path, node, &["per_second", "burst"])?;
        let per_second = self.required(&fields, path, node.offset, "per_second", Self::float);
        let burst = self.required(&fields, path, node.offset, "burst", Self::u32_value);
        Some(RateLimit { per_second: per_second?, burst: burst? })
    }
}

/// Records where every path of the document starts, in the walker's path syntax. Events are
/// placed at their key, where name problems belong.
fn collect_offsets(node: &Node<'_>, path: &str, offsets: &mut HashMap<String, usize>) {
    offsets.insert(path.to_owned(), node.offset);
    let Value::Object(members) = &node.value else {
        return;
    };
    for Member { key, key_offset, value } in members {
        if path == "$.events" {
            let member_path = event_path(key);
            collect_offsets(value, &member_path, offsets);
            offsets.insert(member_path, *key_offset);
        } else {
            collect_offsets(value, &format!("{path}.{key}"), offsets);
        }
    }
}

/// The offset of a path, or of its nearest recorded ancestor.
fn offset_of(offsets: &HashMap<String, usize>, path: &str) -> usize {
    let mut candidate = path;
    loop {
        if let Some(&offset) = offsets.get(candidate) {
            return offset;
        }
        match candidate.rfind(['.', '[']) {
            Some(cut) if cut > 0 => candidate = &candidate[..cut],
            _ => return 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
  "schema": 1, "app": "shop", "env": "prod", "version": 7,
  "sampling_salt": "s1", "shed_below": "P2",
  "defaults": {"max_bytes": 4096},
  "events": {
    "checkout.completed": {"priority": "P0"},
    "screen.view": {"priority": "P2", "sample": 0.25, "rate_limit": {"per_second": 2, "burst": 5}},
    "legacy.ping": {"priority": "P3", "status": "retired", "owner": "core", "description": "old"}
  }
}"#;

    #[test]
    fn reads_a_good_plan() {
        let validated = parse_plan(GOOD).unwrap();
        let plan = validated.plan;
        assert!(validated.warnings.is_empty());
        assert_eq!(plan.version, 7);
        assert!(plan.enabled);
        assert_eq!(plan.shed_below, Some(Priority::P2));
        assert_eq!(plan.events["screen.view"].sample.parts_per_million(), 250_000);
        assert_eq!(plan.events["legacy.ping"].status, EventStatus::Retired);
        assert_eq!(plan.events["screen.view"].rate_limit, Some(RateLimit { per_second: 2.0, burst: 5 }));
    }

    #[test]
    fn reports_every_problem_with_its_place() {
        let source = r#"{
  "schema": 1, "app": "shop", "env": "prod", "version": 7, "colour": "red",
  "events": {
    "ok": {"priority": "P1"},
    "ok": {"priority": "P1"},
    "bad name": {"priority": "P1"},
    "rate": {"priority": "P9", "sample": 1.5},
    "fine": {"priority": "P2", "sample": 0.0000001}
  }
}"#;
        let error = parse_plan(source).unwrap_err();
        let places: Vec<(String, u32, u32)> = error
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.path.clone(), diagnostic.line, diagnostic.column))
            .collect();
        assert!(places.contains(&("$.colour".into(), 2, 60)), "{places:?}");
        assert!(places.contains(&("$.events[\"ok\"]".into(), 5, 5)), "{places:?}");
        assert!(places.contains(&("$.events[\"rate\"].priority".into(), 7, 26)), "{places:?}");
        assert!(places.contains(&("$.events[\"rate\"].sample".into(), 7, 42)), "{places:?}");
        assert!(places.contains(&("$.events[\"fine\"].sample".into(), 8, 42)), "{places:?}");
        assert_eq!(error.diagnostics.len(), 6, "{:#?}", error.diagnostics);
        assert!(places.contains(&("$.events[\"bad name\"]".into(), 6, 5)), "{places:?}");
    }

    #[test]
    fn semantic_problems_point_at_the_key() {
        let source = "{\"schema\": 1, \"app\": \"shop\", \"env\": \"prod\", \"version\": 1,\n \"events\": {\"bad name\": {\"priority\": \"P1\"}}}";
        let error = parse_plan(source).unwrap_err();
        assert_eq!(error.diagnostics.len(), 1);
        let diagnostic = &error.diagnostics[0];
        assert_eq!((diagnostic.line, diagnostic.column), (2, 13));
        assert!(diagnostic.message.contains("byte 3"), "{}", diagnostic.message);
    }

    #[test]
    fn p0_sampling_is_a_warning() {
        let source = r#"{"schema": 1, "app": "a", "env": "b", "version": 1,
            "events": {"pay": {"priority": "P0", "sample": 0.5}}}"#;
        let validated = parse_plan(source).unwrap();
        assert_eq!(validated.warnings.len(), 1);
        assert_eq!(validated.warnings[0].severity, Severity::Warning);
        assert_eq!(validated.warnings[0].path, "$.events[\"pay\"].sample");
        assert_eq!(validated.warnings[0].line, 2);
    }

    #[test]
    fn syntax_errors_and_missing_fields() {
        let error = parse_plan("{\"schema\": 1,\n  \"app\" 3}").unwrap_err();
        assert_eq!((error.diagnostics[0].line, error.diagnostics[0].column), (2, 9));
        let error = parse_plan("{\"schema\": 2, \"app\": \"a\", \"env\": \"b\"}").unwrap_err();
        let messages: Vec<&str> = error.diagnostics.iter().map(|diagnostic| diagnostic.message.as_str()).collect();
        assert!(messages.iter().any(|message| message.contains("missing field `version`")), "{messages:?}");
        assert!(messages.iter().any(|message| message.contains("missing field `events`")), "{messages:?}");
        let error = parse_plan_bytes(b"{\"app\": \"\xff\"}").unwrap_err();
        assert_eq!(error.diagnostics[0].offset, Some(9));
    }
}
