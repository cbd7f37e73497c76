//! Splitting SQL files into statements, and a token scan for what the parser cannot read.
//!
//! Owns [`split_statements`]: a file becomes statements at top-level `;` (quotes, backticks and
//! comments respected), each with its 1-based line and column, so one bad statement never hides
//! the others. Owns [`scan_tables`], the fallback for statements the parser refuses or that are
//! too large: it finds the written table (`INSERT … TABLE x`, `CREATE … TABLE|VIEW x`) and the
//! tables after `FROM` and `JOIN`, so such a statement can still be counted conservatively.

/// One statement of a file: its text and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece<'text> {
    /// The statement without its terminating `;`.
    pub text: &'text str,
    /// 1-based line of its first non-blank character.
    pub line: u32,
    /// 1-based column of its first non-blank character.
    pub column: u32,
    /// Deepest parenthesis nesting.
    pub depth: u32,
}

/// Splits `text` at top-level semicolons; blank and comment-only statements are skipped.
pub fn split_statements(text: &str) -> Vec<Piece<'_>> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut index = 0;
    let mut depth = 0u32;
    let mut max_depth = 0u32;
    let mut has_code = false;
    let mut first_code: Option<usize> = None;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b'\'' | b'"' | b'`' => {
                first_code.get_or_insert(index);
                has_code = true;
                index += 1;
                while index < bytes.len() && bytes[index] != byte {
                    if bytes[index] == b'\\' {
                        index += 1;
                    }
                    index += 1;
                }
            }
            b'-' if bytes.get(index + 1) == Some(&b'-') => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
                continue;
            }
            b'/' if bytes.get(index + 1) == Some(&b'*') => {
                index += 2;
                while index + 1 < bytes.len() && !(bytes[index] == b'*' && bytes[index + 1] == b'/') {
                    index += 1;
                }
                index += 1;
            }
            b'(' => {
                first_code.get_or_insert(index);
                has_code = true;
                depth += 1;
                max_depth = max_depth.max(depth);
            }
            b')' => {
                depth = depth.saturating_sub(1);
            }
            b';' => {
                if has_code {
                    pieces.push(piece(text, start, first_code.unwrap_or(start), index, max_depth));
                }
                start = index + 1;
                has_code = false;
                first_code = None;
                depth = 0;
                max_depth = 0;
            }
            byte if byte.is_ascii_whitespace() => {}
            _ => {
                first_code.get_or_insert(index);
                has_code = true;
            }
        }
        index += 1;
    }
    if has_code {
        pieces.push(piece(text, start, first_code.unwrap_or(start), text.len(), max_depth));
    }
    pieces
}

fn piece(text: &str, start: usize, code: usize, end: usize, depth: u32) -> Piece<'_> {
    let (line, column) = line_column(text, code);
    let end = end.min(text.len());
    let _ = start;
    Piece { text: &text[code..end], line, column, depth }
}

/// 1-based line and column of byte `offset`.
pub fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|byte| **byte == b'\n').count() as u32 + 1;
    let line_start = before.iter().rposition(|byte| *byte == b'\n').map_or(0, |index| index + 1);
    (line, (offset - line_start) as u32 + 1)
}

/// What a token scan finds in a statement the parser could not read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    /// The table or view written, if any (lower case).
    pub target: Option<String>,
    /// Tables named after `FROM` or `JOIN` (lower case, deduplicated).
    pub sources: Vec<String>,
}

/// Finds written and read table names by keywords alone (no grammar).
pub fn scan_tables(text: &str) -> Scanned {
    let mut words = Vec::new();
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'\'' || byte == b'"' {
            index += 1;
            while index < bytes.len() && bytes[index] != byte {
                index += 1;
            }
            words.push(String::new());
            index += 1;
        } else if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'`' {
            let start = index;
            while index < bytes.len()
                && (bytes[index].is_ascii_alphanumeric() || matches!(bytes[index], b'_' | b'.' | b'`'))
            {
                index += 1;
            }
            words.push(text[start..index].replace('`', "").to_ascii_lowercase());
        } else {
            if byte == b'(' {
                words.push("(".to_owned());
            }
            index += 1;
        }
    }
    let mut scanned = Scanned::default();
    for (position, word) in words.iter().enumerate() {
        let next = words.get(position + 1).map(String::as_str);
        match word.as_str() {
            "insert" | "create" if scanned.target.is_none() => {
                let name = words[position + 1..]
                    .iter()
                    .take(8)
                    .find(|word| {
                        !matches!(
                            word.as_str(),
                            "into"
                                | "overwrite"
                                | "table"
                                | "view"
                                | "or"
                                | "replace"
                                | "if"
                                | "not"
                                | "exists"
                                | "temporary"
                                | "external"
                                | "materialized"
                        )
                    })
                    .cloned();
                scanned.target = name.filter(|name| is_name(name));
            }
            "from" | "join" => {
                if let Some(name) = next.filter(|name| is_name(name) && !is_keyword(name)) {
                    if !scanned.sources.iter().any(|known| known == name) {
                        scanned.sources.push(name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    scanned
}

fn is_name(word: &str) -> bool {
    !word.is_empty() && word != "(" && !word.as_bytes()[0].is_ascii_digit()
}

fn is_keyword(word: &str) -> bool {
    matches!(word, "select" | "with" | "lateral" | "unnest" | "values")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_semicolons_with_places() {
        let text = "-- header; not a split\nSELECT 'a;b' FROM t;\n\n  /* c; */ INSERT INTO x\nSELECT (1);\n;\n";
        let pieces = split_statements(text);
        assert_eq!(pieces.len(), 2);
        assert_eq!((pieces[0].line, pieces[0].column), (2, 1));
        assert!(pieces[0].text.contains("'a;b'"));
        assert_eq!((pieces[1].line, pieces[1].column), (4, 12));
        assert!(pieces[1].text.starts_with("INSERT"));
        assert_eq!(pieces[1].depth, 1);
    }

    #[test]
    fn scans_targets_and_sources() {
        let scanned =
            scan_tables("INSERT OVERWRITE TABLE dwd.x PARTITION (dt='1') SELECT * FROM ods.log a JOIN `dim`.`u` b");
        assert_eq!(scanned.target.as_deref(), Some("dwd.x"));
        assert_eq!(scanned.sources, ["ods.log", "dim.u"]);
        let scanned = scan_tables("select weird(( from t1");
        assert_eq!(scanned.target, None);
        assert_eq!(scanned.sources, ["t1"]);
        assert_eq!(scan_tables("SELECT * FROM (SELECT 1)").sources, Vec::<String>::new());
    }
}
