//! Event-name rules: 1 to 128 bytes of ASCII letters, digits and `_ . - :`.
//!
//! The check is a table lookup per byte; it never allocates and is shared by plan validation and
//! the engine's slow path for names not in the plan.

/// The longest event name accepted, in bytes.
pub const MAX_EVENT_NAME_BYTES: usize = 128;

const fn allowed_table() -> [bool; 256] {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let c = byte as u8;
        table[byte] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b':');
        byte += 1;
    }
    table
}

static ALLOWED: [bool; 256] = allowed_table();

/// Why a string is not a valid event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_EVENT_NAME_BYTES`].
    TooLong {
        /// Its length in bytes.
        length: usize,
    },
    /// A byte outside the allowed set, at this byte offset.
    BadCharacter {
        /// Byte offset of the first offending byte.
        offset: usize,
    },
}

impl std::fmt::Display for NameProblem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameProblem::Empty => write!(formatter, "event name is empty"),
            NameProblem::TooLong { length } => {
                write!(formatter, "event name is {length} bytes long; at most {MAX_EVENT_NAME_BYTES} are allowed")
            }
            NameProblem::BadCharacter { offset } => write!(
                formatter,
                "event name has a character other than ASCII letters, digits, '_', '.', '-', ':' at byte {offset}"
            ),
        }
    }
}

/// Checks an event name against the naming rules.
pub fn check_event_name(name: &str) -> Result<(), NameProblem> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Err(NameProblem::Empty);
    }
    if bytes.len() > MAX_EVENT_NAME_BYTES {
        return Err(NameProblem::TooLong { length: bytes.len() });
    }
    match bytes.iter().position(|&byte| !ALLOWED[usize::from(byte)]) {
        Some(offset) => Err(NameProblem::BadCharacter { offset }),
        None => Ok(()),
    }
}

/// Whether `name` is a valid event name.
pub fn is_valid_event_name(name: &str) -> bool {
    check_event_name(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet() {
        assert!(is_valid_event_name("checkout.completed"));
        assert!(is_valid_event_name("a:B-9_z.x"));
        assert!(is_valid_event_name(&"x".repeat(128)));
    }

    #[test]
    fn rejects_with_the_place() {
        assert_eq!(check_event_name(""), Err(NameProblem::Empty));
        assert_eq!(check_event_name(&"x".repeat(129)), Err(NameProblem::TooLong { length: 129 }));
        assert_eq!(check_event_name("ab cd"), Err(NameProblem::BadCharacter { offset: 2 }));
        assert_eq!(check_event_name("café"), Err(NameProblem::BadCharacter { offset: 3 }));
        assert_eq!(check_event_name("a/b"), Err(NameProblem::BadCharacter { offset: 1 }));
    }
}
