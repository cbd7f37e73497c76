//! Where NDJSON comes from: a file or stdin, plain or gzip, cut into blocks of whole lines.
//!
//! Gzip is recognised by its magic bytes (`1f 8b`), not by the file name, and concatenated gzip
//! members (as `cat a.gz b.gz` makes) are read as one stream. [`BlockReader`] hands out blocks
//! of about [`BLOCK_BYTES`] that always end at a line boundary (or at the end of input), so
//! blocks can be filtered independently on worker threads; it reuses the buffers it is given
//! back. Everything here is blocking I/O on the calling thread.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

/// Target size of one block: large enough to amortise hand-offs between threads, small enough
/// that two threads stay busy on modest inputs.
pub const BLOCK_BYTES: usize = 512 * 1024;

/// The longest line accepted. Longer lines stop the run (they cannot be events).
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` (or stdin for `None` and `-`), decompressing when it starts with gzip's magic.
pub fn open_input(path: Option<&Path>) -> io::Result<Box<dyn Read + Send>> {
    let mut raw: Box<dyn Read + Send> = match path {
        Some(path) if path != Path::new("-") => Box::new(File::open(path)?),
        _ => Box::new(io::stdin()),
    };
    // Read the first two bytes by hand: one read of a pipe may return a single byte.
    let mut head = Vec::with_capacity(2);
    (&mut raw).take(2).read_to_end(&mut head)?;
    let is_gzip = head == GZIP_MAGIC;
    let whole = Cursor::new(head).chain(raw);
    Ok(if is_gzip {
        Box::new(MultiGzDecoder::new(io::BufReader::with_capacity(256 * 1024, whole)))
    } else {
        Box::new(whole)
    })
}

/// Cuts a byte stream into blocks of whole lines.
pub struct BlockReader<R> {
    input: R,
    /// The start of a line that did not fit in the previous block.
    carry: Vec<u8>,
    /// Bytes handed out so far, for messages about long lines.
    offset: u64,
    finished: bool,
}

impl<R: Read> BlockReader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> Self {
        BlockReader { input, carry: Vec::new(), offset: 0, finished: false }
    }

    /// Appends up to `want` bytes; fewer means the input has ended.
    fn read_more(&mut self, buffer: &mut Vec<u8>, want: usize) -> io::Result<()> {
        let read = (&mut self.input).take(want as u64).read_to_end(buffer)?;
        self.finished = read < want;
        Ok(())
    }

    /// The next block of whole lines, filled into `buffer` (cleared first), or `None` at the end.
    /// The last line of the input may lack its newline.
    pub fn next_block(&mut self, mut buffer: Vec<u8>) -> io::Result<Option<Vec<u8>>> {
        buffer.clear();
        buffer.append(&mut self.carry);
        if !self.finished && buffer.len() < BLOCK_BYTES {
            let want = BLOCK_BYTES - buffer.len();
            self.read_more(&mut buffer, want)?;
        }
        let mut searched = 0;
        let cut = loop {
            if let Some(position) = memchr::memrchr(b'\n', &buffer[searched..]) {
                break searched + position + 1;
            }
            if self.finished {
                break buffer.len();
            }
            if buffer.len() > MAX_LINE_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "a line starting at byte {} is longer than {} MiB; is this NDJSON?",
                        self.offset,
                        MAX_LINE_BYTES >> 20
                    ),
                ));
            }
            // One line is longer than a block: read on until it ends.
            searched = buffer.len();
            self.read_more(&mut buffer, BLOCK_BYTES)?;
        };
        if buffer.is_empty() {
            return Ok(None);
        }
        self.carry.extend_from_slice(&buffer[cut..]);
        buffer.truncate(cut);
        self.offset += cut as u64;
        Ok(Some(buffer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(input: &[u8]) -> Vec<Vec<u8>> {
        let mut reader = BlockReader::new(input);
        let mut found = Vec::new();
        while let Some(block) = reader.next_block(Vec::new()).unwrap() {
            found.push(block);
        }
        found
    }

    #[test]
    fn blocks_end_at_line_boundaries_and_lose_nothing() {
        let mut input = Vec::new();
        for index in 0..100_000 {
            input.extend_from_slice(format!("{{\"n\":{index}}}\n").as_bytes());
        }
        input.extend_from_slice(b"{\"last\":true}");
        let found = blocks(&input);
        assert!(found.len() > 1);
        for block in &found[..found.len() - 1] {
            assert_eq!(block.last(), Some(&b'\n'));
        }
        assert_eq!(found.concat(), input);
    }

    #[test]
    fn a_line_longer_than_a_block_stays_whole() {
        let long = vec![b'x'; BLOCK_BYTES * 3 + 7];
        let mut input = long.clone();
        input.extend_from_slice(b"\nshort\n");
        let found = blocks(&input);
        assert_eq!(found.concat(), input);
        assert!(found[0].len() > BLOCK_BYTES * 3);
    }

    #[test]
    fn empty_input_has_no_blocks() {
        assert!(blocks(b"").is_empty());
    }

    #[test]
    fn gzip_is_detected_by_magic_bytes() {
        use std::io::Write;
        let directory = std::env::temp_dir().join(format!("trackgate-input-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("events.data");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(b"{\"a\":1}\n").unwrap();
        let mut twice = encoder.finish().unwrap();
        twice.extend_from_within(..);
        std::fs::write(&path, &twice).unwrap();
        let mut text = String::new();
        open_input(Some(&path)).unwrap().read_to_string(&mut text).unwrap();
        std::fs::remove_dir_all(&directory).unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"a\":1}\n");
    }
}
