//! Keys and values on the command line: UTF-8 text, or `hex:` followed by hex digits.

/// Parses a command-line key or value.
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

/// How text output shows bytes: UTF-8 as is, anything else as `hex:...`.
pub fn display(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.starts_with("hex:") => text.to_owned(),
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
    fn displays_utf8_or_hex() {
        assert_eq!(display(b"abc"), "abc");
        assert_eq!(display(&[0xff, 0]), "hex:ff00");
        // Text that would read back as hex is shown as hex, so output parses back.
        assert_eq!(display(b"hex:00"), "hex:6865783a3030");
        assert_eq!(encode(&[0xab, 0x01]), "ab01");
    }
}
