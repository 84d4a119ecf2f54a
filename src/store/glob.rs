//! Redis glob-style pattern matching (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET).
//!
//! Supports `*`, `?`, `[abc]`, `[^abc]`, `[a-z]` and `\` escapes with Redis's edge cases: an
//! unterminated `[` takes the rest of the pattern as its class, and reversed ranges are swapped.

/// How many `*` Redis follows into the text before it gives up: its matcher recurses at each
/// star and, against abusive patterns, answers "no match" past this depth. Matching it keeps
/// KEYS, SCAN MATCH and PSUBSCRIBE answering as Redis does for such patterns.
const MAX_STAR_NESTING: usize = 1000;

/// True when `text` matches `pattern`. O(len(pattern) * len(text)) in the worst case.
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    matches_with(pattern, text, false)
}

/// Case-insensitive (ASCII) variant, used for CONFIG GET parameter names.
pub fn matches_nocase(pattern: &[u8], text: &[u8]) -> bool {
    matches_with(pattern, text, true)
}

fn matches_with(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Redis's matcher compares while both pattern and text are left, so an empty text
    // matches only an empty pattern: not even `*` (KEYS and SCAN take a bare `*` as "all"
    // before matching, which is how `KEYS *` lists an empty key name and `KEYS **` does not).
    if text.is_empty() {
        return pattern.is_empty();
    }
    let (mut p, mut t) = (0usize, 0usize);
    // Where to resume after the last `*`: only `*` consumes a variable length, so retrying the
    // most recent star with one more byte is enough.
    let mut star: Option<(usize, usize)> = None;
    // Each star is reached once (backtracking only returns to the latest one), so this counts
    // the depth Redis's recursive matcher would be at.
    let mut nesting = 0;
    loop {
        if p < pattern.len() {
            let advance = match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    // Redis recurses only at a star with text left to match.
                    if t < text.len() {
                        nesting += 1;
                        if nesting > MAX_STAR_NESTING {
                            return false;
                        }
                    }
                    star = Some((p, t));
                    continue;
                }
                _ if t == text.len() => None,
                b'?' => Some(1),
                b'[' => {
                    let (matched, next) = match_class(pattern, p + 1, text[t], nocase);
                    matched.then_some(next - p)
                }
                // A trailing lone backslash matches itself, like any literal.
                b'\\' if p + 1 < pattern.len() => eq(pattern[p + 1], text[t]).then_some(2),
                c => eq(c, text[t]).then_some(1),
            };
            if let Some(advance) = advance {
                p += advance;
                t += 1;
                continue;
            }
        } else if t == text.len() {
            return true;
        }
        match star {
            Some((sp, st)) if st < text.len() => {
                star = Some((sp, st + 1));
                p = sp;
                t = st + 1;
            }
            _ => return false,
        }
    }
}

/// Matches one byte against the class starting after `[` at `start`; returns whether it
/// matched and the pattern position after the class.
fn match_class(pattern: &[u8], start: usize, c: u8, nocase: bool) -> (bool, usize) {
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    let c = fold(c);
    let mut p = start;
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(p) {
            None => break,
            Some(b'\\') if p + 1 < pattern.len() => {
                if fold(pattern[p + 1]) == c {
                    matched = true;
                }
                p += 2;
            }
            Some(b']') => {
                p += 1;
                break;
            }
            Some(&lo) if pattern.get(p + 1) == Some(&b'-') && p + 2 < pattern.len() => {
                let hi = pattern[p + 2];
                let (lo, hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
                if (fold(lo)..=fold(hi)).contains(&c) {
                    matched = true;
                }
                p += 3;
            }
            Some(&lit) => {
                if fold(lit) == c {
                    matched = true;
                }
                p += 1;
            }
        }
    }
    (matched != negate, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_text_matches_only_an_empty_pattern() {
        assert!(matches(b"", b""));
        for pattern in [&b"*"[..], b"**", b"?", b"[a]", b"a*", b"*\\*"] {
            assert!(
                !matches(pattern, b""),
                "{:?}",
                String::from_utf8_lossy(pattern)
            );
        }
        assert!(matches(b"a*", b"a"));
        assert!(matches(b"*", b"x"));
    }

    #[test]
    fn redis_glob_cases() {
        let yes: &[(&str, &str)] = &[
            ("*", "anything"),
            ("h?llo", "hello"),
            ("h*llo", "heeeello"),
            ("h[ae]llo", "hallo"),
            ("h[^e]llo", "hallo"),
            ("h[a-b]llo", "hbllo"),
            ("h[b-a]llo", "hbllo"),
            ("h\\*llo", "h*llo"),
            ("*a*b*c", "xaybzc"),
            ("[abc", "b"),
            ("a[\\", "a\\"),
            ("user:*:name", "user:42:name"),
        ];
        for (p, t) in yes {
            assert!(matches(p.as_bytes(), t.as_bytes()), "{p} should match {t}");
        }
        let no: &[(&str, &str)] = &[
            ("*", ""),
            ("h?llo", "hllo"),
            ("h[^e]llo", "hello"),
            ("h[a-b]llo", "hcllo"),
            ("h\\*llo", "hello"),
            ("*a*b*c", "xaybzcd"),
            ("abc", "ab"),
            ("ab", "abc"),
            ("", "a"),
            ("a[", "a["),
        ];
        for (p, t) in no {
            assert!(
                !matches(p.as_bytes(), t.as_bytes()),
                "{p} should not match {t}"
            );
        }
    }

    #[test]
    fn nocase_folds_ascii() {
        assert!(matches_nocase(b"MAX*", b"maxmemory"));
        assert!(matches_nocase(b"[A-C]x", b"bX"));
    }

    #[test]
    fn too_deeply_nested_stars_match_nothing_as_in_redis() {
        let text = vec![b'a'; 50_000];
        assert!(!matches(&b"*?".repeat(25_000), &text));
        // 1000 stars before the end are still followed; the trailing one costs nothing.
        assert!(matches(&b"*a".repeat(1000), &text[..1000]));
        assert!(matches(
            &[b"*a".repeat(1000), b"*".to_vec()].concat(),
            &text[..1000]
        ));
        assert!(!matches(&b"*a".repeat(1001), &text[..1001]));
    }

    #[test]
    fn pathological_star_patterns_stay_fast() {
        let text = vec![b'a'; 10_000];
        let pattern = b"*a*a*a*a*a*a*a*a*b";
        assert!(!matches(pattern, &text));
    }
}
