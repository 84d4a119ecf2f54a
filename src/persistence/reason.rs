//! Driver errors as one short line. The driver's text of a failed server selection carries the
//! whole topology description (hundreds of characters per server); what a person can act on
//! is its innermost cause, such as "I/O error: Connection refused (os error 111)". Logs and
//! `INFO persistence` show only that.

/// Longest reason kept, in bytes: with the words around it, a log line stays within about
/// 200 characters.
pub const REASON_BYTES: usize = 80;

/// The essential reason of a driver error, on one line of at most [`REASON_BYTES`].
pub fn brief(error: &mongodb::error::Error) -> String {
    brief_text(&error.to_string())
}

/// [`brief`] on an error's text: the innermost `Kind: ...` the driver nested, without the
/// labels, topology and source bookkeeping that follow it. O(length of `text`).
pub fn brief_text(text: &str) -> String {
    const KIND: &str = "Kind: ";
    let inner = match text.rfind(KIND) {
        Some(at) => &text[at + KIND.len()..],
        None => text,
    };
    let end = [", labels:", ". Topology:"]
        .iter()
        .filter_map(|marker| inner.find(marker))
        .min()
        .unwrap_or(inner.len());
    bounded(&inner[..end])
}

/// `text` on one line, cut to at most [`REASON_BYTES`] (at a character boundary, marked with
/// "...").
pub fn bounded(text: &str) -> String {
    let line = text.trim().replace(['\r', '\n'], " ");
    if line.len() <= REASON_BYTES {
        return line;
    }
    let mut cut = REASON_BYTES - 3;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &line[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_selection_errors_keep_their_cause() {
        let text = "Kind: Server selection timeout: No available servers. Topology: { Type: \
            Unknown, Servers: [ { Address: 127.0.0.1:1, Type: Unknown, Error: Kind: I/O error: \
            Connection refused (os error 111), labels: {\"SystemOverloadedError\", \
            \"RetryableError\"}, source: None, server response: None } ] }, labels: {}, \
            source: None, server response: None";
        assert_eq!(
            brief_text(text),
            "I/O error: Connection refused (os error 111)"
        );
        let no_cause = "Kind: Server selection timeout: No available servers. Topology: { Type: \
            Unknown, Servers: [ { Address: db:27017, Type: Unknown } ] }, labels: {}";
        assert_eq!(
            brief_text(no_cause),
            "Server selection timeout: No available servers"
        );
    }

    #[test]
    fn other_texts_are_bounded_lines() {
        assert_eq!(brief_text("write error 2: bad"), "write error 2: bad");
        let long = format!("é{}\r\nmore", "x".repeat(300));
        let cut = brief_text(&long);
        assert!(cut.len() <= REASON_BYTES && cut.ends_with("..."), "{cut}");
        assert!(!cut.contains('\n'));
    }
}
