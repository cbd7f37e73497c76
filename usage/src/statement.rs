//! One SQL statement: parsing with fallbacks and what kind of statement it is.
//!
//! Owns the limits (size, nesting) that keep a hostile statement from costing more than a token
//! scan, the dialect order (Hive, then generic), and [`Shape`]: whether a statement writes a
//! table from a query, only reads, or does neither (DDL, `SET`, …). A statement that cannot be
//! parsed becomes [`Parsed::Unreadable`] with what the token scan found, never an error that
//! stops the analysis.

use sqlparser::ast::{Query, Statement, TableObject};
use sqlparser::dialect::{GenericDialect, HiveDialect};
use sqlparser::parser::Parser;

use crate::scope::{object_name, Reason};
use crate::split::{scan_tables, Scanned};

/// Statements longer than this are not parsed, only scanned (a 10 MB generated `IN` list).
pub const MAX_STATEMENT_BYTES: usize = 1 << 20;

/// Statements nested deeper than this (parentheses) are not parsed, only scanned.
pub const MAX_NESTING: u32 = 48;

/// A statement after parsing.
pub enum Parsed {
    /// The parser read it.
    Read(Box<Statement>),
    /// The parser could not read it (or it was over a limit): why, where in the statement
    /// (1-based line and column, when the parser said), and what a token scan found.
    Unreadable {
        /// Why it was not parsed.
        reason: Reason,
        /// Line and column within the statement text.
        at: Option<(u32, u32)>,
        /// Target and sources by keywords.
        scanned: Scanned,
    },
}

/// Parses one statement (Hive dialect first, then generic).
pub fn parse(text: &str, depth: u32) -> Parsed {
    if text.len() > MAX_STATEMENT_BYTES {
        return Parsed::Unreadable {
            reason: Reason::new("too_large", format!("{} bytes (limit {MAX_STATEMENT_BYTES})", text.len())),
            at: None,
            scanned: scan_tables(text),
        };
    }
    if depth > MAX_NESTING {
        return Parsed::Unreadable {
            reason: Reason::new("too_deep", format!("{depth} nested parentheses (limit {MAX_NESTING})")),
            at: None,
            scanned: scan_tables(text),
        };
    }
    let first = match Parser::parse_sql(&HiveDialect {}, text) {
        Ok(mut statements) if statements.len() == 1 => return Parsed::Read(Box::new(statements.remove(0))),
        Ok(statements) => format!("expected one statement, found {}", statements.len()),
        Err(error) => error.to_string(),
    };
    if let Ok(mut statements) = Parser::parse_sql(&GenericDialect {}, text) {
        if statements.len() == 1 {
            return Parsed::Read(Box::new(statements.remove(0)));
        }
    }
    let message = first.trim_start_matches("sql parser error: ").to_owned();
    let at = parser_place(&message);
    let message = message.split(" at Line: ").next().unwrap_or(&message).to_owned();
    Parsed::Unreadable { reason: Reason::new("parse_error", message), at, scanned: scan_tables(text) }
}

/// `… at Line: 3, Column: 7` → (3, 7).
fn parser_place(message: &str) -> Option<(u32, u32)> {
    let rest = &message[message.find("Line: ")? + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// What a parsed statement does with tables.
pub enum Shape<'s> {
    /// Writes `target` (table or view) from `query`; `columns` renames by position.
    Write {
        /// The table or view written (lower case).
        target: String,
        /// An explicit column list, if any.
        columns: Vec<String>,
        /// The query whose rows are written.
        query: &'s Query,
    },
    /// Only reads.
    Read(&'s Query),
    /// Neither (DDL without a query, `SET`, `USE`, `DROP`, …).
    Other,
}

/// Classifies a parsed statement.
pub fn shape(statement: &Statement) -> Shape<'_> {
    match statement {
        Statement::Query(query) => Shape::Read(query),
        Statement::Insert(insert) => {
            let (TableObject::TableName(name), Some(query)) = (&insert.table, &insert.source) else {
                return Shape::Other;
            };
            let columns = insert
                .columns
                .iter()
                .map(|column| object_name(column).rsplit('.').next().unwrap_or_default().to_owned())
                .collect();
            Shape::Write { target: object_name(name), columns, query }
        }
        Statement::CreateTable(create) => match &create.query {
            Some(query) => Shape::Write { target: object_name(&create.name), columns: Vec::new(), query },
            None => Shape::Other,
        },
        Statement::CreateView(view) => Shape::Write {
            target: object_name(&view.name),
            columns: view.columns.iter().map(|column| column.name.value.to_ascii_lowercase()).collect(),
            query: &view.query,
        },
        _ => Shape::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_statements_have_shapes() {
        let Parsed::Read(statement) =
            parse("INSERT OVERWRITE TABLE dwd.pay PARTITION (dt = '2026-01-01') SELECT app, event FROM ods.log", 1)
        else {
            panic!("parses")
        };
        assert!(matches!(shape(&statement), Shape::Write { ref target, .. } if target == "dwd.pay"));
        let Parsed::Read(statement) = parse("CREATE VIEW ads.v (a, e) AS SELECT app, event FROM dwd.pay", 1) else {
            panic!("parses")
        };
        assert!(matches!(shape(&statement), Shape::Write { ref columns, .. } if columns == &["a", "e"]));
        let Parsed::Read(statement) = parse("SET hive.exec.parallel=true", 0) else { panic!("parses") };
        assert!(matches!(shape(&statement), Shape::Other));
    }

    #[test]
    fn unreadable_statements_say_where_and_why() {
        let Parsed::Unreadable { reason, at, scanned } = parse("SELECT event FROM\n ods.log WHERE ) x", 1) else {
            panic!("refused")
        };
        assert_eq!(reason.kind, "parse_error");
        assert_eq!(at.map(|(line, _)| line), Some(2));
        assert_eq!(scanned.sources, ["ods.log"]);
        let big = format!("SELECT * FROM t WHERE event IN ('{}')", "x".repeat(MAX_STATEMENT_BYTES));
        assert!(matches!(parse(&big, 1), Parsed::Unreadable { reason, .. } if reason.kind == "too_large"));
        assert!(matches!(parse("SELECT 1", 100), Parsed::Unreadable { reason, .. } if reason.kind == "too_deep"));
    }
}
