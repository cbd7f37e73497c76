//! Table lineage: the catalogue's roots, the jobs' DAG, and each table's event set.
//!
//! Owns [`Catalog`] (root tables and topics, their event and app columns, dimension tables) and
//! [`Lineage`]: job statements are parsed, their reads discovered, ordered topologically by the
//! tables they write and read, and evaluated once each in that order; statements in a cycle are
//! iterated to a fixed point (bounded, then every event) and reported. A table written by
//! several statements holds the union of what they write. Jobs' own reads are not uses: the
//! lineage only carries events to the tables that queries, routing rules and analytics read.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;

use crate::events::{EventSet, Universe};
use crate::scope::{ColumnKind, Evaluator, Part, Reason, Relation, TableLookup, TableSource};
use crate::split::split_statements;
use crate::statement::{parse, shape, Parsed, Shape};

/// A place in an input file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    /// The file, as given.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (0 when unknown).
    pub column: u32,
}

impl fmt::Display for Place {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column > 0 {
            write!(formatter, "{}:{}:{}", self.file, self.line, self.column)
        } else {
            write!(formatter, "{}:{}", self.file, self.line)
        }
    }
}

/// A problem in an input that did not stop the analysis.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// Where.
    pub place: Place,
    /// What, in words.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.place, self.message)
    }
}

/// The catalogue: where events land, and which tables hold none.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Root tables and topics.
    pub tables: Vec<RootTable>,
    /// Tables known to hold no events (dimensions); reading them is not reading events.
    #[serde(default)]
    pub dimensions: Vec<String>,
}

/// A table or topic events land in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootTable {
    /// Its name as SQL writes it (`ods.app_log`, `app_log_rt`); matched case-insensitively.
    pub name: String,
    /// `table` (default) or `topic`; informational.
    #[serde(default)]
    pub kind: Option<String>,
    /// The column holding the event name.
    pub event_column: String,
    /// The column holding the app, if the table holds several apps.
    #[serde(default)]
    pub app_column: Option<String>,
    /// The apps whose events land here; all the plan's apps when absent.
    #[serde(default)]
    pub apps: Option<Vec<String>>,
}

/// One job statement.
pub struct JobStatement {
    /// Where it starts.
    pub place: Place,
    /// The table or view it writes, if any.
    pub target: Option<String>,
    /// Tables it reads (not CTEs).
    pub sources: Vec<String>,
    /// Why it is not resolved exactly (empty when it is).
    pub reasons: Vec<Reason>,
    /// What its target receives from it (after evaluation).
    pub output: Option<Relation>,
    parsed: Option<Box<sqlparser::ast::Statement>>,
}

/// What the lineage knows about one table.
#[derive(Debug, Clone, Default)]
pub struct TableInfo {
    /// A catalogue root.
    pub root: bool,
    /// Statements (indexes into [`Lineage::statements`]) that write it.
    pub writers: Vec<usize>,
    /// Tables its writers read.
    pub sources: Vec<String>,
    /// Its event set is not exact: a writer (or a source, transitively) was unresolved or in a
    /// cycle; it is then an over-approximation.
    pub inexact: bool,
}

/// The tables and their event sets after all jobs.
pub struct Lineage<'u> {
    universe: &'u Universe,
    roots: HashMap<String, Relation>,
    dimensions: Vec<String>,
    /// Current relation of each written table.
    written: HashMap<String, Relation>,
    /// Job statements in input order.
    pub statements: Vec<JobStatement>,
    /// Tables by name.
    pub tables: BTreeMap<String, TableInfo>,
    /// Problems found (parse errors, unknown tables, cycles).
    pub diagnostics: Vec<Diagnostic>,
    /// Statements of other kinds (DDL, `SET`, bare `SELECT`s in job files), skipped.
    pub skipped_statements: usize,
    /// Cycles found, each as the statements' places.
    pub cycles: Vec<Vec<Place>>,
}

/// A table source that knows nothing, for discovering what a statement reads.
struct Discovery;

impl TableSource for Discovery {
    fn lookup(&self, _name: &str) -> TableLookup {
        TableLookup::Known(Relation { parts: vec![], carried: EventSet::empty(0) })
    }
}

impl TableSource for Lineage<'_> {
    fn lookup(&self, name: &str) -> TableLookup {
        if let Some(relation) = self.roots.get(name).or_else(|| self.written.get(name)) {
            return TableLookup::Known(relation.clone());
        }
        if self.dimensions.iter().any(|dimension| dimension == name)
            || self.tables.get(name).is_some_and(|t| !t.writers.is_empty())
        {
            return TableLookup::Known(Relation {
                parts: vec![Part { set: self.universe.none(), columns: Vec::new(), rest: ColumnKind::Other }],
                carried: self.universe.none(),
            });
        }
        TableLookup::Unknown
    }
}

/// Rounds of fixed-point iteration for statements in a cycle before giving them every event.
const CYCLE_ROUNDS: usize = 16;

impl<'u> Lineage<'u> {
    /// The lineage of the catalogue's roots alone.
    pub fn new(universe: &'u Universe, catalog: &Catalog) -> Self {
        let mut roots = HashMap::new();
        let mut tables = BTreeMap::new();
        for root in &catalog.tables {
            let set = match &root.apps {
                Some(apps) => {
                    let mut set = universe.none();
                    for app in apps {
                        set.union_with(&universe.of_app(app));
                    }
                    set
                }
                None => universe.all(),
            };
            let mut columns = vec![(root.event_column.to_ascii_lowercase(), ColumnKind::Event)];
            if let Some(app) = &root.app_column {
                columns.push((app.to_ascii_lowercase(), ColumnKind::App));
            }
            let name = root.name.to_ascii_lowercase();
            roots.insert(
                name.clone(),
                Relation { parts: vec![Part { set, columns, rest: ColumnKind::Other }], carried: universe.none() },
            );
            tables.insert(name, TableInfo { root: true, ..TableInfo::default() });
        }
        Lineage {
            universe,
            roots,
            dimensions: catalog.dimensions.iter().map(|name| name.to_ascii_lowercase()).collect(),
            written: HashMap::new(),
            statements: Vec::new(),
            tables,
            diagnostics: Vec::new(),
            skipped_statements: 0,
            cycles: Vec::new(),
        }
    }

    /// The universe the sets are over.
    pub fn universe(&self) -> &'u Universe {
        self.universe
    }

    /// The current event set (provenance) of a table, if known.
    pub fn table_set(&self, name: &str) -> Option<EventSet> {
        self.roots.get(name).or_else(|| self.written.get(name)).map(|relation| relation.provenance(self.universe))
    }

    /// Adds job files (`(name, text)`), then evaluates every job in dependency order.
    pub fn add_jobs(&mut self, files: &[(String, String)]) {
        for (file, text) in files {
            for piece in split_statements(text) {
                let place = Place { file: file.clone(), line: piece.line, column: piece.column };
                match parse(piece.text, piece.depth) {
                    Parsed::Read(statement) => {
                        let (target, sources) = match shape(&statement) {
                            Shape::Write { target, query, .. } => {
                                let mut discovery = Evaluator::new(self.universe, &Discovery);
                                discovery.query(query);
                                (target, discovery.tables_read)
                            }
                            Shape::Read(_) | Shape::Other => {
                                self.skipped_statements += 1;
                                continue;
                            }
                        };
                        self.statements.push(JobStatement {
                            place,
                            target: Some(target),
                            sources,
                            reasons: Vec::new(),
                            output: None,
                            parsed: Some(statement),
                        });
                    }
                    Parsed::Unreadable { reason, at, scanned } => {
                        let at_place = match at {
                            Some((1, column)) => {
                                Place { column: (place.column + column).saturating_sub(1), ..place.clone() }
                            }
                            Some((line, column)) => {
                                Place { line: (place.line + line).saturating_sub(1), column, ..place.clone() }
                            }
                            None => place.clone(),
                        };
                        self.diagnostics.push(Diagnostic {
                            place: at_place,
                            message: format!(
                                "{}: {}; counted conservatively",
                                reason.kind.replace('_', " "),
                                reason.detail
                            ),
                        });
                        self.statements.push(JobStatement {
                            place,
                            target: scanned.target,
                            sources: scanned.sources,
                            reasons: vec![reason],
                            output: None,
                            parsed: None,
                        });
                    }
                }
            }
        }
        self.evaluate_all();
    }

    fn evaluate_all(&mut self) {
        for (index, statement) in self.statements.iter().enumerate() {
            if let Some(target) = &statement.target {
                let info = self.tables.entry(target.clone()).or_default();
                info.writers.push(index);
                for source in &statement.sources {
                    if !info.sources.contains(source) && source != target {
                        info.sources.push(source.clone());
                    }
                }
            }
        }
        // Kahn's algorithm over statements: s waits for every other writer of what it reads.
        let count = self.statements.len();
        let mut waiting = vec![0usize; count];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (index, statement) in self.statements.iter().enumerate() {
            for source in &statement.sources {
                if let Some(info) = self.tables.get(source) {
                    for writer in &info.writers {
                        if *writer != index && self.statements[*writer].target.as_ref() != statement.target.as_ref() {
                            waiting[index] += 1;
                            dependents[*writer].push(index);
                        }
                    }
                }
            }
        }
        let mut ready: Vec<usize> = (0..count).filter(|index| waiting[*index] == 0).rev().collect();
        let mut done = vec![false; count];
        while let Some(index) = ready.pop() {
            done[index] = true;
            self.evaluate(index);
            for dependent in std::mem::take(&mut dependents[index]) {
                waiting[dependent] -= 1;
                if waiting[dependent] == 0 {
                    ready.push(dependent);
                }
            }
        }
        let cyclic: Vec<usize> = (0..count).filter(|index| !done[*index]).collect();
        if !cyclic.is_empty() {
            self.resolve_cycles(&cyclic);
        }
        self.mark_inexact();
    }

    fn resolve_cycles(&mut self, cyclic: &[usize]) {
        let places: Vec<Place> = cyclic.iter().map(|index| self.statements[*index].place.clone()).collect();
        let tables: Vec<String> = cyclic.iter().filter_map(|index| self.statements[*index].target.clone()).collect();
        for index in cyclic {
            let place = self.statements[*index].place.clone();
            self.diagnostics.push(Diagnostic {
                place,
                message: format!(
                    "cycle between jobs through tables {}; their event sets are iterated to a fixed point",
                    tables.join(", ")
                ),
            });
            self.statements[*index].reasons.push(Reason::new("cycle", tables.join(" → ")));
        }
        self.cycles.push(places);
        let mut converged = false;
        for _ in 0..CYCLE_ROUNDS {
            let before: Vec<Option<EventSet>> = tables.iter().map(|table| self.table_set(table)).collect();
            for index in cyclic {
                self.evaluate(*index);
            }
            let after: Vec<Option<EventSet>> = tables.iter().map(|table| self.table_set(table)).collect();
            if before == after {
                converged = true;
                break;
            }
        }
        if !converged {
            for table in &tables {
                let all = Relation {
                    parts: vec![Part { set: self.universe.all(), columns: Vec::new(), rest: ColumnKind::Derived }],
                    carried: self.universe.none(),
                };
                self.written.insert(table.clone(), all);
            }
        }
    }

    /// Evaluates statement `index` and updates its target's relation.
    fn evaluate(&mut self, index: usize) {
        let statement = &self.statements[index];
        let output = match statement.parsed.as_deref().map(shape) {
            Some(Shape::Write { columns, query, .. }) => {
                let (mut relation, mut reasons, unknown) = {
                    let mut evaluator = Evaluator::new(self.universe, &*self);
                    let relation = evaluator.query(query);
                    (relation, evaluator.reasons, evaluator.unknown_tables)
                };
                relation.rename(&columns);
                let place = statement.place.clone();
                for table in &unknown {
                    let diagnostic = Diagnostic {
                        place: place.clone(),
                        message: format!(
                            "unknown table `{table}` (not in the catalogue, not written by a job); it counts as holding every event"
                        ),
                    };
                    if !self.diagnostics.contains(&diagnostic) {
                        self.diagnostics.push(diagnostic);
                    }
                }
                for reason in &self.statements[index].reasons {
                    if !reasons.contains(reason) {
                        reasons.push(reason.clone());
                    }
                }
                self.statements[index].reasons = reasons;
                relation
            }
            _ => {
                // Unreadable: everything its named sources hold (every event when none is known).
                let statement = &self.statements[index];
                let mut set = self.universe.none();
                let mut known = false;
                for source in &statement.sources {
                    if let TableLookup::Known(relation) = self.lookup(source) {
                        set.union_with(&relation.provenance(self.universe));
                        known = true;
                    } else {
                        set = self.universe.all();
                    }
                }
                if !known {
                    set = self.universe.all();
                }
                Relation {
                    parts: vec![Part { set, columns: Vec::new(), rest: ColumnKind::Derived }],
                    carried: self.universe.none(),
                }
            }
        };
        self.statements[index].output = Some(output);
        if let Some(target) = self.statements[index].target.clone() {
            let mut merged: Option<Relation> = None;
            for writer in &self.tables[&target].writers {
                if let Some(output) = &self.statements[*writer].output {
                    match &mut merged {
                        Some(merged) => merged.absorb(output.clone(), self.universe),
                        None => merged = Some(output.clone()),
                    }
                }
            }
            if let Some(merged) = merged {
                self.written.insert(target, merged);
            }
        }
    }

    fn mark_inexact(&mut self) {
        for statement in &self.statements {
            if let (Some(target), false) = (&statement.target, statement.reasons.is_empty()) {
                if let Some(info) = self.tables.get_mut(target) {
                    info.inexact = true;
                }
            }
        }
        // Propagate downstream until nothing changes (tables are few).
        loop {
            let inexact: Vec<String> =
                self.tables.iter().filter(|(_, info)| info.inexact).map(|(name, _)| name.clone()).collect();
            let mut changed = false;
            for info in self.tables.values_mut() {
                if !info.inexact && info.sources.iter().any(|source| inexact.contains(source)) {
                    info.inexact = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Registers a table written outside the jobs (a routing rule's target topic).
    pub fn add_written(&mut self, name: &str, relation: Relation, sources: Vec<String>, inexact: bool) {
        let info = self.tables.entry(name.to_owned()).or_default();
        info.sources.extend(sources);
        info.inexact |= inexact;
        match self.written.get_mut(name) {
            Some(existing) => existing.absorb(relation, self.universe),
            None => {
                self.written.insert(name.to_owned(), relation);
            }
        }
    }

    /// A path from a root to `table` along which pair `pair` flows (root first).
    pub fn path_to(&self, table: &str, pair: usize) -> Vec<String> {
        let mut path = vec![table.to_owned()];
        let mut current = table.to_owned();
        while let Some(info) = self.tables.get(&current) {
            let next = info
                .sources
                .iter()
                .find(|source| !path.contains(source) && self.table_set(source).is_some_and(|set| set.contains(pair)));
            match next {
                Some(next) => {
                    path.push(next.clone());
                    current = next.clone();
                }
                None => break,
            }
        }
        path.reverse();
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn universe() -> Universe {
        Universe::new([("shop", vec!["pay.ok", "pay.fail", "feed.view"]), ("mall", vec!["pay.ok", "mall.open"])])
    }

    fn catalog() -> Catalog {
        serde_json::from_str(
            r#"{"tables": [{"name": "ods.log", "event_column": "event", "app_column": "app"}], "dimensions": ["dim.user"]}"#,
        )
        .expect("catalog")
    }

    fn names(universe: &Universe, set: Option<EventSet>) -> Vec<String> {
        let mut names: Vec<String> = set
            .expect("known table")
            .iter()
            .map(|index| format!("{}/{}", universe.pair(index).0, universe.pair(index).1))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn predicates_split_across_layers_and_files_in_any_order() {
        let universe = universe();
        let mut lineage = Lineage::new(&universe, &catalog());
        lineage.add_jobs(&[
            (
                "b.sql".to_owned(),
                "INSERT OVERWRITE TABLE dws.pay SELECT ev, count(*) n FROM dwd.shop WHERE ev LIKE 'pay.%' GROUP BY ev;"
                    .to_owned(),
            ),
            (
                "a.sql".to_owned(),
                "SET x=1;\nINSERT INTO dwd.shop SELECT event AS ev, user_id FROM ods.log WHERE app = 'shop';"
                    .to_owned(),
            ),
        ]);
        assert_eq!(names(&universe, lineage.table_set("dwd.shop")), ["shop/feed.view", "shop/pay.fail", "shop/pay.ok"]);
        assert_eq!(names(&universe, lineage.table_set("dws.pay")), ["shop/pay.fail", "shop/pay.ok"]);
        assert_eq!(lineage.skipped_statements, 1);
        assert_eq!(lineage.path_to("dws.pay", 0), ["ods.log", "dwd.shop", "dws.pay"]);
        assert!(lineage.diagnostics.is_empty());
    }

    #[test]
    fn two_writers_union_and_unreadable_writers_are_conservative() {
        let universe = universe();
        let mut lineage = Lineage::new(&universe, &catalog());
        lineage.add_jobs(&[(
            "j.sql".to_owned(),
            "INSERT INTO t SELECT event FROM ods.log WHERE event = 'feed.view';\nINSERT INTO t SELECT event FROM ods.log WHERE app = 'mall';\nINSERT INTO u SELECT event FROM ods.log WHERE event = 'pay.ok' AND (;".to_owned(),
        )]);
        assert_eq!(names(&universe, lineage.table_set("t")), ["mall/mall.open", "mall/pay.ok", "shop/feed.view"]);
        assert_eq!(names(&universe, lineage.table_set("u")).len(), 5);
        assert!(lineage.tables["u"].inexact);
        assert_eq!(lineage.diagnostics.len(), 1);
        assert!(lineage.diagnostics[0].to_string().starts_with("j.sql:3:"), "{}", lineage.diagnostics[0]);
    }

    #[test]
    fn insert_column_lists_and_view_columns_rename() {
        let universe = universe();
        let mut lineage = Lineage::new(&universe, &catalog());
        lineage.add_jobs(&[(
            "r.sql".to_owned(),
            "INSERT INTO t (e, a) SELECT event, app FROM ods.log;\n\
             CREATE VIEW v (x) AS SELECT e FROM t WHERE a = 'mall';\n\
             INSERT INTO u SELECT * FROM v WHERE x = 'pay.ok';"
                .to_owned(),
        )]);
        assert_eq!(names(&universe, lineage.table_set("v")), ["mall/mall.open", "mall/pay.ok"]);
        assert_eq!(names(&universe, lineage.table_set("u")), ["mall/pay.ok"]);
    }

    #[test]
    fn cycles_are_reported_and_reach_a_fixed_point() {
        let universe = universe();
        let mut lineage = Lineage::new(&universe, &catalog());
        lineage.add_jobs(&[(
            "c.sql".to_owned(),
            "INSERT INTO a SELECT event FROM ods.log WHERE event = 'pay.ok' UNION ALL SELECT event FROM b;\nINSERT INTO b SELECT event FROM a WHERE event <> 'mall.open';".to_owned(),
        )]);
        assert_eq!(lineage.cycles.len(), 1);
        assert_eq!(names(&universe, lineage.table_set("b")), ["mall/pay.ok", "shop/pay.ok"]);
        assert!(lineage.diagnostics.iter().any(|d| d.message.contains("cycle")));
    }

    #[test]
    fn unknown_tables_are_named_and_hold_every_event() {
        let universe = universe();
        let mut lineage = Lineage::new(&universe, &catalog());
        lineage.add_jobs(&[(
            "u.sql".to_owned(),
            "INSERT INTO x SELECT e FROM mystery.t JOIN dim.user u ON u.id = t.uid".to_owned(),
        )]);
        assert_eq!(names(&universe, lineage.table_set("x")).len(), 5);
        assert!(lineage.diagnostics[0].to_string().contains("unknown table `mystery.t`"));
    }
}
