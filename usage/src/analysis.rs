//! Uses: queries, routing rules and analytics over the lineage, counted per event.
//!
//! Owns [`Analysis`]: it takes the query log, the routing rules and the analytics log as texts,
//! resolves every statement against the [`Lineage`], and counts per (app, event) pair what reads
//! it in the window. Counts, readers and last reads accumulate per interned *read set*; they are
//! spread over events once, in [`Analysis::finish`], which also writes the `usage.json` model and
//! the evidence.
//!
//! Memory model (what grows with what):
//!
//! - tables × events: the lineage's bitsets (`pairs / 8` bytes per table);
//! - distinct read sets: each kept once, its sorted `u32` pair indexes in one shared pool, with
//!   its count, its last read (time, user, file, line, and the tables of the statement that made
//!   it, as an interned list) and a conservative flag: about 70 bytes plus 4 per pair; readers
//!   are one `(set, user)` entry each in a single hash set;
//! - distinct query texts: only their 64-bit normalized hash, in a set that keeps
//!   `distinct_queries`, the parse counts, the unresolved list and the diagnostics exact when a
//!   text comes back after the cache forgot it (about 16 bytes per distinct text);
//! - the statement cache (normalized hash → read set and table list): at most
//!   [`STATEMENT_CACHE_CAPACITY`] entries; when full it is cleared, and a miss only costs a
//!   re-parse. No statement's facts (place, tables, reasons) are kept beyond its resolution,
//!   except as a read set's last read; file names and table names are interned.
//!
//! Query lines themselves are never kept. Diagnostics (bad lines, unknown tables) are kept until
//! [`Analysis::finish`] sorts them.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::events::EventSet;
use crate::lineage::{Diagnostic, Lineage, Place};
use crate::scope::{Evaluator, Reason, TableLookup, TableSource};
use crate::statement::{parse, shape, Parsed, Shape};
use crate::time::{format_timestamp, parse_timestamp};

/// The window uses are counted in: `[end - days, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Length in days.
    pub days: u32,
    /// End, Unix milliseconds (`--now`, or the latest timestamp in the logs).
    pub end_ms: i64,
}

impl Window {
    fn contains(&self, millis: i64) -> bool {
        millis <= self.end_ms && millis > self.end_ms - i64::from(self.days) * 86_400_000
    }
}

/// The latest timestamp in an NDJSON log (field `ts`), for a window ending at the data.
pub fn latest_timestamp(text: &str) -> Option<i64> {
    text.lines().filter_map(|line| serde_json::from_str::<Stamp>(line).ok()).filter_map(|stamp| stamp.millis()).max()
}

#[derive(Deserialize)]
struct Stamp {
    #[serde(default)]
    ts: Option<serde_json::Value>,
}

impl Stamp {
    fn millis(&self) -> Option<i64> {
        timestamp_value(self.ts.as_ref()?)
    }
}

fn timestamp_value(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(number) => number.as_i64(),
        serde_json::Value::String(text) => parse_timestamp(text),
        _ => None,
    }
}

/// One query-log line.
#[derive(Deserialize)]
struct QueryLine<'a> {
    ts: serde_json::Value,
    #[serde(borrow)]
    sql: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    user: Option<std::borrow::Cow<'a, str>>,
}

/// One analytics-log line.
#[derive(Deserialize)]
struct AnalyticsLine {
    ts: serde_json::Value,
    events: Vec<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    app: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

/// The routing-rules file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingFile {
    /// The rules, in order: a rule may read the target of an earlier one.
    pub rules: Vec<RoutingRule>,
}

/// A real-time rule: rows of `source` matching `where` go to `target`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// The rule's name.
    pub name: String,
    /// The topic read.
    pub source: String,
    /// The topic written, if others read it.
    #[serde(default)]
    pub target: Option<String>,
    /// The SQL condition (without `WHERE`); all rows when absent.
    #[serde(default, rename = "where")]
    pub condition: Option<String>,
}

/// How many normalized query texts the statement cache holds before it is cleared (16 bytes of
/// data each, about 2.5 MB in all). A miss only costs a re-parse: the texts seen are remembered
/// apart, by hash, so counts and diagnostics stay exact.
pub const STATEMENT_CACHE_CAPACITY: usize = 100_000;

/// The latest read of one read set: ordered by time, then by position in the input (file order,
/// then line), so on equal timestamps the later line wins.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Last {
    millis: i64,
    file: u32,
    line: u32,
    user: u32,
    /// The interned list of the tables the statement read (for the path).
    tables: u32,
}

impl Last {
    fn key(&self) -> (i64, u32, u32) {
        (self.millis, self.file, self.line)
    }
}

/// Accumulated reads of one distinct read set (readers are kept apart, in `Analysis::readers`).
#[derive(Clone, Copy)]
struct Reads {
    count: u64,
    last: Last,
}

/// A distinct statement's resolution, cached.
#[derive(Clone, Copy)]
struct Resolved {
    set: u32,
    tables: u32,
}

/// Facts about one statement while it is resolved (for coverage, and its tables for evidence).
struct StatementFacts {
    place: Place,
    tables: Vec<String>,
    reasons: Vec<Reason>,
}

/// Counts of statements by outcome.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Coverage {
    /// Job statements that write a table or view.
    pub job_statements: usize,
    /// Job statements that do neither (DDL, `SET`, bare `SELECT`s).
    pub job_statements_skipped: usize,
    /// Query-log lines read (valid JSON with `ts` and `sql`).
    pub query_lines: u64,
    /// Query-log lines inside the window.
    pub queries_in_window: u64,
    /// Distinct query texts analysed (after whitespace normalization).
    pub distinct_queries: usize,
    /// Routing rules.
    pub routing_rules: usize,
    /// Analytics-log lines inside the window.
    pub analytics_in_window: u64,
    /// Statements the parser read (jobs, distinct queries, rules).
    pub statements_parsed: usize,
    /// Statements resolved exactly.
    pub statements_resolved: usize,
    /// Statements counted conservatively, by reason kind.
    pub unresolved_by_reason: BTreeMap<String, usize>,
    /// Up to 200 unresolved statements: place and reasons.
    pub unresolved: Vec<String>,
    /// Names read or written that no catalogue entry or job defines.
    pub unknown_tables: Vec<String>,
    /// Tables whose event set is an over-approximation (unresolved writers or sources, cycles).
    pub tables_with_unknown_set: Vec<String>,
    /// Cycles between jobs, as statement places.
    pub cycles: Vec<Vec<String>>,
    /// Bad input lines and statements (`file:line[:column]: message`), up to 1000.
    pub diagnostics: Vec<String>,
    /// Diagnostics beyond the first 1000.
    pub diagnostics_omitted: usize,
}

/// `usage.json`, exactly as `trackgate report --usage` reads it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UsageFile {
    /// The window length.
    pub days: u32,
    /// Used events by name (unused events are absent).
    pub events: BTreeMap<String, EventUses>,
    /// Active hours per window label (not derived here; empty).
    pub active_hours: BTreeMap<String, f64>,
}

/// The three value signals of one event.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventUses {
    /// Warehouse queries that read it.
    pub warehouse_queries: u64,
    /// Routing rules that consume it.
    pub realtime_rules: u64,
    /// Behaviour-analytics queries naming it.
    pub behaviour_queries: u64,
}

/// The evidence file: per event, who reads it and through which path, plus coverage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    /// `trackgate-usage-evidence/1`.
    pub format: String,
    /// Window length in days.
    pub days: u32,
    /// Window start and end (UTC).
    pub window_start: String,
    /// Window end (UTC).
    pub window_end: String,
    /// Per (app, event).
    pub events: Vec<EventEvidence>,
    /// Parsing and resolution summary.
    pub coverage: serde_json::Value,
}

/// Evidence for one (app, event).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EventEvidence {
    /// The app.
    pub app: String,
    /// The event name.
    pub event: String,
    /// Warehouse queries in the window that read it.
    pub warehouse_queries: u64,
    /// Distinct users among them.
    pub distinct_readers: u64,
    /// The latest read.
    pub last_read: Option<LastRead>,
    /// Routing rules that consume it.
    pub realtime_rules: Vec<String>,
    /// Behaviour-analytics queries naming it.
    pub behaviour_queries: u64,
    /// Tables and views its rows flow into (up to 20).
    pub tables: Vec<String>,
    /// Tables beyond the first 20.
    pub tables_omitted: usize,
    /// Job statements that carry it (places, up to 20).
    pub jobs: Vec<String>,
    /// Path of the latest read: root → … → table → query.
    pub path: Vec<String>,
    /// Some read of it was only counted conservatively (an unresolved statement).
    pub conservative: bool,
}

/// The latest read of an event.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LastRead {
    /// When (UTC).
    pub time: String,
    /// Who (empty when the log has no user).
    pub user: String,
    /// The query's log line.
    pub query: String,
}

/// The whole analysis.
pub struct Analysis<'u> {
    lineage: Lineage<'u>,
    window: Window,
    coverage: Coverage,
    diagnostics: Vec<Diagnostic>,
    users: HashMap<String, u32>,
    user_names: Vec<String>,
    /// Interned read sets: set `id` is `set_pairs[set_starts[id]..set_starts[id + 1]]`, sorted
    /// pair indexes (most queries read few events).
    set_pairs: Vec<u32>,
    set_starts: Vec<usize>,
    /// Hash of (pairs, conservative) → the first set with it; sets whose hash an earlier,
    /// different set holds are listed in `set_collisions` (in practice empty).
    set_index: HashMap<u64, u32>,
    set_collisions: Vec<u32>,
    set_conservative: Vec<bool>,
    /// Per set, when it was read at least once in the window.
    set_reads: Vec<Option<Reads>>,
    /// Distinct (set, user) pairs, as `set << 32 | user`.
    readers: HashSet<u64>,
    /// Normalized hash → resolution; at most `cache_capacity` entries, cleared when full.
    cache: HashMap<u64, Resolved>,
    cache_capacity: usize,
    /// Normalized hashes of every query text analysed (for exact per-text counts).
    seen: HashSet<u64>,
    /// Interned file names, and interned lists of table names (for last reads' paths).
    files: Vec<String>,
    table_names: Vec<String>,
    table_name_index: HashMap<String, u32>,
    table_lists: Vec<Box<[u32]>>,
    table_list_index: HashMap<Box<[u32]>, u32>,
    rules: Vec<(String, EventSet)>,
    behaviour: Vec<u64>,
    unknown_tables: Vec<String>,
}

/// Collapses whitespace runs outside quotes, so reformatted copies of a query share a cache entry.
fn normalized_hash(sql: &str) -> u64 {
    let mut normalized = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut space = false;
    for char in sql.trim().chars() {
        match quote {
            Some(open) => {
                normalized.push(char);
                if char == open {
                    quote = None;
                }
            }
            None if char.is_whitespace() => space = true,
            None => {
                if space {
                    normalized.push(' ');
                    space = false;
                }
                if matches!(char, '\'' | '"' | '`') {
                    quote = Some(char);
                }
                normalized.push(char);
            }
        }
    }
    let normalized = normalized.trim_end_matches(';');
    xxh3_64(normalized.as_bytes())
}

impl<'u> Analysis<'u> {
    /// Starts from the lineage (jobs already added) and the window.
    pub fn new(lineage: Lineage<'u>, window: Window) -> Self {
        Self::with_cache_capacity(lineage, window, STATEMENT_CACHE_CAPACITY)
    }

    /// As [`Analysis::new`], with a statement cache of at most `capacity` texts (at least 1).
    pub fn with_cache_capacity(lineage: Lineage<'u>, window: Window, capacity: usize) -> Self {
        let universe = lineage.universe();
        let mut coverage = Coverage {
            job_statements: lineage.statements.len(),
            job_statements_skipped: lineage.skipped_statements,
            ..Coverage::default()
        };
        let mut unknown_tables = Vec::new();
        for statement in &lineage.statements {
            if statement
                .reasons
                .iter()
                .all(|reason| reason.kind != "parse_error" && reason.kind != "too_large" && reason.kind != "too_deep")
            {
                coverage.statements_parsed += 1;
            }
            record_reasons(&mut coverage, &statement.place, &statement.reasons);
            for reason in &statement.reasons {
                if reason.kind == "unknown_table" && !unknown_tables.contains(&reason.detail) {
                    unknown_tables.push(reason.detail.clone());
                }
            }
        }
        let cycles = lineage.cycles.iter().map(|cycle| cycle.iter().map(Place::to_string).collect()).collect();
        coverage.cycles = cycles;
        Analysis {
            diagnostics: lineage.diagnostics.clone(),
            window,
            coverage,
            users: HashMap::new(),
            user_names: Vec::new(),
            set_pairs: Vec::new(),
            set_starts: vec![0],
            set_index: HashMap::new(),
            set_collisions: Vec::new(),
            set_conservative: Vec::new(),
            set_reads: Vec::new(),
            readers: HashSet::new(),
            cache: HashMap::new(),
            cache_capacity: capacity.max(1),
            seen: HashSet::new(),
            files: Vec::new(),
            table_names: Vec::new(),
            table_name_index: HashMap::new(),
            table_lists: Vec::new(),
            table_list_index: HashMap::new(),
            rules: Vec::new(),
            behaviour: vec![0; universe.len()],
            unknown_tables,
            lineage,
        }
    }

    /// The sorted pair indexes of read set `id`.
    fn set(&self, id: usize) -> &[u32] {
        &self.set_pairs[self.set_starts[id]..self.set_starts[id + 1]]
    }

    fn intern_set(&mut self, set: EventSet, conservative: bool) -> u32 {
        let set: Vec<u32> = set.iter().map(|pair| pair as u32).collect();
        let mut bytes: Vec<u8> = set.iter().flat_map(|pair| pair.to_le_bytes()).collect();
        bytes.push(u8::from(conservative));
        let hash = xxh3_64(&bytes);
        let same = |analysis: &Self, id: u32| {
            analysis.set(id as usize) == set.as_slice() && analysis.set_conservative[id as usize] == conservative
        };
        let first = self.set_index.get(&hash).copied();
        if let Some(id) = first {
            if same(self, id) {
                return id;
            }
            if let Some(id) = self.set_collisions.iter().copied().find(|id| same(self, *id)) {
                return id;
            }
        }
        let id = self.set_conservative.len() as u32;
        match first {
            Some(_) => self.set_collisions.push(id),
            None => {
                self.set_index.insert(hash, id);
            }
        }
        self.set_pairs.extend_from_slice(&set);
        self.set_starts.push(self.set_pairs.len());
        self.set_reads.push(None);
        self.set_conservative.push(conservative);
        id
    }

    fn file(&mut self, name: &str) -> u32 {
        if let Some(id) = self.files.iter().position(|file| file == name) {
            return id as u32;
        }
        self.files.push(name.to_owned());
        self.files.len() as u32 - 1
    }

    /// Interns a statement's list of tables read.
    fn intern_tables(&mut self, tables: &[String]) -> u32 {
        let ids: Box<[u32]> = tables
            .iter()
            .map(|table| match self.table_name_index.get(table.as_str()) {
                Some(id) => *id,
                None => {
                    let id = self.table_names.len() as u32;
                    self.table_names.push(table.clone());
                    self.table_name_index.insert(table.clone(), id);
                    id
                }
            })
            .collect();
        if let Some(id) = self.table_list_index.get(&ids) {
            return *id;
        }
        let id = self.table_lists.len() as u32;
        self.table_lists.push(ids.clone());
        self.table_list_index.insert(ids, id);
        id
    }

    fn user(&mut self, name: &str) -> u32 {
        if let Some(id) = self.users.get(name) {
            return *id;
        }
        let id = self.user_names.len() as u32;
        self.users.insert(name.to_owned(), id);
        self.user_names.push(name.to_owned());
        id
    }

    /// Resolves one statement's reads: (set, facts). `first` is false when the same text was
    /// resolved before (the cache forgot it): then nothing is counted or reported again.
    fn resolve(&mut self, sql: &str, place: Place, first: bool) -> (EventSet, StatementFacts) {
        let universe = self.lineage.universe();
        let depth = crate::split::split_statements(sql).first().map_or(0, |piece| piece.depth);
        match parse(sql, depth) {
            Parsed::Read(statement) => {
                if first {
                    self.coverage.statements_parsed += 1;
                }
                let query = match shape(&statement) {
                    Shape::Write { query, .. } | Shape::Read(query) => Some(query),
                    Shape::Other => None,
                };
                let Some(query) = query else {
                    return (universe.none(), StatementFacts { place, tables: Vec::new(), reasons: Vec::new() });
                };
                let mut evaluator = Evaluator::new(universe, &self.lineage);
                evaluator.query(query);
                for table in evaluator.unknown_tables.iter().filter(|_| first) {
                    if !self.unknown_tables.contains(table) {
                        self.unknown_tables.push(table.clone());
                    }
                    self.diagnostics.push(Diagnostic {
                        place: place.clone(),
                        message: format!("unknown table `{table}`; the query counts as reading every event"),
                    });
                }
                (evaluator.reads, StatementFacts { place, tables: evaluator.tables_read, reasons: evaluator.reasons })
            }
            Parsed::Unreadable { reason, at, scanned } => {
                let at_place = match at {
                    Some((1, column)) => Place { column: (place.column + column).saturating_sub(1), ..place.clone() },
                    Some((line, column)) => {
                        Place { line: (place.line + line).saturating_sub(1), column, ..place.clone() }
                    }
                    None => place.clone(),
                };
                if first {
                    self.diagnostics.push(Diagnostic {
                        place: at_place,
                        message: format!(
                            "{}: {}; counted as reading everything its tables hold",
                            reason.kind.replace('_', " "),
                            reason.detail
                        ),
                    });
                }
                let mut set = universe.none();
                for source in &scanned.sources {
                    match self.lineage.lookup(source) {
                        TableLookup::Known(relation) => set.union_with(&relation.provenance(universe)),
                        TableLookup::Unknown => set = universe.all(),
                    }
                }
                if scanned.sources.is_empty() {
                    set = universe.all();
                }
                (set, StatementFacts { place, tables: scanned.sources, reasons: vec![reason] })
            }
        }
    }

    /// Adds the routing rules file (JSON text); each rule counts as one real-time use of what it
    /// reads, and its target becomes a topic later rules and queries can read. Add it before the
    /// query log: a query text resolved again after the statement cache forgot it sees the
    /// topics defined by then.
    pub fn add_routing(&mut self, file: &str, text: &str) -> Result<(), Diagnostic> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let routing: RoutingFile = serde::Deserialize::deserialize(&mut deserializer).map_err(|error| Diagnostic {
            place: Place { file: file.to_owned(), line: error.line() as u32, column: error.column() as u32 },
            message: error.to_string().split(" at line ").next().unwrap_or_default().to_owned(),
        })?;
        let lines: Vec<usize> = text
            .match_indices("\"name\"")
            .map(|(offset, _)| crate::split::line_column(text, offset).0 as usize)
            .collect();
        for (index, rule) in routing.rules.iter().enumerate() {
            let line = lines.get(index).copied().unwrap_or(1) as u32;
            let sql = match &rule.condition {
                Some(condition) => format!("SELECT * FROM {} WHERE {condition}", rule.source),
                None => format!("SELECT * FROM {}", rule.source),
            };
            let place = Place { file: file.to_owned(), line, column: 0 };
            let (set, facts) = self.resolve(&sql, place.clone(), true);
            self.count_resolution(&facts);
            if let Some(target) = &rule.target {
                let universe = self.lineage.universe();
                let relation = {
                    let mut evaluator = Evaluator::new(universe, &self.lineage);
                    match parse(&sql, 0) {
                        Parsed::Read(statement) => match shape(&statement) {
                            Shape::Read(query) => Some(evaluator.query(query)),
                            _ => None,
                        },
                        Parsed::Unreadable { .. } => None,
                    }
                };
                let relation = relation.unwrap_or_else(|| crate::scope::Relation {
                    parts: vec![crate::scope::Part {
                        set: set.clone(),
                        columns: Vec::new(),
                        rest: crate::scope::ColumnKind::Derived,
                    }],
                    carried: universe.none(),
                });
                self.lineage.add_written(
                    &target.to_ascii_lowercase(),
                    relation,
                    vec![rule.source.to_ascii_lowercase()],
                    !facts.reasons.is_empty(),
                );
            }
            self.rules.push((format!("{} ({place})", rule.name), set));
        }
        self.coverage.routing_rules += routing.rules.len();
        Ok(())
    }

    fn count_resolution(&mut self, facts: &StatementFacts) {
        record_reasons(&mut self.coverage, &facts.place, &facts.reasons);
    }

    /// Adds a query log (NDJSON: `ts`, `sql`, optional `user`). Bad lines become diagnostics.
    pub fn add_queries(&mut self, file: &str, text: &str) {
        self.add_queries_from(file, text, 1);
    }

    /// Adds a chunk of a query log whose first line is line `first_line` of `file` (so a caller
    /// can feed a large log in pieces and show progress).
    pub fn add_queries_from(&mut self, file: &str, text: &str, first_line: u32) {
        let file_id = self.file(file);
        for (number, line) in text.lines().enumerate() {
            let line_number = number as u32 + first_line;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: QueryLine<'_> = match serde_json::from_str(line) {
                Ok(parsed) => parsed,
                Err(error) => {
                    self.bad_line(
                        file,
                        line_number,
                        error.column() as u32,
                        format!(
                            "not a query-log line: {}",
                            error.to_string().split(" at line ").next().unwrap_or_default()
                        ),
                    );
                    continue;
                }
            };
            let Some(millis) = timestamp_value(&parsed.ts) else {
                self.bad_line(file, line_number, 0, "`ts` is neither Unix milliseconds nor a UTC date-time".to_owned());
                continue;
            };
            self.coverage.query_lines += 1;
            if !self.window.contains(millis) {
                continue;
            }
            self.coverage.queries_in_window += 1;
            let hash = normalized_hash(&parsed.sql);
            let resolved = match self.cache.get(&hash) {
                Some(resolved) => *resolved,
                None => {
                    let first = self.seen.insert(hash);
                    let place = Place { file: file.to_owned(), line: line_number, column: 0 };
                    let (set, facts) = self.resolve(&parsed.sql, place, first);
                    if first {
                        self.count_resolution(&facts);
                        self.coverage.distinct_queries += 1;
                    }
                    let conservative = !facts.reasons.is_empty();
                    let resolved =
                        Resolved { set: self.intern_set(set, conservative), tables: self.intern_tables(&facts.tables) };
                    if self.cache.len() >= self.cache_capacity {
                        self.cache.clear();
                    }
                    self.cache.insert(hash, resolved);
                    resolved
                }
            };
            let user = self.user(parsed.user.as_deref().unwrap_or(""));
            self.readers.insert(u64::from(resolved.set) << 32 | u64::from(user));
            let candidate = Last { millis, file: file_id, line: line_number, user, tables: resolved.tables };
            let reads = &mut self.set_reads[resolved.set as usize];
            match reads {
                None => *reads = Some(Reads { count: 1, last: candidate }),
                Some(reads) => {
                    reads.count += 1;
                    if reads.last.key() < candidate.key() {
                        reads.last = candidate;
                    }
                }
            }
        }
    }

    /// How many texts the statement cache holds now (never more than its capacity).
    pub fn cached_statements(&self) -> usize {
        self.cache.len()
    }

    fn bad_line(&mut self, file: &str, line: u32, column: u32, message: String) {
        self.diagnostics.push(Diagnostic { place: Place { file: file.to_owned(), line, column }, message });
    }

    /// Adds a behaviour-analytics log (NDJSON: `ts`, `events`, optional `user`, `app`, `kind`).
    pub fn add_analytics(&mut self, file: &str, text: &str) {
        self.add_analytics_from(file, text, 1);
    }

    /// Adds a chunk of an analytics log whose first line is line `first_line` of `file` (so a
    /// caller can stream a large log without holding it whole).
    pub fn add_analytics_from(&mut self, file: &str, text: &str, first_line: u32) {
        let universe = self.lineage.universe();
        for (number, line) in text.lines().enumerate() {
            let line_number = number as u32 + first_line;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: AnalyticsLine = match serde_json::from_str(line) {
                Ok(parsed) => parsed,
                Err(error) => {
                    self.bad_line(
                        file,
                        line_number,
                        error.column() as u32,
                        format!(
                            "not an analytics-log line: {}",
                            error.to_string().split(" at line ").next().unwrap_or_default()
                        ),
                    );
                    continue;
                }
            };
            let _ = (&parsed.user, &parsed.kind);
            let Some(millis) = timestamp_value(&parsed.ts) else {
                self.bad_line(file, line_number, 0, "`ts` is neither Unix milliseconds nor a UTC date-time".to_owned());
                continue;
            };
            if !self.window.contains(millis) {
                continue;
            }
            self.coverage.analytics_in_window += 1;
            let mut named = universe.none();
            for event in &parsed.events {
                let mut set = universe.named(event);
                if let Some(app) = &parsed.app {
                    set.intersect_with(&universe.of_app(app));
                }
                if set.is_empty() {
                    self.bad_line(
                        file,
                        line_number,
                        0,
                        format!("event `{event}` is not registered in the plan; not counted"),
                    );
                }
                named.union_with(&set);
            }
            for pair in named.iter() {
                self.behaviour[pair] += 1;
            }
        }
    }

    /// Spreads the counts over events and writes `usage.json` and the evidence.
    pub fn finish(mut self) -> (UsageFile, Evidence) {
        let universe = self.lineage.universe();
        let pairs = universe.len();
        let mut warehouse = vec![0u64; pairs];
        let mut last: Vec<Option<Last>> = vec![None; pairs];
        let mut conservative = vec![false; pairs];
        // Distinct readers: events read by the same read sets share one union of users.
        let mut signature = vec![0u64; pairs];
        for id in 0..self.set_reads.len() {
            let Some(reads) = self.set_reads[id] else {
                continue;
            };
            let mixed = xxh3_64(&(id as u64).to_le_bytes());
            for pair in self.set(id).iter().map(|pair| *pair as usize) {
                warehouse[pair] += reads.count;
                signature[pair] = signature[pair].rotate_left(5) ^ mixed;
                if self.set_conservative[id] {
                    conservative[pair] = true;
                }
                if last[pair].is_none_or(|known| known.key() < reads.last.key()) {
                    last[pair] = Some(reads.last);
                }
            }
        }
        let mut groups: HashMap<u64, HashSet<u32>> = HashMap::new();
        let mut representative = vec![false; pairs];
        let mut seen: HashSet<u64> = HashSet::new();
        for pair in 0..pairs {
            if warehouse[pair] > 0 && seen.insert(signature[pair]) {
                representative[pair] = true;
            }
        }
        for reader in &self.readers {
            let (id, user) = ((reader >> 32) as usize, *reader as u32);
            for pair in self.set(id).iter().map(|pair| *pair as usize) {
                if representative[pair] {
                    groups.entry(signature[pair]).or_default().insert(user);
                }
            }
        }
        let mut rules_of: Vec<Vec<String>> = vec![Vec::new(); pairs];
        for (name, set) in &self.rules {
            for pair in set.iter() {
                rules_of[pair].push(name.clone());
            }
        }
        let table_sets: Vec<(String, EventSet)> = self
            .lineage
            .tables
            .keys()
            .filter_map(|name| self.lineage.table_set(name).map(|set| (name.clone(), set)))
            .collect();
        let job_sets: Vec<(String, EventSet)> = self
            .lineage
            .statements
            .iter()
            .filter_map(|statement| {
                statement.output.as_ref().map(|output| (statement.place.to_string(), output.provenance(universe)))
            })
            .collect();
        let mut usage = UsageFile { days: self.window.days, ..UsageFile::default() };
        let mut events = Vec::with_capacity(pairs);
        for pair in 0..pairs {
            let (app, event) = universe.pair(pair);
            let uses = EventUses {
                warehouse_queries: warehouse[pair],
                realtime_rules: rules_of[pair].len() as u64,
                behaviour_queries: self.behaviour[pair],
            };
            if uses.warehouse_queries + uses.realtime_rules + uses.behaviour_queries > 0 {
                let entry = usage.events.entry(event.to_owned()).or_default();
                entry.warehouse_queries += uses.warehouse_queries;
                entry.realtime_rules += uses.realtime_rules;
                entry.behaviour_queries += uses.behaviour_queries;
            }
            let tables: Vec<&String> =
                table_sets.iter().filter(|(_, set)| set.contains(pair)).map(|(name, _)| name).collect();
            let jobs: Vec<String> = job_sets
                .iter()
                .filter(|(_, set)| set.contains(pair))
                .take(20)
                .map(|(place, _)| place.clone())
                .collect();
            let last_read = last[pair].map(|last| {
                let line = format!("{}:{}", self.files[last.file as usize], last.line);
                (last.millis, last.user, last.tables, line)
            });
            let path = match &last_read {
                Some((_, _, tables, line)) => {
                    let table = self.table_lists[*tables as usize]
                        .iter()
                        .map(|table| &self.table_names[*table as usize])
                        .find(|table| self.lineage.table_set(table).is_some_and(|set| set.contains(pair)));
                    let mut path = table.map(|table| self.lineage.path_to(table, pair)).unwrap_or_default();
                    path.push(format!("query {line}"));
                    path
                }
                None => Vec::new(),
            };
            events.push(EventEvidence {
                app: app.to_owned(),
                event: event.to_owned(),
                warehouse_queries: warehouse[pair],
                distinct_readers: groups.get(&signature[pair]).map_or(0, |users| users.len() as u64),
                last_read: last_read.map(|(millis, user, _, line)| LastRead {
                    time: format_timestamp(millis),
                    user: self.user_names[user as usize].clone(),
                    query: line,
                }),
                realtime_rules: std::mem::take(&mut rules_of[pair]),
                behaviour_queries: self.behaviour[pair],
                tables_omitted: tables.len().saturating_sub(20),
                tables: tables.into_iter().take(20).cloned().collect(),
                jobs,
                path,
                conservative: conservative[pair],
            });
        }
        self.unknown_tables.sort();
        self.coverage.unknown_tables = std::mem::take(&mut self.unknown_tables);
        self.coverage.tables_with_unknown_set =
            self.lineage.tables.iter().filter(|(_, info)| info.inexact).map(|(name, _)| name.clone()).collect();
        self.diagnostics.sort();
        self.diagnostics.dedup();
        self.coverage.diagnostics_omitted = self.diagnostics.len().saturating_sub(1000);
        self.coverage.diagnostics = self.diagnostics.iter().take(1000).map(Diagnostic::to_string).collect();
        let evidence = Evidence {
            format: EVIDENCE_FORMAT.to_owned(),
            days: self.window.days,
            window_start: format_timestamp(self.window.end_ms - i64::from(self.window.days) * 86_400_000),
            window_end: format_timestamp(self.window.end_ms),
            events,
            coverage: serde_json::to_value(&self.coverage).unwrap_or_default(),
        };
        (usage, evidence)
    }

    /// Problems found so far, in input order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The coverage so far.
    pub fn coverage(&self) -> &Coverage {
        &self.coverage
    }
}

/// The evidence file's `format`.
pub const EVIDENCE_FORMAT: &str = "trackgate-usage-evidence/1";

fn record_reasons(coverage: &mut Coverage, place: &Place, reasons: &[Reason]) {
    if reasons.is_empty() {
        coverage.statements_resolved += 1;
        return;
    }
    for reason in reasons {
        *coverage.unresolved_by_reason.entry(reason.kind.to_owned()).or_default() += 1;
    }
    if coverage.unresolved.len() < 200 {
        let text: Vec<String> = reasons.iter().map(|reason| format!("{}: {}", reason.kind, reason.detail)).collect();
        coverage.unresolved.push(format!("{place}: {}", text.join("; ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Universe;
    use crate::lineage::Catalog;

    #[test]
    fn queries_rules_and_analytics_are_counted_per_event() {
        let universe = Universe::new([("shop", vec!["pay.ok", "pay.fail", "feed.view"])]);
        let catalog: Catalog = serde_json::from_str(
            r#"{"tables": [{"name": "ods.log", "event_column": "event"}, {"name": "rt", "event_column": "event"}]}"#,
        )
        .expect("catalog");
        let mut lineage = Lineage::new(&universe, &catalog);
        lineage.add_jobs(&[(
            "j.sql".to_owned(),
            "CREATE VIEW v AS SELECT event AS e FROM ods.log WHERE event LIKE 'pay.%'".to_owned(),
        )]);
        let end = parse_timestamp("2026-08-10").expect("date");
        let mut analysis = Analysis::new(lineage, Window { days: 7, end_ms: end });
        analysis.add_queries(
            "q.ndjson",
            concat!(
                r#"{"ts": "2026-08-09T10:00:00Z", "user": "ann", "sql": "SELECT count(*) FROM v WHERE e = 'pay.ok'"}"#, "\n",
                r#"{"ts": "2026-08-09T11:00:00Z", "user": "bob", "sql": "SELECT  count(*) FROM v\nWHERE e = 'pay.ok'"}"#, "\n",
                r#"{"ts": "2026-07-01T10:00:00Z", "user": "old", "sql": "SELECT * FROM ods.log"}"#, "\n",
                "not json\n",
                r#"{"ts": "2026-08-08", "user": "cy", "sql": "SELECT * FROM v WHERE"}"#, "\n",
            ),
        );
        analysis
            .add_routing("r.json", r#"{"rules": [{"name": "fails", "source": "rt", "where": "event = 'pay.fail'"}]}"#)
            .expect("rules");
        analysis.add_analytics("a.ndjson", "{\"ts\": 1786320000000, \"events\": [\"feed.view\", \"nope\"]}\n");
        assert_eq!(analysis.coverage().distinct_queries, 2);
        let (usage, evidence) = analysis.finish();
        let uses = |name: &str| usage.events.get(name).copied().unwrap_or_default();
        // The unreadable query counts as reading everything v holds.
        assert_eq!(uses("pay.ok"), EventUses { warehouse_queries: 3, realtime_rules: 0, behaviour_queries: 0 });
        assert_eq!(uses("pay.fail"), EventUses { warehouse_queries: 1, realtime_rules: 1, behaviour_queries: 0 });
        assert_eq!(uses("feed.view"), EventUses { warehouse_queries: 0, realtime_rules: 0, behaviour_queries: 1 });
        let ok = evidence.events.iter().find(|event| event.event == "pay.ok").expect("evidence");
        assert_eq!(ok.distinct_readers, 3);
        assert_eq!(ok.last_read.as_ref().map(|last| last.user.as_str()), Some("bob"));
        assert_eq!(ok.path, ["ods.log", "v", "query q.ndjson:2"]);
        assert!(ok.conservative);
        let diagnostics = evidence.coverage["diagnostics"].as_array().expect("list").len();
        assert_eq!(diagnostics, 3, "{:?}", evidence.coverage["diagnostics"]);
    }

    fn small_analysis(capacity: usize, universe: &Universe, catalog: &Catalog) -> (UsageFile, Evidence, usize) {
        let mut lineage = Lineage::new(universe, catalog);
        lineage.add_jobs(&[(
            "j.sql".to_owned(),
            "CREATE VIEW v AS SELECT event AS e FROM ods.log WHERE event LIKE 'pay.%'".to_owned(),
        )]);
        let end = parse_timestamp("2026-08-10").expect("date");
        let mut analysis = Analysis::with_cache_capacity(lineage, Window { days: 7, end_ms: end }, capacity);
        let texts = [
            "SELECT count(*) FROM v WHERE e = 'pay.ok'",
            "SELECT count(*) FROM ods.log WHERE event IN ('feed.view', 'pay.fail')",
            "SELECT * FROM v WHERE",
            "SELECT count(*) FROM nowhere",
            "SELECT count(*) FROM v WHERE e = 'pay.ok' AND user_id = 7",
        ];
        let mut most = 0;
        for chunk in 0..3u32 {
            let mut log = String::new();
            for index in 0..20usize {
                let text = texts[(index * 7 + chunk as usize) % texts.len()];
                let hour = 10 + index % 5;
                let user = ["ann", "bob", "cy"][index % 3];
                log.push_str(&format!(
                    "{{\"ts\": \"2026-08-0{}T{hour}:00:00Z\", \"user\": \"{user}\", \"sql\": \"{text}\"}}\n",
                    7 + chunk
                ));
            }
            analysis.add_queries_from("q.ndjson", &log, 1 + chunk * 20);
            most = most.max(analysis.cached_statements());
        }
        let (usage, evidence) = analysis.finish();
        (usage, evidence, most)
    }

    #[test]
    fn the_statement_cache_stays_bounded_and_a_small_one_changes_nothing() {
        let universe = Universe::new([("shop", vec!["pay.ok", "pay.fail", "feed.view"])]);
        let catalog: Catalog =
            serde_json::from_str(r#"{"tables": [{"name": "ods.log", "event_column": "event"}]}"#).expect("catalog");
        let (usage, evidence, most) = small_analysis(STATEMENT_CACHE_CAPACITY, &universe, &catalog);
        assert_eq!(most, 5);
        for capacity in [1, 2, 3] {
            let (small_usage, small_evidence, small_most) = small_analysis(capacity, &universe, &catalog);
            assert!(small_most <= capacity, "{small_most} cached with capacity {capacity}");
            assert_eq!(small_usage, usage);
            assert_eq!(small_evidence, evidence);
        }
        assert_eq!(evidence.coverage["distinct_queries"], 5);
        assert_eq!(evidence.coverage["unresolved_by_reason"]["parse_error"], 1);
        let ok = evidence.events.iter().find(|event| event.event == "pay.ok").expect("evidence");
        assert!(ok.warehouse_queries > 0 && ok.last_read.is_some() && ok.conservative);
        // One diagnostic per distinct unreadable text and per unknown table, not per re-parse.
        let diagnostics = evidence.coverage["diagnostics"].as_array().expect("list");
        assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
    }
}
