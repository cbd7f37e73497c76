//! Standard output for every command, in one place.
//!
//! `println!` panics when stdout is a pipe whose reader has gone (`trackgate validate … | head
//! -1`), so commands write through [`out!`] and [`outln!`] (or [`Output`] for many lines), which
//! turn a failed write into a [`Failure`]: a closed pipe (`EPIPE`) ends the command quietly with
//! exit code 141 (128 + SIGPIPE, what a shell reports for a writer stopped by a closed pipe, so
//! `set -o pipefail` scripts never read a cut-short run as success); any other write error is
//! exit 2 with its message.

use std::fmt;
use std::io::{self, BufWriter, Write};

use crate::Failure;

/// Exit code of a command whose stdout reader closed the pipe.
pub const CLOSED_PIPE_EXIT: u8 = 141;

/// Maps a failed write to stdout to the command's failure.
pub fn write_failure(error: &io::Error) -> Failure {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Failure { code: CLOSED_PIPE_EXIT, message: String::new() }
    } else {
        Failure::error(format!("cannot write stdout: {error}"))
    }
}

/// Writes formatted text to stdout (see [`out!`]).
pub fn write_stdout(arguments: fmt::Arguments<'_>) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    stdout.write_fmt(arguments).and_then(|()| stdout.flush()).map_err(|error| write_failure(&error))
}

/// A buffered, locked stdout for commands that print many lines; call [`Output::finish`].
pub struct Output {
    writer: BufWriter<io::StdoutLock<'static>>,
}

impl Output {
    /// Locks stdout for this command.
    pub fn new() -> Self {
        Output { writer: BufWriter::with_capacity(64 * 1024, io::stdout().lock()) }
    }

    /// Writes one line.
    pub fn line(&mut self, arguments: fmt::Arguments<'_>) -> Result<(), Failure> {
        self.writer
            .write_fmt(arguments)
            .and_then(|()| self.writer.write_all(b"\n"))
            .map_err(|error| write_failure(&error))
    }

    /// Flushes what is buffered.
    pub fn finish(mut self) -> Result<(), Failure> {
        self.writer.flush().map_err(|error| write_failure(&error))
    }
}

/// `print!` that returns from the calling function with a [`Failure`] instead of panicking.
macro_rules! out {
    ($($argument:tt)*) => {
        $crate::output::write_stdout(format_args!($($argument)*))?
    };
}

/// `println!` that returns from the calling function with a [`Failure`] instead of panicking.
macro_rules! outln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))?
    };
    ($($argument:tt)*) => {{
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($argument)*)))?
    }};
}
