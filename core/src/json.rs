//! A small JSON reader that keeps where every value and key stood in the source.
//!
//! Plan validation needs to name the line and column of each problem, see duplicate keys
//! (which `serde_json` silently merges) and read numbers as their exact decimal text (so rates are
//! never rounded through a float). This reader does only that: it builds a tree of spanned values
//! with a nesting limit, and is used off the hot path (plan loading) only.

/// Deepest nesting accepted, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// A JSON value with the byte offset where it starts.
#[derive(Debug)]
pub(crate) struct Node<'source> {
    pub(crate) offset: usize,
    pub(crate) value: Value<'source>,
}

/// An object member: key (with its offset) and value.
#[derive(Debug)]
pub(crate) struct Member<'source> {
    pub(crate) key: String,
    pub(crate) key_offset: usize,
    pub(crate) value: Node<'source>,
}

#[derive(Debug)]
pub(crate) enum Value<'source> {
    Null,
    Bool(bool),
    /// The number's exact source text, already checked against the JSON grammar.
    Number(&'source str),
    String(String),
    /// Plans hold no arrays yet; they are still parsed so malformed ones are reported.
    #[allow(dead_code)]
    Array(Vec<Node<'source>>),
    /// Members in source order, duplicates included.
    Object(Vec<Member<'source>>),
}

impl Value<'_> {
    /// The JSON type name, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// A syntax error (or a size limit reached while reading) at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) offset: usize,
    /// The JSON path the problem belongs to: `$` for syntax, `$.events` for too many events.
    pub(crate) path: &'static str,
    pub(crate) message: String,
}

/// Parses one JSON document (surrounding white space allowed, nothing else after it).
///
/// The object under the top-level key `events` may hold at most `max_events` members: reading
/// stops at the first one beyond, before the rest of the document is built, so an oversized
/// plan is refused without holding a tree for all of it.
pub(crate) fn parse(source: &str, max_events: usize) -> Result<Node<'_>, SyntaxError> {
    let mut reader = Reader { source, bytes: source.as_bytes(), position: 0 };
    reader.skip_white_space();
    let node = reader.value(0, Some(max_events))?;
    reader.skip_white_space();
    if reader.position != reader.bytes.len() {
        return Err(reader.error("unexpected data after the JSON document"));
    }
    Ok(node)
}

/// Where the first member of the top-level `events` object beyond `limit` starts (its key's
/// opening quote), found by one pass over the bytes that allocates nothing: it follows only
/// strings and nesting. `None` when there are at most `limit`, or when the text is not shaped
/// so the pass can tell (an escaped `events` key, broken JSON); [`parse`] checks the limit again
/// as it reads, so the limit holds either way. This lets a plan with too many events be refused
/// before a tree is built for any of it.
pub(crate) fn first_event_beyond(source: &str, limit: usize) -> Option<usize> {
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut index = 0;
    // The last string seen: where its opening quote is, and its raw content.
    let mut last_string = (0, &b""[..]);
    // At depth 1: the colon after the key `events` was just read, its value comes next.
    let mut events_value_next = false;
    let mut in_events = false;
    let mut members = 0usize;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b'"' => {
                let start = index;
                index += 1;
                while index < bytes.len() && bytes[index] != b'"' {
                    index += if bytes[index] == b'\\' { 2 } else { 1 };
                }
                last_string = (start, &bytes[start + 1..index.min(bytes.len())]);
                events_value_next = false;
            }
            b':' if depth == 1 => events_value_next = last_string.1 == b"events",
            b':' if depth == 2 && in_events => {
                members += 1;
                if members > limit {
                    return Some(last_string.0);
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth == 2 {
                    in_events = byte == b'{' && events_value_next;
                }
                events_value_next = false;
            }
            b'}' | b']' => {
                if depth == 2 {
                    in_events = false;
                }
                depth = depth.saturating_sub(1);
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => events_value_next = false,
        }
        index += 1;
    }
    None
}

struct Reader<'source> {
    source: &'source str,
    bytes: &'source [u8],
    position: usize,
}

impl<'source> Reader<'source> {
    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError { offset: self.position, path: "$", message: message.into() }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn skip_white_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.position += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), SyntaxError> {
        if self.peek() == Some(byte) {
            self.position += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", byte as char)))
        }
    }

    fn unexpected(&self, wanted: &str) -> SyntaxError {
        match self.source[self.position..].chars().next() {
            None => self.error(format!("unexpected end of input; expected {wanted}")),
            Some(found) => self.error(format!("expected {wanted}, found {found:?}")),
        }
    }

    /// A value; `max_events` is passed down from the root so only `$.events` is limited.
    fn value(&mut self, depth: usize, max_events: Option<usize>) -> Result<Node<'source>, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let offset = self.position;
        let value = match self.peek() {
            Some(b'{') => self.object(depth, max_events)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            _ => return Err(self.unexpected("a JSON value")),
        };
        Ok(Node { offset, value })
    }

    fn literal(&mut self, word: &str, value: Value<'source>) -> Result<Value<'source>, SyntaxError> {
        if self.bytes[self.position..].starts_with(word.as_bytes()) {
            self.position += word.len();
            Ok(value)
        } else {
            Err(self.unexpected("a JSON value"))
        }
    }

    /// An object; at depth 0 the member `events` may hold at most `max_events` members, and
    /// at depth 1 (that member's value) `max_events` is its limit.
    fn object(&mut self, depth: usize, max_events: Option<usize>) -> Result<Value<'source>, SyntaxError> {
        self.expect(b'{')?;
        let mut members = Vec::new();
        self.skip_white_space();
        if self.peek() == Some(b'}') {
            self.position += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_white_space();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a string key"));
            }
            let key_offset = self.position;
            if depth == 1 {
                if let Some(limit) = max_events.filter(|&limit| members.len() >= limit) {
                    return Err(SyntaxError {
                        offset: key_offset,
                        path: "$.events",
                        message: format!("more than {limit} events; at most {limit} are allowed"),
                    });
                }
            }
            let key = self.string()?;
            self.skip_white_space();
            self.expect(b':')?;
            self.skip_white_space();
            let limit_below = if depth == 0 && key == "events" { max_events } else { None };
            let value = self.value(depth + 1, limit_below)?;
            members.push(Member { key, key_offset, value });
            self.skip_white_space();
            match self.peek() {
                Some(b',') => self.position += 1,
                Some(b'}') => {
                    self.position += 1;
                    // Most objects are small: do not keep the growth room of a plan's million.
                    members.shrink_to_fit();
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.unexpected("',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value<'source>, SyntaxError> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_white_space();
        if self.peek() == Some(b']') {
            self.position += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_white_space();
            items.push(self.value(depth + 1, None)?);
            self.skip_white_space();
            match self.peek() {
                Some(b',') => self.position += 1,
                Some(b']') => {
                    self.position += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.unexpected("',' or ']'")),
            }
        }
    }

    fn number(&mut self) -> Result<&'source str, SyntaxError> {
        let start = self.position;
        if self.peek() == Some(b'-') {
            self.position += 1;
        }
        match self.peek() {
            Some(b'0') => self.position += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.unexpected("a digit")),
        }
        if self.peek() == Some(b'.') {
            self.position += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.unexpected("a digit after the decimal point"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.position += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.position += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.unexpected("a digit in the exponent"));
            }
            self.digits();
        }
        Ok(&self.source[start..self.position])
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.position += 1;
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.expect(b'"')?;
        let mut text = String::new();
        loop {
            let run_start = self.position;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.position += 1;
            }
            text.push_str(&self.source[run_start..self.position]);
            match self.peek() {
                Some(b'"') => {
                    self.position += 1;
                    return Ok(text);
                }
                Some(b'\\') => {
                    self.position += 1;
                    self.escape(&mut text)?;
                }
                Some(_) => return Err(self.error("control character inside a string; escape it")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    fn escape(&mut self, text: &mut String) -> Result<(), SyntaxError> {
        let Some(byte) = self.peek() else {
            return Err(self.error("unterminated escape sequence"));
        };
        self.position += 1;
        let decoded = match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => {
                self.position -= 1;
                return Err(self.error(format!("invalid escape '\\{}'", byte as char)));
            }
        };
        text.push(decoded);
        Ok(())
    }

    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) {
            if !self.bytes[self.position..].starts_with(b"\\u") {
                return Err(self.error("unpaired UTF-16 surrogate in \\u escape"));
            }
            self.position += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error("invalid low surrogate in \\u escape"));
            }
            let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
            return char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"));
        }
        char::from_u32(first).ok_or_else(|| self.error("unpaired UTF-16 surrogate in \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self.bytes.get(self.position..self.position + 4);
        let value = digits
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .filter(|text| text.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .and_then(|text| u32::from_str_radix(text, 16).ok());
        match value {
            Some(value) => {
                self.position += 4;
                Ok(value)
            }
            None => Err(self.error("expected four hex digits after \\u")),
        }
    }
}

/// Turns byte offsets into 1-based line and column (columns count characters, not bytes).
///
/// Each lookup costs a binary search plus a scan of less than [`COLUMN_BLOCK`] bytes, whatever
/// the line's length: the index keeps, every `COLUMN_BLOCK` bytes, how many characters start
/// before that point, so a column is the difference of two such counts. A one-line plan with
/// hundreds of thousands of problems is placed in linear time.
pub(crate) struct LineIndex<'source> {
    source: &'source str,
    line_starts: Vec<usize>,
    /// `block_chars[i]`: characters that start in `source[..i * COLUMN_BLOCK]`.
    block_chars: Vec<usize>,
}

/// Bytes between two character-count checkpoints of a [`LineIndex`].
pub(crate) const COLUMN_BLOCK: usize = 64;

/// Whether a byte starts a character (is not a UTF-8 continuation byte).
fn starts_character(byte: u8) -> bool {
    byte & 0xC0 != 0x80
}

impl<'source> LineIndex<'source> {
    /// Indexes `source` in one pass.
    pub(crate) fn new(source: &'source str) -> Self {
        let bytes = source.as_bytes();
        let mut line_starts = vec![0];
        line_starts.extend(bytes.iter().enumerate().filter(|(_, byte)| **byte == b'\n').map(|(index, _)| index + 1));
        let mut block_chars = Vec::with_capacity(bytes.len() / COLUMN_BLOCK + 1);
        let mut characters = 0;
        block_chars.push(0);
        for block in bytes.chunks(COLUMN_BLOCK) {
            characters += block.iter().filter(|byte| starts_character(**byte)).count();
            block_chars.push(characters);
        }
        LineIndex { source, line_starts, block_chars }
    }

    /// The 1-based line and column of a byte offset (clamped to the source's length). A column
    /// counts the characters before the offset on its line; an offset inside a character counts
    /// bytes instead.
    pub(crate) fn line_column(&self, offset: usize) -> (u32, u32) {
        let (line, column, _) = self.line_column_and_cost(offset);
        (line, column)
    }

    /// [`line_column`](Self::line_column), plus how many source bytes the lookup scanned (at
    /// most `2 * COLUMN_BLOCK`); tests use it to check the cost does not grow with the line.
    #[doc(hidden)]
    pub(crate) fn line_column_and_cost(&self, offset: usize) -> (u32, u32, usize) {
        let offset = offset.min(self.source.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let (column, scanned) = if self.source.is_char_boundary(offset) {
            let (before_offset, scanned_offset) = self.characters_before(offset);
            let (before_start, scanned_start) = self.characters_before(start);
            (before_offset - before_start, scanned_offset + scanned_start)
        } else {
            (offset - start, 0)
        };
        (line as u32 + 1, column as u32 + 1, scanned)
    }

    /// Characters that start before `offset`, and the bytes scanned to count them.
    fn characters_before(&self, offset: usize) -> (usize, usize) {
        let block = offset / COLUMN_BLOCK;
        let from = block * COLUMN_BLOCK;
        let tail = &self.source.as_bytes()[from..offset];
        (self.block_chars[block] + tail.iter().filter(|byte| starts_character(**byte)).count(), tail.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition of a position: 1-based line, and characters before the offset on its line.
    fn reference(source: &str, offset: usize) -> (u32, u32) {
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        (line as u32, before[line_start..].chars().count() as u32 + 1)
    }

    #[test]
    fn every_offset_of_a_mixed_text_matches_the_definition() {
        let source = "ab\u{e9}c\n\u{1F600}x y\n\n\u{4E2D}\u{6587}".repeat(40);
        let index = LineIndex::new(&source);
        for offset in (0..=source.len()).filter(|&offset| source.is_char_boundary(offset)) {
            assert_eq!(index.line_column(offset), reference(&source, offset), "offset {offset}");
        }
    }

    #[test]
    fn a_lookup_scans_a_bounded_number_of_bytes_on_a_long_line() {
        // 1.5 MB on one line, with multi-byte characters throughout.
        let source = "{\"k\": \"\u{e9}\u{e9}\u{e9}\"} ".repeat(100_000);
        let index = LineIndex::new(&source);
        let mut total_scanned = 0;
        let mut lookups = 0;
        for offset in (0..source.len()).step_by(997).filter(|&offset| source.is_char_boundary(offset)) {
            let (line, column, scanned) = index.line_column_and_cost(offset);
            assert_eq!(line, 1);
            assert!(scanned < 2 * COLUMN_BLOCK, "offset {offset} scanned {scanned} bytes");
            if offset % (997 * 50) == 0 {
                assert_eq!((line, column), reference(&source, offset));
            }
            total_scanned += scanned;
            lookups += 1;
        }
        // Quadratic placing would scan about half the line per lookup.
        assert!(total_scanned < lookups * 2 * COLUMN_BLOCK);
    }

    fn parse_any(source: &str) -> Result<Node<'_>, SyntaxError> {
        parse(source, usize::MAX)
    }

    #[test]
    fn stops_at_the_first_event_beyond_the_limit() {
        let source = r#"{"events": {"a": {}, "b": {}, "c": {"x": [}}, "other": {"a": 1, "b": 2, "c": 3}}"#;
        let error = parse(source, 2).unwrap_err();
        assert_eq!((error.offset, error.path), (source.find("\"c\"").unwrap(), "$.events"));
        assert!(error.message.contains("more than 2 events"), "{}", error.message);
        assert!(parse(r#"{"events": {"a": {}, "b": {}}, "other": {"a": 1, "b": 2, "c": 3}}"#, 2).is_ok());
        assert!(parse(r#"{"x": {"events": {"a": 1, "b": 2, "c": 3}}}"#, 2).is_ok());
    }

    #[test]
    fn the_pre_scan_finds_the_first_event_beyond_the_limit() {
        let source =
            r#"{"x": {"events": {"a": 1, "b": 2, "c": 3}}, "events": {"a\"": ":", "b": [1, {"c": 2}], "c": {}}}"#;
        assert_eq!(first_event_beyond(source, 3), None);
        assert_eq!(first_event_beyond(source, 2), Some(source.rfind("\"c\"").unwrap()));
        assert_eq!(first_event_beyond(r#"{"events": 1, "y": {"a": 1, "b": 2}}"#, 1), None);
        assert_eq!(first_event_beyond(r#"{"events": {"a": 1, "b": "#, 1), Some(20));
        assert_eq!(first_event_beyond("\"", 0), None);
    }

    #[test]
    fn keeps_offsets_duplicates_and_number_text() {
        let node = parse_any("{\"a\": 0.125, \"a\": [true, null, \"x\\u00e9\\ud83d\\ude00\"]}").unwrap();
        let Value::Object(members) = node.value else { panic!("not an object") };
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].key_offset, 1);
        assert!(matches!(members[0].value.value, Value::Number("0.125")));
        let Value::Array(items) = &members[1].value.value else { panic!("not an array") };
        assert!(matches!(&items[2].value, Value::String(text) if text == "xé😀"));
    }

    #[test]
    fn reports_syntax_errors_with_offsets() {
        assert_eq!(parse_any("{\"a\" 1}").unwrap_err().offset, 5);
        assert_eq!(parse_any("[1,]").unwrap_err().offset, 3);
        assert_eq!(parse_any("01").unwrap_err().offset, 1);
        assert!(parse_any("\"\\ud800\"").is_err());
        assert!(parse_any(&"[".repeat(100)).unwrap_err().message.contains("nesting"));
        assert!(parse_any("{} x").unwrap_err().message.contains("after"));
        assert!(parse_any("").unwrap_err().message.contains("end of input"));
    }

    #[test]
    fn line_and_column_count_characters() {
        let source = "{\n  \"é\": x\n}";
        let index = LineIndex::new(source);
        let offset = source.find('x').unwrap();
        assert_eq!(index.line_column(offset), (2, 8));
        assert_eq!(index.line_column(0), (1, 1));
        assert_eq!(index.line_column(source.len() + 5), (3, 2));
        // Inside a character: bytes, as before the index kept character counts.
        assert_eq!(index.line_column(source.find('é').unwrap() + 1), (2, 5));
    }
}
