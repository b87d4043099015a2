//! Reading one user file (a pipeline, a stack or a template override) into text.
//!
//! Only regular files are opened (a FIFO would block, a device never ends), at most
//! [`MAX_FILE_BYTES`] are read, the bytes must be UTF-8 (the first invalid byte is reported
//! with its line and column), and `\r\n` line ends become `\n`, so a CRLF checkout yields the
//! same strings, cache keys and object names as an LF one.

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use super::{LoadError, display_path};

/// The largest pipeline or stack file mlk reads: far above any real one, small enough that a
/// wrong path cannot exhaust memory.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// A file that could not be read: the text diagnostics point into (the file as far as it
/// could be read, or empty) and the problem.
pub(super) type Unread = (String, LoadError);

/// Reads another user file (a template override) by the same rules; the problem is not
/// located, since only the loader registers sources.
pub fn read_file(path: &Path) -> Result<String, LoadError> {
    read(path).map_err(|(_, e)| e)
}

/// Reads `path` as described in the module documentation.
pub(super) fn read(path: &Path) -> Result<String, Unread> {
    let meta = fs::metadata(path).map_err(|e| (String::new(), io_error(path, &e)))?;
    if !meta.is_file() {
        return Err((
            String::new(),
            LoadError::NotAFile {
                path: display_path(path),
                kind: kind_of(&meta.file_type()),
            },
        ));
    }
    let file = File::open(path).map_err(|e| (String::new(), io_error(path, &e)))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| (String::new(), io_error(path, &e)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err((
            String::new(),
            LoadError::TooLarge {
                path: display_path(path),
                limit_mib: MAX_FILE_BYTES >> 20,
            },
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let byte = e.as_bytes().get(at).copied().unwrap_or_default();
        // The lossy text equals the file up to `at`, where U+FFFD (3 bytes) stands in.
        let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
        let err = LoadError::NotUtf8 {
            byte: format!("0x{byte:02X}"),
            at: (at..at + '\u{fffd}'.len_utf8()).into(),
        };
        (text, err)
    })?;
    Ok(normalize_newlines(text))
}

/// `\r\n` → `\n`. TOML lets a parser normalise the newlines of multi-line strings; doing it
/// on the whole text does exactly that, since a carriage return is allowed nowhere else
/// (line and column numbers stay the same).
fn normalize_newlines(text: String) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n")
    } else {
        text
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> LoadError {
    LoadError::Io {
        path: display_path(path),
        message: e.to_string(),
        not_found: e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// What a file that is not a regular file is, for a message (`a FIFO (named pipe)`).
pub(crate) fn kind_of(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_becomes_lf_and_lone_cr_stays() {
        assert_eq!(normalize_newlines("a\r\nb\r\n".into()), "a\nb\n");
        assert_eq!(normalize_newlines("a\rb".into()), "a\rb");
    }
}
