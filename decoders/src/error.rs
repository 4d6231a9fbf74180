//! The one error type shared by every decoder in this crate.

/// Why a buffer could not be decoded, and where.
///
/// `offset` is always relative to the start of the buffer handed to the
/// decoder (the pgoutput message, or the text value). Messages never contain
/// row data, only positions and type names, so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The buffer ended while a field was still being read.
    #[error(
        "unexpected end of input at byte {offset} while reading {field}: the message is truncated"
    )]
    UnexpectedEof { offset: usize, field: &'static str },
    /// The first byte is not a pgoutput message tag this decoder knows.
    #[error("unknown pgoutput message tag {tag:#04x} at byte {offset}: check the pgoutput proto_version")]
    UnknownMessage { offset: usize, tag: u8 },
    /// A NUL-terminated string has no terminator before the end of the buffer.
    #[error("unterminated string starting at byte {offset} while reading {field}")]
    UnterminatedString { offset: usize, field: &'static str },
    /// A string field is not valid UTF-8.
    #[error(
        "invalid utf-8 in {field} starting at byte {offset}: the database encoding must be UTF8"
    )]
    InvalidUtf8 { offset: usize, field: &'static str },
    /// A field has a value the spec does not allow (bad submessage tag, length, ...).
    #[error("invalid {field} at byte {offset}: {reason}")]
    InvalidField {
        offset: usize,
        field: &'static str,
        reason: &'static str,
    },
    /// Bytes were left over after a complete message.
    #[error("{remaining} trailing byte(s) at byte {offset} after a complete {message} message")]
    TrailingBytes {
        offset: usize,
        remaining: usize,
        message: &'static str,
    },
    /// A Postgres text-format value does not parse as its declared type.
    #[error("invalid {pg_type} text value at byte {offset}: {reason}")]
    InvalidValue {
        offset: usize,
        pg_type: &'static str,
        reason: &'static str,
    },
    /// A binlog event's CRC32 does not match its bytes (`binlog_checksum=CRC32`).
    #[error(
        "binlog event checksum mismatch at byte {offset}: stored {stored:#010x}, computed \
         {computed:#010x}; the event is corrupt (or the checksum setting was misread)"
    )]
    ChecksumMismatch {
        offset: usize,
        stored: u32,
        computed: u32,
    },
}

impl DecodeError {
    /// Byte offset in the decoded buffer where decoding failed.
    pub fn offset(&self) -> usize {
        match self {
            DecodeError::UnexpectedEof { offset, .. }
            | DecodeError::UnknownMessage { offset, .. }
            | DecodeError::UnterminatedString { offset, .. }
            | DecodeError::InvalidUtf8 { offset, .. }
            | DecodeError::InvalidField { offset, .. }
            | DecodeError::TrailingBytes { offset, .. }
            | DecodeError::InvalidValue { offset, .. }
            | DecodeError::ChecksumMismatch { offset, .. } => *offset,
        }
    }
}
