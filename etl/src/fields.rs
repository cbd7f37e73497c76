//! Which members of an NDJSON line the filter reads, and reading them without building a document.
//!
//! Owns the field configuration ([`FieldConfig`]: dotted [`FieldPath`]s such as `event.name` or
//! `ctx.install_id` for the name and unit, and the [`SizeSource`]) and the scanner behind
//! [`LineFilter`](crate::LineFilter), which walks a line with serde_json's borrowed deserializer:
//! wanted members are captured (borrowed from the line unless they contain escapes), every other
//! value is skipped with `IgnoredAny`, which still checks that it is well-formed JSON.
//!
//! Allocation: none for a line whose wanted strings have no escapes and whose unit is not an
//! integer (the decimal text of an integer unit and an unescaped copy are the only per-line
//! allocations; a malformed line allocates its message). Threading: pure functions of the line
//! and the configuration; every type here is `Send + Sync`.
//!
//! Value rules (the Spark export applies the same ones, see `docs/etl.md`):
//! - a missing member, a `null`, or a parent that is not an object reads as "absent";
//! - the name must be a string; the unit a string or an integer (hashed as its decimal text);
//!   the size a non-negative integer. Any other type makes the line malformed.
//! - when a member appears twice, the last one wins (as in JavaScript and serde_json).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A field configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A dotted path with an empty part (`a..b`, a leading or trailing dot, or nothing at all).
    #[error("field path `{path}` has an empty segment; use names joined by dots, e.g. ctx.install_id")]
    EmptySegment {
        /// The path as given.
        path: String,
    },
    /// A size source that is neither `line` nor `field:PATH`.
    #[error("expected `line` or `field:PATH`, found `{text}`")]
    SizeSource {
        /// The text as given.
        text: String,
    },
    /// Two of the name, unit and size paths are the same member.
    #[error("the name, unit and size fields must be different members; {json_path} is read twice")]
    SameMember {
        /// The member, as `$.a.b`.
        json_path: String,
    },
}

/// Top-level members the filter writes into kept lines; input lines must not carry them.
pub const RESERVED_MEMBERS: [&str; 2] = ["_tg_priority", "_tg_weight"];

/// A dotted path to a member of nested JSON objects, such as `ctx.install_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    segments: Vec<String>,
}

impl FieldPath {
    /// The member names from the outermost object inwards.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }
}

impl FromStr for FieldPath {
    type Err = FieldError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(FieldError::EmptySegment { path: text.to_owned() });
        }
        Ok(FieldPath { segments })
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.segments.join("."))
    }
}

/// Where the size compared with a plan's `max_bytes` comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SizeSource {
    /// The line's byte length without its line ending (`\n` or `\r\n`): what Spark's
    /// `octet_length(value)` gives for `spark.read.text`.
    #[default]
    Line,
    /// A non-negative integer member of the event; a line without it is malformed.
    Field(FieldPath),
}

impl FromStr for SizeSource {
    type Err = FieldError;

    /// `line`, or `field:PATH`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.strip_prefix("field:") {
            Some(path) => Ok(SizeSource::Field(path.parse()?)),
            None if text == "line" => Ok(SizeSource::Line),
            None => Err(FieldError::SizeSource { text: text.to_owned() }),
        }
    }
}

/// Which members of a line the filter reads: the event name, the sampling unit and the size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConfig {
    /// The event name (default `event`); absent reads as the empty string (`invalid_name`).
    pub name: FieldPath,
    /// The sampling unit (default `unit_id`); absent reads as the empty string.
    pub unit: FieldPath,
    /// The event size (default: the line's length).
    pub size: SizeSource,
}

impl Default for FieldConfig {
    fn default() -> Self {
        FieldConfig {
            name: FieldPath { segments: vec!["event".to_owned()] },
            unit: FieldPath { segments: vec!["unit_id".to_owned()] },
            size: SizeSource::Line,
        }
    }
}

/// Which captured value a path fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Name,
    Unit,
    Size,
}

impl Target {
    fn expected(self) -> &'static str {
        match self {
            Target::Name => "the event name must be a string or null",
            Target::Unit => "the unit id must be a string, an integer or null",
            Target::Size => "the size must be a non-negative integer or null",
        }
    }
}

/// One member name in the tree of wanted paths.
#[derive(Debug)]
struct Node {
    key: Box<str>,
    /// Set when a wanted path ends here.
    target: Option<Target>,
    /// Set when a wanted path continues below this member.
    children: Vec<Node>,
    /// `$.a.b` of this member, for messages.
    json_path: Box<str>,
}

impl Node {
    fn insert(nodes: &mut Vec<Node>, segments: &[String], target: Target, parent_path: &str) -> Result<(), FieldError> {
        let (first, rest) = segments.split_first().expect("paths have at least one segment");
        let position = match nodes.iter().position(|node| *node.key == **first) {
            Some(position) => position,
            None => {
                nodes.push(Node {
                    key: first.as_str().into(),
                    target: None,
                    children: Vec::new(),
                    json_path: format!("{parent_path}.{first}").into(),
                });
                nodes.len() - 1
            }
        };
        let node = &mut nodes[position];
        if rest.is_empty() {
            if node.target.is_some() {
                return Err(FieldError::SameMember { json_path: node.json_path.to_string() });
            }
            node.target = Some(target);
            Ok(())
        } else {
            let path = node.json_path.clone();
            Node::insert(&mut node.children, rest, target, &path)
        }
    }
}

/// The wanted values of one line, borrowed from it where possible.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ScannedLine<'line> {
    /// The event name; `None` when absent.
    pub name: Option<Cow<'line, str>>,
    /// The unit id; `None` when absent.
    pub unit: Option<Cow<'line, str>>,
    /// The size field's value, when a size field is read and present.
    pub size: Option<u64>,
    /// Whether the top-level object has at least one member.
    pub has_members: bool,
}

/// Why a line is malformed: a message and the 1-based byte column it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// 1-based byte column in the line.
    pub column: usize,
    /// What is wrong, naming the JSON path when one applies.
    pub message: String,
}

/// Reads the name, unit and (optionally) size members of NDJSON lines.
#[derive(Debug)]
pub(crate) struct FieldScanner {
    roots: Vec<Node>,
}

impl FieldScanner {
    /// A scanner for these fields. Fails when two paths are the same member.
    pub(crate) fn new(fields: &FieldConfig) -> Result<Self, FieldError> {
        let mut roots = Vec::new();
        Node::insert(&mut roots, fields.name.segments(), Target::Name, "$")?;
        Node::insert(&mut roots, fields.unit.segments(), Target::Unit, "$")?;
        if let SizeSource::Field(size) = &fields.size {
            Node::insert(&mut roots, size.segments(), Target::Size, "$")?;
        }
        Ok(FieldScanner { roots })
    }

    /// Checks that `line` is one JSON object and reads the wanted members.
    pub(crate) fn scan<'line>(&self, line: &'line str) -> Result<ScannedLine<'line>, LineProblem> {
        let mut scanned = ScannedLine::default();
        let mut deserializer = serde_json::Deserializer::from_str(line);
        let visitor = ObjectVisitor { nodes: &self.roots, scanned: &mut scanned, top_level: true };
        let outcome = deserializer.deserialize_any(visitor).and_then(|()| deserializer.end());
        match outcome {
            Ok(()) => Ok(scanned),
            Err(error) => Err(LineProblem { column: error.column().max(1), message: describe(&error) }),
        }
    }
}

/// serde_json's message without its " at line 1 column N" suffix (the caller places it),
/// saying "invalid JSON" for syntax errors, whose bare text ("expected ident") is cryptic.
fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" at line ") {
        Some(index) => &text[..index],
        None => &text,
    };
    match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => format!("invalid JSON: {text}"),
        _ => text.to_owned(),
    }
}

/// Visits one object whose members may be wanted.
struct ObjectVisitor<'scan, 'line> {
    nodes: &'scan [Node],
    scanned: &'scan mut ScannedLine<'line>,
    top_level: bool,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if self.top_level {
                self.scanned.has_members = true;
                if RESERVED_MEMBERS.contains(&&*key) {
                    return Err(de::Error::custom(format!(
                        "$.{key} is written by the filter and must not be in its input"
                    )));
                }
            }
            match self.nodes.iter().find(|node| *node.key == *key) {
                Some(node) => map.next_value_seed(MemberSeed { node, scanned: &mut *self.scanned })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Reads the value of one wanted member.
struct MemberSeed<'scan, 'line> {
    node: &'scan Node,
    scanned: &'scan mut ScannedLine<'line>,
}

impl<'de> DeserializeSeed<'de> for MemberSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// The error for a wanted member of the wrong type, naming its path.
fn wrong_type<E: de::Error>(node: &Node, found: &str) -> E {
    match node.target {
        Some(target) => E::custom(format!("{}: {}, found {found}", node.json_path, target.expected())),
        None => E::custom(format!("{}: unexpected {found}", node.json_path)),
    }
}

impl<'de> MemberSeed<'_, 'de> {
    fn text(self, text: Cow<'de, str>) -> Result<(), &'static str> {
        match self.node.target {
            Some(Target::Name) => self.scanned.name = Some(text),
            Some(Target::Unit) => self.scanned.unit = Some(text),
            Some(Target::Size) => return Err("a string"),
            // A member on the way to a wanted path holds a scalar: the path is absent.
            None => {}
        }
        Ok(())
    }

    fn integer(self, value: impl fmt::Display, unsigned: Option<u64>) -> Result<(), &'static str> {
        match self.node.target {
            Some(Target::Name) => return Err("a number"),
            Some(Target::Unit) => self.scanned.unit = Some(Cow::Owned(value.to_string())),
            Some(Target::Size) => self.scanned.size = Some(unsigned.ok_or("a negative number")?),
            None => {}
        }
        Ok(())
    }

    /// Refuses a value no wanted member may hold; harmless on the way to a wanted path.
    fn other<E: de::Error>(self, found: &str) -> Result<(), E> {
        match self.node.target {
            Some(_) => Err(wrong_type(self.node, found)),
            None => Ok(()),
        }
    }
}

impl<'de> Visitor<'de> for MemberSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<(), E> {
        let node = self.node;
        self.text(Cow::Borrowed(value)).map_err(|found| wrong_type(node, found))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.visit_string(value.to_owned())
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<(), E> {
        let node = self.node;
        self.text(Cow::Owned(value)).map_err(|found| wrong_type(node, found))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        let node = self.node;
        self.integer(value, Some(value)).map_err(|found| wrong_type(node, found))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        let node = self.node;
        self.integer(value, u64::try_from(value).ok()).map_err(|found| wrong_type(node, found))
    }

    fn visit_f64<E: de::Error>(self, _value: f64) -> Result<(), E> {
        self.other("a number with a fraction or exponent")
    }

    fn visit_bool<E: de::Error>(self, _value: bool) -> Result<(), E> {
        self.other("a boolean")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        // null reads as absent, like a missing member.
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<(), A::Error> {
        if self.node.target.is_some() {
            return Err(wrong_type(self.node, "an array"));
        }
        while sequence.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        if self.node.target.is_some() && self.node.children.is_empty() {
            return Err(wrong_type(self.node, "an object"));
        }
        ObjectVisitor { nodes: &self.node.children, scanned: self.scanned, top_level: false }.visit_map(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner(name: &str, unit: &str, size: Option<&str>) -> FieldScanner {
        let size = size.map_or(SizeSource::Line, |path| SizeSource::Field(path.parse().unwrap()));
        FieldScanner::new(&FieldConfig { name: name.parse().unwrap(), unit: unit.parse().unwrap(), size }).unwrap()
    }

    #[test]
    fn reads_top_level_members_borrowed() {
        let line = r#"{"unit_id":"u-1","event":"a.b","n":[1,{"x":2}]}"#;
        let scanned = scanner("event", "unit_id", None).scan(line).unwrap();
        assert!(matches!(scanned.name, Some(Cow::Borrowed("a.b"))));
        assert!(matches!(scanned.unit, Some(Cow::Borrowed("u-1"))));
        assert!(scanned.has_members);
    }

    #[test]
    fn reads_nested_paths_and_integers() {
        let line = r#"{"event":{"name":"x\u0041"},"ctx":{"install_id":12345},"meta":{"size":300}}"#;
        let scanned = scanner("event.name", "ctx.install_id", Some("meta.size")).scan(line).unwrap();
        assert_eq!(scanned.name.as_deref(), Some("xA"));
        assert_eq!(scanned.unit.as_deref(), Some("12345"));
        assert_eq!(scanned.size, Some(300));
    }

    #[test]
    fn null_missing_and_scalar_parents_are_absent() {
        let scan = scanner("event.name", "unit_id", None);
        assert_eq!(scan.scan(r#"{"event":null,"unit_id":null}"#).unwrap().name, None);
        assert_eq!(scan.scan(r#"{"event":"flat"}"#).unwrap().name, None);
        assert_eq!(scan.scan("{}").unwrap(), ScannedLine::default());
    }

    #[test]
    fn last_duplicate_wins() {
        let scanned = scanner("event", "unit_id", None).scan(r#"{"event":"a","event":"b"}"#).unwrap();
        assert_eq!(scanned.name.as_deref(), Some("b"));
    }

    #[test]
    fn wrong_types_name_the_path_and_column() {
        let scan = scanner("event", "ctx.id", Some("size"));
        let problem = scan.scan(r#"{"event":7}"#).unwrap_err();
        assert_eq!(problem.message, "$.event: the event name must be a string or null, found a number");
        assert_eq!(problem.column, 10);
        let problem = scan.scan(r#"{"ctx":{"id":1.5}}"#).unwrap_err();
        assert!(problem.message.starts_with("$.ctx.id: the unit id must be"), "{}", problem.message);
        assert!(scan.scan(r#"{"size":-1}"#).unwrap_err().message.contains("found a negative number"));
        assert!(scan.scan(r#"{"event":["a"]}"#).unwrap_err().message.contains("found an array"));
    }

    #[test]
    fn malformed_lines_give_a_column() {
        let scan = scanner("event", "unit_id", None);
        let problem = scan.scan(r#"{"event":"a",}"#).unwrap_err();
        assert_eq!(problem.column, 14, "{problem:?}");
        assert!(scan.scan(r#"["not an object"]"#).unwrap_err().message.contains("a JSON object"));
        assert!(scan.scan(r#"{"a":1} {"b":2}"#).unwrap_err().message.contains("trailing characters"));
        assert!(scan.scan(r#"{"_tg_priority":"P0"}"#).unwrap_err().message.contains("written by the filter"));
    }

    #[test]
    fn paths_refuse_empty_segments_and_clashes() {
        assert!("a..b".parse::<FieldPath>().is_err());
        assert!("".parse::<FieldPath>().is_err());
        let same: FieldPath = "event".parse().unwrap();
        let clash = FieldConfig { name: same.clone(), unit: same, size: SizeSource::Line };
        assert_eq!(FieldScanner::new(&clash).unwrap_err(), FieldError::SameMember { json_path: "$.event".to_owned() });
    }

    #[test]
    fn size_sources_parse() {
        assert!(matches!("line".parse::<SizeSource>(), Ok(SizeSource::Line)));
        assert!(matches!("field:meta.bytes".parse::<SizeSource>(), Ok(SizeSource::Field(_))));
        assert!("bytes".parse::<SizeSource>().is_err());
        assert!("field:".parse::<SizeSource>().is_err());
    }
}
