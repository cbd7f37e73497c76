//! The plan as Spark SQL (or a PySpark module) for warehouse jobs: [`SparkExport`].
//!
//! Owns the translation of a plan into one SQL query over a table of events, using built-in
//! functions only (`xxhash64`, `octet_length`, `rlike`, `coalesce`), so it runs on any Spark
//! 3.x/4.x without a UDF. The query adds `_tg_drop_reason` (a CASE with one branch per rule, in
//! the order of `docs/plan.md`), `_tg_priority` and `_tg_weight`, and by default keeps only the
//! kept rows. Rate limits are per-device state and are not applied (see `docs/etl.md`).
//!
//! The rules are read from the compiled plan ([`CompiledPlan::event_summary`]), the same tables
//! the device and [`LineFilter`](crate::LineFilter) decide from; `tests/spark/test_spark_parity.py`
//! checks on a real Spark that the query keeps exactly the rows the filter keeps. Pure text
//! generation: no I/O, no threads; the output is a function of the plan and the options.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use trackgate_core::plan::UnregisteredPolicy;
use trackgate_core::sampling::{weight_for_floor, RANDOM_VALUE_MASK, RANDOM_VALUE_SPACE, SPEC_ID};
use trackgate_core::{CompileError, CompiledPlan, DropReason, Plan, Priority};

/// Why a plan could not be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SparkError {
    /// The plan does not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// A table or column name with an empty part between dots.
    #[error("`{name}` is not a table or column name (empty part between dots)")]
    EmptyNamePart {
        /// The name as given.
        name: String,
    },
}

/// Which rows the query returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Selection {
    /// Only rows the plan keeps (every row of a shadow plan).
    #[default]
    Kept,
    /// Every row, dropped ones with `_tg_drop_reason` set and `_tg_weight` NULL.
    All,
}

/// The view name the PySpark function registers its DataFrame under.
pub const PYSPARK_VIEW: &str = "trackgate_events";

/// What to generate: the table and columns the query reads (dotted names reach into databases
/// and struct columns; every part is quoted), and which rows it returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparkExport {
    /// The table (or view) of events (default `events`); ignored by [`pyspark`](Self::pyspark).
    pub table: String,
    /// Column holding the event name (default `event`).
    pub name_column: String,
    /// Column holding the sampling unit (default `unit_id`); NULL is hashed as the empty
    /// string, numbers as their text.
    pub unit_column: String,
    /// Column holding the event size in bytes (default `size_bytes`), compared with `max_bytes`.
    pub size_column: String,
    /// Which rows the query returns.
    pub selection: Selection,
}

impl Default for SparkExport {
    fn default() -> Self {
        SparkExport {
            table: "events".to_owned(),
            name_column: "event".to_owned(),
            unit_column: "unit_id".to_owned(),
            size_column: "size_bytes".to_owned(),
            selection: Selection::Kept,
        }
    }
}

impl SparkExport {
    /// One Spark SQL query applying `plan` to the table.
    pub fn sql(&self, plan: &Plan) -> Result<String, SparkError> {
        let compiled = CompiledPlan::compile(plan)?;
        let columns = Columns::new(&self.table, &self.name_column, &self.unit_column, &self.size_column)?;
        Ok(spark_sql(plan, &compiled, &columns, self.selection))
    }

    /// A Python module with the query (over the view [`PYSPARK_VIEW`]), `TRACKGATE_SQL`,
    /// `TRACKGATE_PLAN_VERSION` and `apply_trackgate_plan(spark, events_df)`.
    pub fn pyspark(&self, plan: &Plan) -> Result<String, SparkError> {
        let compiled = CompiledPlan::compile(plan)?;
        let columns = Columns::new(PYSPARK_VIEW, &self.name_column, &self.unit_column, &self.size_column)?;
        Ok(pyspark_module(plan, &compiled, &columns, self.selection))
    }
}

/// Quoted SQL expressions for the table and the columns the rules read.
struct Columns {
    table: String,
    /// The name as a non-NULL string.
    name: String,
    /// The unit as a non-NULL string, as the sampling spec hashes it.
    unit: String,
    size: String,
}

impl Columns {
    fn new(table: &str, name: &str, unit: &str, size: &str) -> Result<Columns, SparkError> {
        Ok(Columns {
            table: quote_identifier(table)?,
            name: format!("coalesce(CAST({} AS STRING), '')", quote_identifier(name)?),
            unit: format!("coalesce(CAST({} AS STRING), '')", quote_identifier(unit)?),
            size: quote_identifier(size)?,
        })
    }
}

/// `db.events` → `` `db`.`events` ``: every part quoted, so any name is safe.
fn quote_identifier(dotted: &str) -> Result<String, SparkError> {
    if dotted.split('.').any(str::is_empty) {
        return Err(SparkError::EmptyNamePart { name: dotted.to_owned() });
    }
    Ok(dotted.split('.').map(|part| format!("`{}`", part.replace('`', "``"))).collect::<Vec<_>>().join("."))
}

/// A Spark SQL string literal for any text. Text with quotes, backslashes or control characters
/// is written as UTF-8 hex (`CAST(X'..' AS STRING)`), which does not depend on the parser's
/// escaping settings (`spark.sql.parser.escapedStringLiterals`).
fn string_literal(text: &str) -> String {
    let plain = text.chars().all(|character| !matches!(character, '\'' | '\\' | '{' | '}') && !character.is_control());
    if plain {
        format!("'{text}'")
    } else {
        let hex: String = text.bytes().map(|byte| format!("{byte:02X}")).collect();
        format!("CAST(X'{hex}' AS STRING)")
    }
}

/// `name IN ('a', 'b')`, wrapped over lines for long plans.
fn name_in(name: &str, names: &[&str]) -> String {
    let mut text = format!("{name} IN (");
    for (index, chunk) in names.chunks(6).enumerate() {
        if index > 0 {
            text.push_str(",\n        ");
        }
        text.push_str(&chunk.iter().map(|name| string_literal(name)).collect::<Vec<_>>().join(", "));
    }
    text.push(')');
    text
}

/// A double literal that reads back as exactly `value`.
fn double_literal(value: f64) -> String {
    format!("{value:?}D")
}

/// The plan's events grouped by the rule parameters the query tests.
#[derive(Default)]
struct RuleGroups<'plan> {
    registered: Vec<&'plan str>,
    static_drops: BTreeMap<DropReason, Vec<&'plan str>>,
    size_caps: BTreeMap<u32, Vec<&'plan str>>,
    /// (salt, keep floor) → names, for names whose sampling can drop.
    samples: BTreeMap<(String, u64), Vec<&'plan str>>,
    /// Weight (as its literal) → names kept with that weight, when it is not 1.
    weights: BTreeMap<String, Vec<&'plan str>>,
    priorities: BTreeMap<Priority, Vec<&'plan str>>,
}

impl<'plan> RuleGroups<'plan> {
    fn new(plan: &'plan Plan, compiled: &CompiledPlan) -> Self {
        let mut groups = RuleGroups::default();
        for name in plan.events.keys() {
            let Some(summary) = compiled.event_summary(name) else { continue };
            groups.registered.push(name);
            groups.priorities.entry(summary.priority).or_default().push(name);
            if let Some(reason) = summary.static_drop {
                groups.static_drops.entry(reason).or_default().push(name);
                continue;
            }
            if let Some(cap) = summary.max_bytes {
                groups.size_caps.entry(cap).or_default().push(name);
            }
            if summary.keep_floor != 0 {
                groups.samples.entry((summary.salt.clone(), summary.keep_floor)).or_default().push(name);
                let weight = weight_for_floor(summary.keep_floor);
                if weight != 1.0 && weight != 0.0 {
                    groups.weights.entry(double_literal(weight)).or_default().push(name);
                }
            }
        }
        groups
    }
}

/// The CASE giving each row's drop reason (NULL when kept), one branch per rule in spec order.
fn drop_reason_case(plan: &Plan, compiled: &CompiledPlan, groups: &RuleGroups, columns: &Columns) -> String {
    let name = &columns.name;
    if !compiled.is_enabled() {
        return "'disabled'".to_owned();
    }
    let mut case = String::from("CASE\n");
    let mut branch = |condition: String, reason: DropReason| {
        let _ = writeln!(case, "      WHEN {condition}\n        THEN '{}'", reason.as_str());
    };
    branch(
        format!("NOT (octet_length({name}) BETWEEN 1 AND 128 AND NOT {name} RLIKE '[^A-Za-z0-9_.:-]')"),
        DropReason::InvalidName,
    );
    if plan.unregistered == UnregisteredPolicy::Drop {
        let condition = if groups.registered.is_empty() {
            "TRUE".to_owned()
        } else {
            format!("NOT {}", name_in(name, &groups.registered))
        };
        branch(condition, DropReason::Unregistered);
    }
    for (reason, names) in &groups.static_drops {
        branch(name_in(name, names), *reason);
    }
    for (cap, names) in &groups.size_caps {
        branch(format!("{} AND {} > {cap}", name_in(name, names), columns.size), DropReason::Oversize);
    }
    for ((salt, floor), names) in &groups.samples {
        let threshold = RANDOM_VALUE_SPACE - floor;
        branch(
            format!(
                "{}\n        AND (xxhash64({}, {}) & {RANDOM_VALUE_MASK}L) < {RANDOM_VALUE_SPACE}L - {threshold}L",
                name_in(name, names),
                string_literal(salt),
                columns.unit
            ),
            DropReason::SampledOut,
        );
    }
    case.push_str("    END");
    case
}

/// `CASE WHEN name IN (..) THEN value .. ELSE otherwise END`, or just `otherwise` with no groups.
fn case_by_name(name: &str, groups: &BTreeMap<String, Vec<&str>>, otherwise: &str) -> String {
    if groups.is_empty() {
        return otherwise.to_owned();
    }
    let mut case = String::from("CASE\n");
    for (value, names) in groups {
        let _ = writeln!(case, "      WHEN {}\n        THEN {value}", name_in(name, names));
    }
    let _ = write!(case, "      ELSE {otherwise}\n    END");
    case
}

/// The whole query.
fn spark_sql(plan: &Plan, compiled: &CompiledPlan, columns: &Columns, selection: Selection) -> String {
    let groups = RuleGroups::new(plan, compiled);
    let reason = drop_reason_case(plan, compiled, &groups, columns);
    let priorities: BTreeMap<String, Vec<&str>> =
        groups.priorities.iter().map(|(priority, names)| (format!("'{priority}'"), names.clone())).collect();
    let priority = case_by_name(&columns.name, &priorities, "CAST(NULL AS STRING)");
    let sampling_weight = case_by_name(&columns.name, &groups.weights, "1.0D");
    // A shadow plan keeps refused rows too, with weight 1 (as the core does).
    let (weight, filter) = if compiled.is_shadow() {
        (format!("CASE WHEN _tg_drop_reason IS NULL THEN {sampling_weight} ELSE 1.0D END"), "")
    } else {
        (format!("CASE WHEN _tg_drop_reason IS NULL THEN {sampling_weight} END"), "WHERE _tg_drop_reason IS NULL\n")
    };
    let filter = if selection == Selection::All { "" } else { filter };
    let mut sql = String::new();
    let _ = writeln!(
        sql,
        "-- trackgate export spark: plan {}/{} version {} ({} events), sampling spec {SPEC_ID}.",
        compiled.app(),
        compiled.env(),
        compiled.version(),
        compiled.event_count()
    );
    sql.push_str(
        "-- Applies every rule of the plan except rate limits (per-device state), in the order of\n\
         -- docs/plan.md. _tg_drop_reason: the first rule that refuses the row (NULL: kept;\n\
         -- in a shadow plan the rule that would have refused it). _tg_weight: inverse sampling\n\
         -- probability of kept rows. Generated: re-export when the plan changes.\n",
    );
    if compiled.is_shadow() {
        sql.push_str("-- Shadow plan: every row is kept; the reasons show what enforcing it would drop.\n");
    }
    let _ = write!(
        sql,
        "SELECT *,\n  {weight} AS _tg_weight\nFROM (\n  SELECT *,\n    {reason} AS _tg_drop_reason,\n    {priority} AS _tg_priority\n  FROM {}\n) AS trackgate_decided\n{filter}",
        columns.table
    );
    sql
}

/// A Python module with the query and a function applying it to a DataFrame.
fn pyspark_module(plan: &Plan, compiled: &CompiledPlan, columns: &Columns, selection: Selection) -> String {
    let sql = spark_sql(plan, compiled, columns, selection);
    format!(
        r#""""Plan {app}/{env} version {version} as a PySpark step (generated by `trackgate export spark --pyspark`).

Applies every rule but rate limits; adds _tg_drop_reason, _tg_priority and _tg_weight.
"""

from pyspark.sql import DataFrame, SparkSession

TRACKGATE_PLAN_VERSION = {version}

TRACKGATE_SQL = r"""
{sql}"""


def apply_trackgate_plan(spark: SparkSession, events: DataFrame) -> DataFrame:
    """The rows of `events` the plan keeps{all_rows}, with the trackgate columns added."""
    events.createOrReplaceTempView("{view}")
    return spark.sql(TRACKGATE_SQL)
"#,
        app = compiled.app(),
        env = compiled.env(),
        version = compiled.version(),
        view = PYSPARK_VIEW,
        all_rows = if selection == Selection::All { " (all rows, with their drop reason)" } else { "" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use trackgate_core::parse_plan;

    fn export(plan_text: &str, selection: Selection) -> String {
        let plan = parse_plan(plan_text).unwrap().plan;
        let compiled = CompiledPlan::compile(&plan).unwrap();
        let columns = Columns::new("db.events", "event", "ctx.unit", "size_bytes").unwrap();
        spark_sql(&plan, &compiled, &columns, selection)
    }

    const PLAN: &str = r#"{"schema":1,"app":"a","env":"b","version":9,"sampling_salt":"s","shed_below":"P2",
        "defaults":{"max_bytes":500},
        "events":{"p.zero":{"priority":"P0"},"p.sampled":{"priority":"P2","sample":0.1,"salt":"it's"},
                  "p.old":{"priority":"P1","status":"retired"},"p.low":{"priority":"P3"}}}"#;

    #[test]
    fn rules_appear_in_spec_order() {
        let sql = export(PLAN, Selection::Kept);
        let order: Vec<usize> =
            ["'invalid_name'", "'unregistered'", "'retired'", "'shed'", "'oversize'", "'sampled_out'"]
                .iter()
                .map(|reason| sql.find(reason).unwrap_or_else(|| panic!("{reason} missing:\n{sql}")))
                .collect();
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{sql}");
        assert!(sql.contains("FROM `db`.`events`"));
        assert!(sql.contains("coalesce(CAST(`ctx`.`unit` AS STRING), '')"));
        assert!(sql.ends_with("WHERE _tg_drop_reason IS NULL\n"));
    }

    #[test]
    fn sampling_follows_the_spec_line() {
        let sql = export(PLAN, Selection::Kept);
        // T for 10 % is 7205759403792793; the salt has a quote, so it goes as UTF-8 hex.
        assert!(
            sql.contains("(xxhash64(CAST(X'69742773' AS STRING), coalesce(CAST(`ctx`.`unit` AS STRING), '')) & 72057594037927935L) < 72057594037927936L - 7205759403792793L"),
            "{sql}"
        );
        assert!(sql.contains("THEN 10.0D"));
    }

    #[test]
    fn selection_all_keeps_every_row_and_shadow_keeps_refused_rows() {
        assert!(!export(PLAN, Selection::All).contains("WHERE _tg_drop_reason IS NULL"));
        let shadow = export(&PLAN.replace("\"version\":9", "\"version\":9,\"shadow\":true"), Selection::Kept);
        assert!(!shadow.contains("WHERE _tg_drop_reason IS NULL"));
        assert!(shadow.contains("ELSE 1.0D END AS _tg_weight"));
    }

    #[test]
    fn disabled_and_empty_plans_stay_valid_sql() {
        let disabled = export(&PLAN.replace("\"version\":9", "\"version\":9,\"enabled\":false"), Selection::Kept);
        assert!(disabled.contains("'disabled' AS _tg_drop_reason"), "{disabled}");
        let empty = export(r#"{"schema":1,"app":"a","env":"b","version":1,"events":{}}"#, Selection::Kept);
        assert!(empty.contains("WHEN TRUE\n        THEN 'unregistered'"), "{empty}");
        assert!(!empty.contains("IN ()"));
    }

    #[test]
    fn literals_and_identifiers_are_safe() {
        assert_eq!(string_literal("2026-q4"), "'2026-q4'");
        assert_eq!(string_literal("盐"), "'盐'");
        assert_eq!(string_literal("a\\b"), "CAST(X'615C62' AS STRING)");
        assert_eq!(quote_identifier("we`ird").ok(), Some("`we``ird`".to_owned()));
        assert!(quote_identifier("a..b").is_err());
        assert_eq!(double_literal(9.060679369739143), "9.060679369739143D");
    }
}
