//! Scope resolution and predicate propagation over one parsed statement.
//!
//! Owns [`Relation`] (what rows of a table or subquery can hold: per *part* an [`EventSet`] and
//! the role of each column, plus a set carried along but no longer filterable) and [`Evaluator`],
//! which walks a `sqlparser` query: CTEs, subqueries, `UNION`, joins, renames, constant columns,
//! and turns `WHERE` / `ON` / `HAVING` predicates on the event and app columns into sets. It
//! also collects what the statement *reads*: the union of every scan's set after its predicates.
//!
//! Soundness rule: every result over-approximates. A predicate is put in negation normal form and
//! evaluated per relation and part; what cannot be understood on an event or app column is
//! [`Eval::Any`] (no restriction) plus a recorded [`Reason`], so an unresolved statement can only
//! make more events look read, never fewer.

use sqlparser::ast::{
    BinaryOperator, CaseWhen, Expr, InTarget, Join, JoinConstraint, JoinOperator, ObjectName, Query, Select,
    SelectItem, SelectItemQualifiedWildcardKind, SetExpr, SetOperator, TableAlias, TableFactor, TableWithJoins,
    UnaryOperator, Value,
};

use crate::events::{EventSet, Universe};

/// What a column holds, as far as event lineage is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    /// The event name.
    Event,
    /// The app name.
    App,
    /// A constant string (`'shop' AS app`).
    Const(String),
    /// Computed from the event or app column in a way the analysis does not follow: a predicate on
    /// it is unresolved.
    Derived,
    /// Anything else (user ids, counts, dates): predicates on it do not restrict events.
    Other,
}

/// One branch of a relation (a `UNION` keeps its branches apart, so constants stay exact).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The pairs whose rows this branch can hold; predicates on its columns filter it.
    pub set: EventSet,
    /// Named columns and their kinds (lower case names).
    pub columns: Vec<(String, ColumnKind)>,
    /// Kind of any column not listed (`Other` for known tables, `Derived` for unknown ones).
    pub rest: ColumnKind,
}

/// What a table, view, CTE or subquery can hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// The branches.
    pub parts: Vec<Part>,
    /// Pairs the rows derive from but that no column can filter any more (the other side of a
    /// join, an aggregate without the event column).
    pub carried: EventSet,
}

/// At most this many branches per relation; beyond, branches are merged (kinds widened).
const MAX_PARTS: usize = 32;

impl Relation {
    /// A relation of one part, nothing carried.
    pub fn single(set: EventSet, columns: Vec<(String, ColumnKind)>, rest: ColumnKind) -> Self {
        let carried = EventSet::empty(set.capacity());
        Relation { parts: vec![Part { set, columns, rest }], carried }
    }

    /// Every pair the rows can derive from.
    pub fn provenance(&self, universe: &Universe) -> EventSet {
        let mut all = universe.none();
        all.union_with(&self.carried);
        for part in &self.parts {
            all.union_with(&part.set);
        }
        all
    }

    /// Adds another relation's rows (a second writer of a table, a `UNION` branch).
    pub fn absorb(&mut self, other: Relation, universe: &Universe) {
        let _ = universe;
        self.carried.union_with(&other.carried);
        let names: Vec<String> =
            self.parts.first().map(|part| part.columns.iter().map(|c| c.0.clone()).collect()).unwrap_or_default();
        for mut part in other.parts {
            // Positional renaming to the first branch's names.
            if !names.is_empty() {
                for (index, column) in part.columns.iter_mut().enumerate() {
                    if let Some(name) = names.get(index) {
                        column.0.clone_from(name);
                    }
                }
            }
            self.parts.push(part);
        }
        self.cap();
    }

    fn cap(&mut self) {
        if self.parts.len() <= MAX_PARTS {
            return;
        }
        let mut merged = self.parts.remove(0);
        for part in self.parts.drain(..) {
            merged.set.union_with(&part.set);
            for (column, kind) in &mut merged.columns {
                let other = part.columns.iter().find(|(name, _)| name == column).map_or(&part.rest, |c| &c.1);
                *kind = widen(kind, other);
            }
            merged.rest = widen(&merged.rest, &part.rest);
        }
        self.parts.push(merged);
    }

    /// Renames columns by position (`AS t(a, b)`, `INSERT INTO t (a, b)`, view column lists).
    pub fn rename(&mut self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        for part in &mut self.parts {
            for (index, column) in part.columns.iter_mut().enumerate() {
                if let Some(name) = names.get(index) {
                    column.0.clone_from(name);
                }
            }
        }
    }

    /// The kind of column `name` over all parts (widened when the parts disagree).
    pub fn merged_kind(&self, name: &str) -> Option<ColumnKind> {
        let mut kinds = self.parts.iter().map(|part| part.kind(name));
        let first = kinds.next()?;
        let mut kind = first?;
        for other in kinds {
            kind = widen(&kind, &other?);
        }
        Some(kind)
    }

    fn has_column(&self, name: &str) -> bool {
        self.parts.iter().any(|part| part.columns.iter().any(|(column, _)| column == name))
    }
}

impl Part {
    fn kind(&self, name: &str) -> Option<ColumnKind> {
        self.columns.iter().find(|(column, _)| column == name).map(|(_, kind)| kind.clone())
    }

    fn kind_or_rest(&self, name: &str) -> ColumnKind {
        self.kind(name).unwrap_or_else(|| self.rest.clone())
    }
}

fn widen(left: &ColumnKind, right: &ColumnKind) -> ColumnKind {
    if left == right {
        return left.clone();
    }
    let eventish = |kind: &ColumnKind| matches!(kind, ColumnKind::Event | ColumnKind::App | ColumnKind::Derived);
    if eventish(left) || eventish(right) {
        ColumnKind::Derived
    } else {
        ColumnKind::Other
    }
}

/// Why a statement (or part of it) could not be resolved exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reason {
    /// A stable short key, for counts by reason.
    pub kind: &'static str,
    /// The detail: the predicate, the table, the parser message.
    pub detail: String,
}

impl Reason {
    /// A reason of kind `kind`.
    pub fn new(kind: &'static str, detail: impl Into<String>) -> Self {
        let mut detail = detail.into();
        if detail.len() > 200 {
            let mut cut = 200;
            while !detail.is_char_boundary(cut) {
                cut -= 1;
            }
            detail.truncate(cut);
            detail.push('…');
        }
        Reason { kind, detail }
    }
}

/// How the evaluator sees a table name.
pub enum TableLookup {
    /// A known table (root, job output, view, dimension): its relation.
    Known(Relation),
    /// A name nobody defines: conservatively every event, unknown columns.
    Unknown,
}

/// Where tables come from: the lineage's state (jobs) or a fixed map (tests).
pub trait TableSource {
    /// The relation of table `name` (lower case, as written, qualified or not).
    fn lookup(&self, name: &str) -> TableLookup;
}

/// A predicate's value for one relation part.
#[derive(Debug, Clone, PartialEq)]
pub enum Eval {
    /// No restriction known (a predicate on other columns, or not understood).
    Any,
    /// Only these pairs can pass.
    Set(EventSet),
}

impl Eval {
    fn and(self, other: Eval) -> Eval {
        match (self, other) {
            (Eval::Any, other) | (other, Eval::Any) => other,
            (Eval::Set(mut left), Eval::Set(right)) => {
                left.intersect_with(&right);
                Eval::Set(left)
            }
        }
    }

    fn or(self, other: Eval) -> Eval {
        match (self, other) {
            (Eval::Any, _) | (_, Eval::Any) => Eval::Any,
            (Eval::Set(mut left), Eval::Set(right)) => {
                left.union_with(&right);
                Eval::Set(left)
            }
        }
    }
}

/// A relation in the `FROM` scope of one `SELECT`.
struct Scoped {
    alias: String,
    relation: Relation,
}

/// Evaluates statements against a [`Universe`] and a [`TableSource`].
pub struct Evaluator<'a> {
    universe: &'a Universe,
    tables: &'a dyn TableSource,
    ctes: Vec<(String, Relation)>,
    /// What the statement reads: every scan's set after its predicates.
    pub reads: EventSet,
    /// Why parts could not be resolved exactly.
    pub reasons: Vec<Reason>,
    /// Tables and views read (not CTEs), lower case, first occurrence order.
    pub tables_read: Vec<String>,
    /// Names that no source defines.
    pub unknown_tables: Vec<String>,
}

/// Lower-case text of an object name (`db.table`, quotes removed).
pub fn object_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|part| part.as_ident().map_or_else(|| part.to_string(), |ident| ident.value.clone()))
        .collect::<Vec<_>>()
        .join(".")
        .to_ascii_lowercase()
}

fn literal_string(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::SingleQuotedString(text) | Value::DoubleQuotedString(text) => Some(text.clone()),
            _ => None,
        },
        Expr::Nested(inner) => literal_string(inner),
        _ => None,
    }
}

fn literal_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::SingleQuotedString(text) | Value::DoubleQuotedString(text) => Some(text.clone()),
            Value::Number(number, _) => Some(number.clone()),
            Value::Boolean(true) => Some("true".to_owned()),
            Value::Boolean(false) => Some("false".to_owned()),
            _ => None,
        },
        Expr::Nested(inner) => literal_text(inner),
        _ => None,
    }
}

fn alias_columns(alias: &TableAlias) -> Vec<String> {
    alias.columns.iter().map(|column| column.name.value.to_ascii_lowercase()).collect()
}

/// Identifiers in an expression's text (a cheap, grammar-free walk for "does it mention ...").
fn identifiers(expr: &Expr) -> Vec<Vec<String>> {
    let text = expr.to_string();
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'\'' {
            index += 1;
            while index < bytes.len() && bytes[index] != b'\'' {
                index += 1;
            }
            index += 1;
        } else if byte.is_ascii_alphabetic() || byte == b'_' || byte == b'`' || byte == b'"' {
            let start = index;
            while index < bytes.len()
                && (bytes[index].is_ascii_alphanumeric() || matches!(bytes[index], b'_' | b'.' | b'`' | b'"'))
            {
                index += 1;
            }
            let word = text[start..index].replace(['`', '"'], "").to_ascii_lowercase();
            found.push(word.split('.').map(str::to_owned).collect());
        } else {
            index += 1;
        }
    }
    found
}

impl<'a> Evaluator<'a> {
    /// A fresh evaluator.
    pub fn new(universe: &'a Universe, tables: &'a dyn TableSource) -> Self {
        Evaluator {
            universe,
            tables,
            ctes: Vec::new(),
            reads: universe.none(),
            reasons: Vec::new(),
            tables_read: Vec::new(),
            unknown_tables: Vec::new(),
        }
    }

    fn reason(&mut self, kind: &'static str, detail: impl Into<String>) {
        let reason = Reason::new(kind, detail);
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    /// Evaluates a query: the relation it produces (its reads accumulate in `self.reads`).
    pub fn query(&mut self, query: &Query) -> Relation {
        let pushed = self.ctes.len();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let name = cte.alias.name.value.to_ascii_lowercase();
                if with.recursive {
                    self.reason("recursive_cte", format!("WITH RECURSIVE {name}"));
                }
                let mut relation = self.query(&cte.query);
                relation.rename(&alias_columns(&cte.alias));
                self.ctes.push((name, relation));
            }
        }
        let relation = self.set_expr(&query.body);
        self.ctes.truncate(pushed);
        relation
    }

    fn set_expr(&mut self, body: &SetExpr) -> Relation {
        match body {
            SetExpr::Select(select) => self.select(select),
            SetExpr::Query(query) => self.query(query),
            SetExpr::SetOperation { left, op, right, .. } => {
                let mut left = self.set_expr(left);
                let right = self.set_expr(right);
                // INTERSECT / EXCEPT / MINUS: the result's rows are left rows.
                if *op == SetOperator::Union {
                    left.absorb(right, self.universe);
                }
                left
            }
            SetExpr::Values(_) => self.empty_relation(ColumnKind::Other),
            SetExpr::Table(table) => {
                let name = match (&table.schema_name, &table.table_name) {
                    (Some(schema), Some(table)) => format!("{}.{}", schema.value, table.value),
                    (None, Some(table)) => table.value.clone(),
                    _ => String::new(),
                }
                .to_ascii_lowercase();
                let relation = self.table(&name);
                self.reads.union_with(&relation.provenance(self.universe));
                relation
            }
            other => {
                self.reason("unsupported_statement", format!("{other}"));
                self.empty_relation(ColumnKind::Derived)
            }
        }
    }

    fn empty_relation(&self, rest: ColumnKind) -> Relation {
        Relation {
            parts: vec![Part { set: self.universe.none(), columns: Vec::new(), rest }],
            carried: self.universe.none(),
        }
    }

    /// The relation of a table name: a CTE in scope, or the table source.
    fn table(&mut self, name: &str) -> Relation {
        if let Some((_, relation)) = self.ctes.iter().rev().find(|(cte, _)| cte == name) {
            return relation.clone();
        }
        if !self.tables_read.iter().any(|known| known == name) {
            self.tables_read.push(name.to_owned());
        }
        match self.tables.lookup(name) {
            TableLookup::Known(relation) => relation,
            TableLookup::Unknown => {
                if !self.unknown_tables.iter().any(|known| known == name) {
                    self.unknown_tables.push(name.to_owned());
                }
                self.reason("unknown_table", name.to_owned());
                Relation {
                    parts: vec![Part { set: self.universe.all(), columns: Vec::new(), rest: ColumnKind::Derived }],
                    carried: self.universe.none(),
                }
            }
        }
    }

    fn factor(&mut self, factor: &TableFactor, scope: &mut Vec<Scoped>) {
        match factor {
            TableFactor::Table { name, alias, .. } => {
                let table = object_name(name);
                let mut relation = self.table(&table);
                let alias_name = match alias {
                    Some(alias) => {
                        relation.rename(&alias_columns(alias));
                        alias.name.value.to_ascii_lowercase()
                    }
                    None => table.rsplit('.').next().unwrap_or(&table).to_owned(),
                };
                scope.push(Scoped { alias: alias_name, relation });
            }
            TableFactor::Derived { subquery, alias, .. } => {
                let mut relation = self.query(subquery);
                let alias_name = match alias {
                    Some(alias) => {
                        relation.rename(&alias_columns(alias));
                        alias.name.value.to_ascii_lowercase()
                    }
                    None => String::new(),
                };
                scope.push(Scoped { alias: alias_name, relation });
            }
            TableFactor::NestedJoin { table_with_joins, .. } => self.scan_item(table_with_joins, scope),
            _ => {
                let relation = self.empty_relation(ColumnKind::Other);
                scope.push(Scoped { alias: String::new(), relation });
            }
        }
    }

    fn scan_item(&mut self, item: &TableWithJoins, scope: &mut Vec<Scoped>) {
        self.factor(&item.relation, scope);
        for join in &item.joins {
            self.join(join, scope);
        }
    }

    fn join(&mut self, join: &Join, scope: &mut Vec<Scoped>) {
        let left_end = scope.len();
        self.factor(&join.relation, scope);
        let right = left_end..scope.len();
        let left = 0..left_end;
        let (constraint, filtered) = match &join.join_operator {
            JoinOperator::Join(c)
            | JoinOperator::Inner(c)
            | JoinOperator::Semi(c)
            | JoinOperator::LeftSemi(c)
            | JoinOperator::RightSemi(c) => (Some(c), 0..scope.len()),
            JoinOperator::Left(c) | JoinOperator::LeftOuter(c) | JoinOperator::Anti(c) | JoinOperator::LeftAnti(c) => {
                (Some(c), right)
            }
            JoinOperator::Right(c) | JoinOperator::RightOuter(c) | JoinOperator::RightAnti(c) => (Some(c), left),
            _ => (None, 0..0),
        };
        if let Some(JoinConstraint::On(expr)) = constraint {
            self.subquery_reads(expr);
            self.filter(expr, scope, filtered);
        }
    }

    /// Applies predicate `expr` to the relations `targets` of the scope.
    fn filter(&mut self, expr: &Expr, scope: &mut [Scoped], targets: std::ops::Range<usize>) {
        for target in targets {
            for part in 0..scope[target].relation.parts.len() {
                if let Eval::Set(set) = self.predicate(expr, false, scope, target, part) {
                    scope[target].relation.parts[part].set.intersect_with(&set);
                }
            }
        }
    }

    /// Evaluates subqueries inside an expression for what they read.
    fn subquery_reads(&mut self, expr: &Expr) {
        match expr {
            Expr::Subquery(query) | Expr::Exists { subquery: query, .. } => {
                self.query(query);
            }
            Expr::In { expr, target, .. } => {
                self.subquery_reads(expr);
                if let InTarget::Subquery(query) = target {
                    self.query(query);
                }
            }
            Expr::BinaryOp { left, right, .. } => {
                self.subquery_reads(left);
                self.subquery_reads(right);
            }
            Expr::UnaryOp { expr, .. } | Expr::Nested(expr) => self.subquery_reads(expr),
            Expr::Case { operand, conditions, else_result, .. } => {
                for expr in operand.iter().chain(else_result.iter()) {
                    self.subquery_reads(expr);
                }
                for CaseWhen { condition, result } in conditions {
                    self.subquery_reads(condition);
                    self.subquery_reads(result);
                }
            }
            _ => {}
        }
    }

    fn select(&mut self, select: &Select) -> Relation {
        let mut scope: Vec<Scoped> = Vec::new();
        for item in &select.from {
            self.scan_item(item, &mut scope);
        }
        for clause in [&select.prewhere, &select.selection, &select.having, &select.qualify].into_iter().flatten() {
            self.subquery_reads(clause);
            let all = 0..scope.len();
            self.filter(clause, &mut scope, all);
        }
        for scoped in &scope {
            let provenance = scoped.relation.provenance(self.universe);
            self.reads.union_with(&provenance);
        }
        for item in &select.projection {
            if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item {
                self.subquery_reads(expr);
            }
        }
        self.project(&select.projection, &scope)
    }

    /// The scope relation and column a column reference names, if any.
    fn resolve(&self, parts: &[String], scope: &[Scoped]) -> Option<(usize, String)> {
        let column = parts.last()?.clone();
        if parts.len() >= 2 {
            let qualifier = &parts[parts.len() - 2];
            let index = scope.iter().position(|scoped| &scoped.alias == qualifier)?;
            return Some((index, column));
        }
        if let Some(index) = scope.iter().position(|scoped| scoped.relation.has_column(&column)) {
            return Some((index, column));
        }
        // Not listed anywhere: a column of the only relation, or of an unknown-column one.
        if scope.len() == 1 {
            return Some((0, column));
        }
        scope
            .iter()
            .position(|scoped| scoped.relation.parts.iter().any(|part| part.rest == ColumnKind::Derived))
            .map(|index| (index, column))
    }

    fn column_parts(expr: &Expr) -> Option<Vec<String>> {
        match expr {
            Expr::Identifier(ident) => Some(vec![ident.value.to_ascii_lowercase()]),
            Expr::CompoundIdentifier(idents) => {
                Some(idents.iter().map(|ident| ident.value.to_ascii_lowercase()).collect())
            }
            Expr::Nested(inner) => Self::column_parts(inner),
            Expr::Cast { expr, .. } => Self::column_parts(expr),
            _ => None,
        }
    }

    /// Kind of the column `expr` in part `part` of relation `target`, or `None` when `expr` is not
    /// a column of `target`.
    fn column_kind(&self, expr: &Expr, scope: &[Scoped], target: usize, part: usize) -> Option<ColumnKind> {
        let parts = Self::column_parts(expr)?;
        let (index, column) = self.resolve(&parts, scope)?;
        (index == target).then(|| scope[target].relation.parts[part].kind_or_rest(&column))
    }

    /// Whether `expr` mentions an event, app or derived column of `target`'s `part`.
    fn mentions_events(&self, expr: &Expr, scope: &[Scoped], target: usize, part: usize) -> bool {
        identifiers(expr).iter().any(|parts| {
            self.resolve(parts, scope).is_some_and(|(index, column)| {
                index == target
                    && matches!(
                        scope[target].relation.parts[part].kind(&column),
                        Some(ColumnKind::Event | ColumnKind::App | ColumnKind::Derived)
                    )
                    || index == target
                        && scope[target].relation.parts[part].kind(&column).is_none()
                        && scope[target].relation.parts[part].rest == ColumnKind::Derived
            })
        })
    }

    fn unknown(&mut self, expr: &Expr, scope: &[Scoped], target: usize, part: usize) -> Eval {
        if self.mentions_events(expr, scope, target, part) {
            self.reason("unsupported_predicate", expr.to_string());
        }
        Eval::Any
    }

    /// The set of values `kind` can match for `values` (`IN` semantics), before negation.
    fn atom(&mut self, kind: &ColumnKind, values: &[String], expr: &Expr) -> Eval {
        match kind {
            ColumnKind::Event => {
                let mut set = self.universe.none();
                for value in values {
                    set.union_with(&self.universe.named(value));
                }
                Eval::Set(set)
            }
            ColumnKind::App => {
                let mut set = self.universe.none();
                for value in values {
                    set.union_with(&self.universe.of_app(value));
                }
                Eval::Set(set)
            }
            ColumnKind::Const(constant) => {
                if values.iter().any(|value| value == constant) {
                    Eval::Set(self.universe.all())
                } else {
                    Eval::Set(self.universe.none())
                }
            }
            ColumnKind::Derived => {
                self.reason("predicate_on_derived_column", expr.to_string());
                Eval::Any
            }
            ColumnKind::Other => Eval::Any,
        }
    }

    fn negate(&self, eval: Eval, negated: bool) -> Eval {
        match (eval, negated) {
            (Eval::Set(set), true) => Eval::Set(set.complement(self.universe.len())),
            (eval, _) => eval,
        }
    }

    /// The pairs of `target`'s `part` that can satisfy `expr` (or its negation).
    fn predicate(&mut self, expr: &Expr, negated: bool, scope: &[Scoped], target: usize, part: usize) -> Eval {
        match expr {
            Expr::Nested(inner) => self.predicate(inner, negated, scope, target, part),
            Expr::UnaryOp { op: UnaryOperator::Not | UnaryOperator::BangNot, expr: inner } => {
                self.predicate(inner, !negated, scope, target, part)
            }
            Expr::BinaryOp { left, op: op @ (BinaryOperator::And | BinaryOperator::Or), right } => {
                let left = self.predicate(left, negated, scope, target, part);
                let right = self.predicate(right, negated, scope, target, part);
                if (*op == BinaryOperator::And) != negated {
                    left.and(right)
                } else {
                    left.or(right)
                }
            }
            Expr::BinaryOp { left, op: op @ (BinaryOperator::Eq | BinaryOperator::NotEq), right } => {
                let flip = negated != (*op == BinaryOperator::NotEq);
                // `CASE … END = 'x'`, written either way round.
                for (case, other) in [(&**left, &**right), (&**right, &**left)] {
                    if let Expr::Case { operand, conditions, else_result, .. } = case {
                        if let Some(wanted) = literal_text(other) {
                            return self.case(
                                operand.as_deref(),
                                conditions,
                                else_result.as_deref(),
                                &wanted,
                                flip,
                                scope,
                                target,
                                part,
                            );
                        }
                    }
                }
                let (column, value) = match (literal_string(left), literal_string(right)) {
                    (None, Some(value)) => (&**left, value),
                    (Some(value), None) => (&**right, value),
                    _ => return self.unknown(expr, scope, target, part),
                };
                match self.column_kind(column, scope, target, part) {
                    Some(kind) => {
                        let eval = self.atom(&kind, &[value], expr);
                        self.negate(eval, flip)
                    }
                    None => self.unknown(expr, scope, target, part),
                }
            }
            Expr::In { expr: column, target: InTarget::List(list), negated: not_in, .. } => {
                let values: Option<Vec<String>> = list.iter().map(literal_string).collect();
                match (self.column_kind(column, scope, target, part), values) {
                    (Some(kind), Some(values)) => {
                        let eval = self.atom(&kind, &values, expr);
                        self.negate(eval, negated != *not_in)
                    }
                    _ => self.unknown(expr, scope, target, part),
                }
            }
            Expr::Like { negated: not_like, any: false, expr: column, pattern, escape_char } => {
                let escape = match escape_char.as_deref().map(literal_string) {
                    None => None,
                    Some(Some(text)) if text.chars().count() == 1 => text.chars().next(),
                    Some(_) => return self.unknown(expr, scope, target, part),
                };
                match (self.column_kind(column, scope, target, part), literal_string(pattern)) {
                    (Some(kind), Some(pattern)) => {
                        let eval = match kind {
                            ColumnKind::Event => Eval::Set(self.universe.event_like(&pattern, escape)),
                            ColumnKind::App => Eval::Set(self.universe.app_like(&pattern, escape)),
                            ColumnKind::Const(constant) => {
                                let single = Universe::new([("", vec![constant.as_str()])]);
                                let matched = !single.event_like(&pattern, escape).is_empty();
                                Eval::Set(if matched { self.universe.all() } else { self.universe.none() })
                            }
                            other => self.atom(&other, &[], expr),
                        };
                        self.negate(eval, negated != *not_like)
                    }
                    _ => self.unknown(expr, scope, target, part),
                }
            }
            Expr::Case { operand, conditions, else_result, .. } => {
                self.case(operand.as_deref(), conditions, else_result.as_deref(), "true", negated, scope, target, part)
            }
            Expr::Value(value) => match &value.value {
                Value::Boolean(truth) => {
                    if *truth != negated {
                        Eval::Any
                    } else {
                        Eval::Set(self.universe.none())
                    }
                }
                _ => Eval::Any,
            },
            Expr::IsNull(_) | Expr::IsNotNull(_) => Eval::Any,
            other => self.unknown(other, scope, target, part),
        }
    }

    /// `CASE [operand] WHEN c THEN r … ELSE e END` compared with `wanted` (or its negation): the
    /// union over branches of "earlier conditions false, this one true, result matches".
    #[allow(clippy::too_many_arguments)]
    fn case(
        &mut self,
        operand: Option<&Expr>,
        conditions: &[CaseWhen],
        else_result: Option<&Expr>,
        wanted: &str,
        negated: bool,
        scope: &[Scoped],
        target: usize,
        part: usize,
    ) -> Eval {
        let matches = |result: Option<&Expr>| -> Option<bool> {
            match result {
                None => Some(negated),
                Some(result) => literal_text(result).map(|text| text.eq_ignore_ascii_case(wanted) != negated),
            }
        };
        let mut total = Eval::Set(self.universe.none());
        let mut earlier_false = Eval::Any;
        for CaseWhen { condition, result } in conditions {
            let condition = match operand {
                Some(operand) => Expr::BinaryOp {
                    left: Box::new(operand.clone()),
                    op: BinaryOperator::Eq,
                    right: Box::new(condition.clone()),
                },
                None => condition.clone(),
            };
            let Some(taken) = matches(Some(result)) else {
                return self.unknown(result, scope, target, part).or(Eval::Any);
            };
            if taken {
                let this = self.predicate(&condition, false, scope, target, part);
                total = total.or(earlier_false.clone().and(this));
            }
            let not_this = self.predicate(&condition, true, scope, target, part);
            earlier_false = earlier_false.and(not_this);
        }
        match matches(else_result) {
            Some(true) => total.or(earlier_false),
            Some(false) => total,
            None => Eval::Any,
        }
    }

    fn project(&mut self, projection: &[SelectItem], scope: &[Scoped]) -> Relation {
        // Output columns: (name, source relation and column, or an expression).
        enum Source<'e> {
            Column(usize, String),
            Const(String),
            Expr(&'e Expr),
        }
        let mut outputs: Vec<(String, Source<'_>)> = Vec::new();
        let mut rest = ColumnKind::Other;
        for item in projection {
            match item {
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    let only = match item {
                        SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                            let name = object_name(name);
                            Some(name.rsplit('.').next().unwrap_or(&name).to_owned())
                        }
                        _ => None,
                    };
                    for (index, scoped) in scope.iter().enumerate() {
                        if only.as_ref().is_some_and(|only| *only != scoped.alias) {
                            continue;
                        }
                        if let Some(first) = scoped.relation.parts.first() {
                            for (column, _) in &first.columns {
                                outputs.push((column.clone(), Source::Column(index, column.clone())));
                            }
                            for part in &scoped.relation.parts {
                                rest = widen(&rest, &part.rest);
                            }
                        }
                    }
                }
                SelectItem::UnnamedExpr(expr)
                | SelectItem::ExprWithAlias { expr, .. }
                | SelectItem::ExprWithAliases { expr, .. } => {
                    let column = Self::column_parts(expr);
                    let name = match item {
                        SelectItem::ExprWithAlias { alias, .. } => alias.value.to_ascii_lowercase(),
                        SelectItem::ExprWithAliases { aliases, .. } => {
                            aliases.first().map(|alias| alias.value.to_ascii_lowercase()).unwrap_or_default()
                        }
                        _ => column
                            .as_ref()
                            .and_then(|parts| parts.last().cloned())
                            .unwrap_or_else(|| expr.to_string().to_ascii_lowercase()),
                    };
                    let source = if let Some(text) = literal_string(expr) {
                        Source::Const(text)
                    } else if let Some((index, column)) = column.and_then(|parts| self.resolve(&parts, scope)) {
                        Source::Column(index, column)
                    } else {
                        Source::Expr(expr)
                    };
                    outputs.push((name, source));
                }
            }
        }
        // The owner: the relation whose event or app column is projected first.
        let owner = outputs.iter().find_map(|(_, source)| match source {
            Source::Column(index, column) => match scope[*index].relation.merged_kind(column).unwrap_or_else(|| {
                scope[*index].relation.parts.first().map_or(ColumnKind::Other, |part| part.rest.clone())
            }) {
                ColumnKind::Event | ColumnKind::App | ColumnKind::Derived => Some(*index),
                _ => None,
            },
            _ => None,
        });
        let mut carried = self.universe.none();
        for (index, scoped) in scope.iter().enumerate() {
            if Some(index) == owner {
                carried.union_with(&scoped.relation.carried);
            } else {
                carried.union_with(&scoped.relation.provenance(self.universe));
            }
        }
        let owner_parts: Vec<(usize, EventSet)> = match owner {
            Some(owner) => {
                scope[owner].relation.parts.iter().enumerate().map(|(index, part)| (index, part.set.clone())).collect()
            }
            None => vec![(usize::MAX, self.universe.none())],
        };
        let mut parts = Vec::with_capacity(owner_parts.len());
        for (part_index, set) in owner_parts {
            let mut columns = Vec::with_capacity(outputs.len());
            for (name, source) in &outputs {
                let kind = match source {
                    Source::Const(text) => ColumnKind::Const(text.clone()),
                    Source::Column(index, column) if Some(*index) == owner => {
                        scope[*index].relation.parts[part_index].kind_or_rest(column)
                    }
                    Source::Column(index, column) => {
                        let kind = scope[*index].relation.merged_kind(column).unwrap_or_else(|| {
                            scope[*index].relation.parts.first().map_or(ColumnKind::Other, |part| part.rest.clone())
                        });
                        match kind {
                            ColumnKind::Event | ColumnKind::App => ColumnKind::Derived,
                            other => other,
                        }
                    }
                    Source::Expr(expr) => {
                        let mentions = identifiers(expr).iter().any(|parts| {
                            self.resolve(parts, scope).is_some_and(|(index, column)| {
                                let kind = scope[index].relation.merged_kind(&column).unwrap_or_else(|| {
                                    scope[index]
                                        .relation
                                        .parts
                                        .first()
                                        .map_or(ColumnKind::Other, |part| part.rest.clone())
                                });
                                matches!(kind, ColumnKind::Event | ColumnKind::App | ColumnKind::Derived)
                            })
                        });
                        if mentions {
                            ColumnKind::Derived
                        } else {
                            ColumnKind::Other
                        }
                    }
                };
                columns.push((name.clone(), kind));
            }
            parts.push(Part { set, columns, rest: rest.clone() });
        }
        Relation { parts, carried }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use sqlparser::dialect::HiveDialect;
    use sqlparser::parser::Parser;

    use super::*;

    struct Fixed(HashMap<String, Relation>);

    impl TableSource for Fixed {
        fn lookup(&self, name: &str) -> TableLookup {
            self.0.get(name).cloned().map_or(TableLookup::Unknown, TableLookup::Known)
        }
    }

    fn universe() -> Universe {
        Universe::new([
            ("shop", vec!["pay.ok", "pay.fail", "feed.view", "search.run"]),
            ("mall", vec!["pay.ok", "mall.open"]),
        ])
    }

    fn tables(universe: &Universe) -> Fixed {
        let log = Relation {
            parts: vec![Part {
                set: universe.all(),
                columns: vec![("app".into(), ColumnKind::App), ("event".into(), ColumnKind::Event)],
                rest: ColumnKind::Other,
            }],
            carried: universe.none(),
        };
        let dim = Relation {
            parts: vec![Part { set: universe.none(), columns: vec![], rest: ColumnKind::Other }],
            carried: universe.none(),
        };
        Fixed(HashMap::from([("ods.log".to_owned(), log), ("dim.user".to_owned(), dim)]))
    }

    /// (reads as "app/event" names, output provenance, reasons).
    fn run(sql: &str) -> (Vec<String>, Vec<String>, Vec<&'static str>) {
        let universe = universe();
        let tables = tables(&universe);
        let statements = Parser::parse_sql(&HiveDialect {}, sql).expect("parses");
        let sqlparser::ast::Statement::Query(query) = &statements[0] else { panic!("a query") };
        let mut evaluator = Evaluator::new(&universe, &tables);
        let relation = evaluator.query(query);
        let names = |set: &EventSet| {
            let mut names: Vec<String> =
                set.iter().map(|index| format!("{}/{}", universe.pair(index).0, universe.pair(index).1)).collect();
            names.sort();
            names
        };
        let reads = names(&evaluator.reads);
        let output = names(&relation.provenance(&universe));
        (reads, output, evaluator.reasons.iter().map(|reason| reason.kind).collect())
    }

    fn reads(sql: &str) -> Vec<String> {
        run(sql).0
    }

    #[test]
    fn equality_in_and_not_in() {
        assert_eq!(reads("SELECT * FROM ods.log WHERE event = 'pay.ok'"), ["mall/pay.ok", "shop/pay.ok"]);
        assert_eq!(reads("SELECT * FROM ods.log WHERE 'pay.ok' = event AND app = 'mall'"), ["mall/pay.ok"]);
        assert_eq!(reads("SELECT * FROM ods.log WHERE event IN ('feed.view', 'nope')"), ["shop/feed.view"]);
        assert_eq!(
            reads("SELECT * FROM ods.log WHERE app = 'shop' AND event NOT IN ('pay.ok', 'pay.fail')"),
            ["shop/feed.view", "shop/search.run"]
        );
        assert_eq!(reads("SELECT * FROM ods.log WHERE app <> 'shop'"), ["mall/mall.open", "mall/pay.ok"]);
    }

    #[test]
    fn like_or_not_and_case() {
        assert_eq!(
            reads("SELECT * FROM ods.log WHERE app = 'shop' AND event LIKE 'pay.%'"),
            ["shop/pay.fail", "shop/pay.ok"]
        );
        assert_eq!(
            reads("SELECT * FROM ods.log WHERE event = 'feed.view' OR app = 'mall'"),
            ["mall/mall.open", "mall/pay.ok", "shop/feed.view"]
        );
        assert_eq!(reads("SELECT * FROM ods.log WHERE NOT (app = 'shop' OR event = 'pay.ok')"), ["mall/mall.open"]);
        assert_eq!(
            reads("SELECT * FROM ods.log WHERE CASE WHEN app = 'mall' THEN 0 WHEN event LIKE '%.view' THEN 1 ELSE 0 END = 1"),
            ["shop/feed.view"]
        );
        assert_eq!(
            reads("SELECT * FROM ods.log WHERE CASE event WHEN 'mall.open' THEN true ELSE false END"),
            ["mall/mall.open"]
        );
        // A filter on other columns restricts nothing.
        assert_eq!(reads("SELECT count(*) FROM ods.log WHERE dt = '2026-01-01' OR user_id > 5").len(), 6);
    }

    #[test]
    fn unknown_predicates_are_conservative_and_recorded() {
        let (reads, _, reasons) = run("SELECT * FROM ods.log WHERE lower(event) = 'pay.ok' AND app = 'mall'");
        assert_eq!(reads, ["mall/mall.open", "mall/pay.ok"]);
        assert_eq!(reasons, ["unsupported_predicate"]);
        let (reads, _, reasons) = run("SELECT * FROM ods.log WHERE event IN (SELECT name FROM dim.user)");
        assert_eq!(reads.len(), 6);
        assert_eq!(reasons, ["unsupported_predicate"]);
        // NOT of an unknown stays unknown (never shrinks to nothing).
        assert_eq!(run("SELECT * FROM ods.log WHERE NOT (substr(event, 1, 3) = 'pay')").0.len(), 6);
        let (reads, _, reasons) = run("SELECT * FROM nowhere.t WHERE event = 'x'");
        assert_eq!(reads.len(), 6);
        assert!(reasons.contains(&"unknown_table"));
    }

    #[test]
    fn renames_ctes_subqueries_and_layers() {
        let sql = "WITH pay AS (SELECT app AS a, event AS ev, user_id FROM ods.log WHERE event LIKE 'pay.%')
                   SELECT ev, count(*) FROM (SELECT * FROM pay WHERE a = 'mall') t WHERE t.ev IN ('pay.ok') GROUP BY ev";
        assert_eq!(reads(sql), ["mall/pay.ok", "shop/pay.fail", "shop/pay.ok"]);
        assert_eq!(run(sql).1, ["mall/pay.ok"]);
        // The derived table's alias column list renames.
        assert_eq!(run("SELECT * FROM (SELECT event FROM ods.log) t(e) WHERE e = 'mall.open'").1, ["mall/mall.open"]);
    }

    #[test]
    fn unions_keep_constant_columns_per_branch() {
        let sql = "SELECT * FROM (SELECT 'x' AS src, event FROM ods.log WHERE app = 'shop'
                                  UNION ALL SELECT 'y' AS src, event FROM ods.log WHERE app = 'mall') u WHERE src = 'y'";
        assert_eq!(run(sql).1, ["mall/mall.open", "mall/pay.ok"]);
        let sql = "SELECT * FROM (SELECT event FROM ods.log WHERE app = 'shop' UNION SELECT event FROM ods.log WHERE app = 'mall') u
                   WHERE event = 'pay.ok'";
        assert_eq!(run(sql).1, ["mall/pay.ok", "shop/pay.ok"]);
    }

    #[test]
    fn joins_filter_the_right_sides() {
        let sql = "SELECT l.event, u.name FROM ods.log l JOIN dim.user u ON l.user_id = u.id AND l.event = 'feed.view'";
        assert_eq!(run(sql).1, ["shop/feed.view"]);
        // A LEFT JOIN's ON does not filter the preserved side.
        let sql = "SELECT l.event FROM ods.log l LEFT JOIN dim.user u ON u.id = l.user_id AND l.app = 'mall'";
        assert_eq!(run(sql).1.len(), 6);
        // Two event relations: the other side is carried, unfilterable, but still there.
        let sql = "SELECT a.event FROM ods.log a JOIN ods.log b ON a.user_id = b.user_id WHERE a.event = 'pay.fail' AND b.app = 'mall'";
        assert_eq!(run(sql).1, ["mall/mall.open", "mall/pay.ok", "shop/pay.fail"]);
    }

    #[test]
    fn having_exists_and_intersect() {
        // HAVING on the grouped event column filters like WHERE.
        let sql = "SELECT event, count(*) FROM ods.log GROUP BY event HAVING event IN ('feed.view', 'app.x')";
        assert_eq!(run(sql).1, ["shop/feed.view"]);
        // A subquery in EXISTS is read; the outer rows are not restricted by it.
        let sql = "SELECT * FROM dim.user u WHERE EXISTS (SELECT 1 FROM ods.log l WHERE l.event = 'pay.fail')";
        assert_eq!(reads(sql), ["shop/pay.fail"]);
        assert!(run(sql).1.is_empty());
        // INTERSECT keeps the left side (an over-approximation); both sides are read.
        let sql =
            "SELECT event FROM ods.log WHERE app = 'mall' INTERSECT SELECT event FROM ods.log WHERE event = 'pay.ok'";
        assert_eq!(run(sql).1, ["mall/mall.open", "mall/pay.ok"]);
        assert_eq!(reads(sql).len(), 3);
    }

    #[test]
    fn derived_columns_make_predicates_unresolved() {
        let sql = "SELECT * FROM (SELECT concat(app, ':', event) AS k FROM ods.log) t WHERE k = 'shop:pay.ok'";
        let (_, output, reasons) = run(sql);
        assert_eq!(output.len(), 6);
        assert_eq!(reasons, ["predicate_on_derived_column"]);
    }
}
