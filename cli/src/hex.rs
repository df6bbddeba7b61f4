//! Keys and values on the command line: UTF-8 text, `hex:` followed by hex digits,
//! `@PATH` for the bytes of a file, `@-` for standard input.

use std::io::Read;

/// Reads command-line keys and values; standard input can be read once.
#[derive(Debug, Default)]
pub struct BytesArgs {
    stdin_read: bool,
}

impl BytesArgs {
    /// Parses one key or value.
    pub fn parse(&mut self, text: &str) -> Result<Vec<u8>, String> {
        match text.strip_prefix('@') {
            Some("-") => {
                if std::mem::replace(&mut self.stdin_read, true) {
                    return Err("`@-` (standard input) can be used once per command".to_owned());
                }
                let mut bytes = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut bytes)
                    .map_err(|error| format!("cannot read standard input: {error}"))?;
                Ok(bytes)
            }
            Some("") => Err("`@` needs a file path (`@PATH`, or `@-` for standard input); write a key or value starting with `@` in hex".to_owned()),
            Some(path) => std::fs::read(path).map_err(|error| format!("cannot read `{path}`: {error}")),
            None => parse_bytes(text),
        }
    }
}

/// Parses a key or value given as text or `hex:` digits.
pub fn parse_bytes(text: &str) -> Result<Vec<u8>, String> {
    let Some(digits) = text.strip_prefix("hex:") else {
        return Ok(text.as_bytes().to_vec());
    };
    if !digits.is_ascii() {
        return Err(format!("`{text}`: hex digits must be 0-9, a-f"));
    }
    if digits.len() % 2 != 0 {
        return Err(format!("`{text}`: hex needs an even number of digits"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| format!("`{text}`: `{}` is not a hex byte", &digits[i..i + 2]))
        })
        .collect()
}

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// How text output shows bytes: printable UTF-8 as is; anything else (control
/// characters, which would break the tab-separated lines, and text that would parse as
/// something else: `hex:...`, `@...`) as `hex:...`.
pub fn display(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text)
            if !text.starts_with("hex:")
                && !text.starts_with('@')
                && !text.chars().any(char::is_control) =>
        {
            text.to_owned()
        }
        _ => format!("hex:{}", encode(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_and_hex() {
        assert_eq!(parse_bytes("abc").unwrap(), b"abc");
        assert_eq!(parse_bytes("hex:00ff").unwrap(), vec![0, 255]);
        assert_eq!(parse_bytes("hex:").unwrap(), Vec::<u8>::new());
        assert!(parse_bytes("hex:0").is_err());
        assert!(parse_bytes("hex:zz").is_err());
        assert!(parse_bytes("hex:é1").is_err());
        assert!(parse_bytes("hex:aé1").is_err());
    }

    #[test]
    fn reads_files_and_refuses_a_bare_at() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("value.bin");
        std::fs::write(&path, [0u8, 1, 0xff]).unwrap();
        let mut args = BytesArgs::default();
        assert_eq!(
            args.parse(&format!("@{}", path.display())).unwrap(),
            vec![0, 1, 0xff]
        );
        assert!(args.parse("@").is_err());
        assert!(
            args.parse("@/no/such/file")
                .unwrap_err()
                .contains("/no/such/file")
        );
        assert_eq!(args.parse("hex:40").unwrap(), b"@");
        assert_eq!(display(b"@x"), "hex:4078");
        assert_eq!(display(b"a\tb"), "hex:610962");
    }

    #[test]
    fn displays_utf8_or_hex() {
        assert_eq!(display(b"abc"), "abc");
        assert_eq!(display(&[0xff, 0]), "hex:ff00");
        // Text that would read back as hex is shown as hex, so output parses back.
        assert_eq!(display(b"hex:00"), "hex:6865783a3030");
        assert_eq!(encode(&[0xab, 0x01]), "ab01");
    }
}
