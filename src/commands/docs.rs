//! COMMAND DOCS argument trees, generated from each table row's syntax string
//! (`key value [NX|XX] [EX seconds|PX milliseconds]`), so the table stays the one place a
//! command is described and redis-cli's hints follow it.

use crate::protocol::ReplyBuf;

/// One documented argument, in the shape COMMAND DOCS replies.
#[derive(Debug, Clone, PartialEq)]
pub struct DocArg {
    pub name: String,
    /// `key`, `string`, `integer`, `double`, `pattern`, `pure-token`, `oneof` or `block`.
    pub kind: &'static str,
    pub token: Option<String>,
    pub optional: bool,
    pub multiple: bool,
    pub children: Vec<DocArg>,
    /// For a key: which of the command's key specifications describes it.
    pub key_spec_index: Option<usize>,
}

impl DocArg {
    fn word(word: &str) -> DocArg {
        let is_token = word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && word.chars().any(|c| c.is_ascii_uppercase());
        let kind = if is_token {
            "pure-token"
        } else {
            match word {
                "key" | "source" | "destination" | "newkey" | "src" | "dst" | "destkey"
                | "sourcekey" => "key",
                w if w
                    .strip_prefix("key")
                    .is_some_and(|n| n.parse::<u32>().is_ok()) =>
                {
                    "key"
                }
                "pattern" => "pattern",
                "timeout" | "weight" | "score" => "double",
                w if [
                    "count",
                    "numkeys",
                    "index",
                    "offset",
                    "start",
                    "end",
                    "stop",
                    "db",
                    "seconds",
                    "milliseconds",
                    "cursor",
                    "rank",
                    "len",
                    "depth",
                ]
                .iter()
                .any(|n| w == *n || w.ends_with(&format!("-{n}"))) =>
                {
                    "integer"
                }
                _ => "string",
            }
        };
        DocArg {
            name: word.to_ascii_lowercase(),
            kind,
            token: is_token.then(|| word.to_string()),
            optional: false,
            multiple: false,
            children: Vec::new(),
            key_spec_index: None,
        }
    }

    fn group(kind: &'static str, children: Vec<DocArg>) -> DocArg {
        let name = children
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join("-");
        DocArg {
            name,
            kind,
            token: None,
            optional: false,
            multiple: false,
            children,
            key_spec_index: None,
        }
    }
}

fn tokenize(syntax: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in syntax.chars() {
        match c {
            '[' | ']' | '|' => {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
                tokens.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

struct Parser {
    tokens: Vec<String>,
    pos: usize,
    /// Brackets open around the current position.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn sequence(&mut self) -> Vec<DocArg> {
        let mut items: Vec<DocArg> = Vec::new();
        while let Some(token) = self.peek() {
            match token {
                "|" if self.depth == 0 => {
                    // `key BEFORE|AFTER pivot`: outside brackets, `|` chooses between single
                    // words.
                    let mut options: Vec<DocArg> = items.pop().into_iter().collect();
                    while self.peek() == Some("|") {
                        self.pos += 1;
                        match self.peek() {
                            Some(word) if !matches!(word, "[" | "]" | "|" | "...") => {
                                options.push(DocArg::word(word));
                                self.pos += 1;
                            }
                            _ => break,
                        }
                    }
                    items.push(DocArg::group("oneof", options));
                }
                "]" | "|" => break,
                "[" => {
                    self.pos += 1;
                    self.depth += 1;
                    let mut node = self.alternatives();
                    self.depth -= 1;
                    if self.peek() == Some("]") {
                        self.pos += 1;
                    }
                    node.optional = true;
                    // `x [x ...]` and `a b [a b ...]`: one argument that repeats.
                    if node.multiple {
                        let names: Vec<String> = if node.kind == "block" {
                            node.children.iter().map(|c| c.name.clone()).collect()
                        } else {
                            vec![node.name.clone()]
                        };
                        let n = names.len();
                        if items.len() >= n
                            && items[items.len() - n..]
                                .iter()
                                .map(|i| &i.name)
                                .eq(names.iter())
                        {
                            let mut repeated = node.clone();
                            repeated.optional = false;
                            items.truncate(items.len() - n);
                            items.push(repeated);
                            continue;
                        }
                    }
                    items.push(node);
                }
                "..." => {
                    self.pos += 1;
                    if let Some(last) = items.last_mut() {
                        last.multiple = true;
                    }
                }
                word => {
                    let word = word.to_string();
                    self.pos += 1;
                    let arg = DocArg::word(&word);
                    // `COUNT count`: a token introducing a value is one argument, as Redis
                    // documents it.
                    match items.last_mut() {
                        Some(prev) if prev.kind == "pure-token" && arg.kind != "pure-token" => {
                            prev.name = arg.name;
                            prev.kind = arg.kind;
                        }
                        _ => items.push(arg),
                    }
                }
            }
        }
        items
    }

    fn alternatives(&mut self) -> DocArg {
        let mut options = vec![self.sequence()];
        while self.peek() == Some("|") {
            self.pos += 1;
            options.push(self.sequence());
        }
        let as_node = |mut seq: Vec<DocArg>| {
            if seq.len() == 1 {
                seq.remove(0)
            } else {
                DocArg::group("block", seq)
            }
        };
        let mut node = if options.len() == 1 {
            as_node(options.remove(0))
        } else {
            DocArg::group("oneof", options.into_iter().map(as_node).collect())
        };
        if node.kind == "block" && node.children.last().is_some_and(|c| c.multiple) {
            // `[key ...]` inside brackets parses as a block ending in a repeated item.
            if let Some(last) = node.children.last_mut() {
                last.multiple = false;
            }
            node.multiple = true;
            if node.children.len() == 1 {
                let mut only = node.children.remove(0);
                only.multiple = true;
                return only;
            }
        }
        node
    }
}

/// Parses a syntax string into COMMAND DOCS arguments.
pub fn parse_syntax(syntax: &str) -> Vec<DocArg> {
    let mut parser = Parser {
        tokens: tokenize(syntax),
        pos: 0,
        depth: 0,
    };
    parser.sequence()
}

/// Links each key argument, in the order they are written, to the command's key
/// specifications (`specs` of them), as Redis's documentation does: the n-th key argument to
/// the n-th spec (the last spec for any beyond). When there are more specs than key
/// arguments, the extra one describes keys named by patterns (SORT's BY and GET): every
/// pattern argument links to it, in its place in the order. Without specs an argument named
/// like a key names none (CLUSTER KEYSLOT's `key` is hashed, not read): it is documented as a
/// string, as Redis documents it.
pub fn link_key_specs(args: &mut [DocArg], specs: usize) {
    fn unkey(args: &mut [DocArg]) {
        for arg in args {
            if arg.kind == "key" {
                arg.kind = "string";
            }
            unkey(&mut arg.children);
        }
    }
    fn count_keys(args: &[DocArg]) -> usize {
        args.iter()
            .map(|arg| usize::from(arg.kind == "key") + count_keys(&arg.children))
            .sum()
    }
    struct Linker {
        specs: usize,
        next: usize,
        patterns_are_keys: bool,
        pattern_spec: Option<usize>,
    }
    fn walk(args: &mut [DocArg], linker: &mut Linker) {
        for arg in args {
            if arg.kind == "key" {
                arg.key_spec_index = Some(linker.next.min(linker.specs - 1));
                linker.next += 1;
            } else if arg.kind == "pattern" && linker.patterns_are_keys {
                let index = *linker.pattern_spec.get_or_insert_with(|| {
                    linker.next += 1;
                    linker.next - 1
                });
                arg.key_spec_index = Some(index.min(linker.specs - 1));
            }
            walk(&mut arg.children, linker);
        }
    }
    if specs > 0 {
        let mut linker = Linker {
            specs,
            next: 0,
            patterns_are_keys: specs > count_keys(args),
            pattern_spec: None,
        };
        walk(args, &mut linker);
    } else {
        unkey(args);
    }
}

/// Writes arguments as COMMAND DOCS does: an array of maps.
pub fn write_args(out: &mut ReplyBuf, args: &[DocArg]) {
    out.array(args.len());
    for arg in args {
        let flags: Vec<&str> = [(arg.optional, "optional"), (arg.multiple, "multiple")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| *name)
            .collect();
        let fields = 2
            + usize::from(arg.key_spec_index.is_some())
            + usize::from(arg.token.is_some())
            + usize::from(!flags.is_empty())
            + usize::from(!arg.children.is_empty());
        out.map(fields);
        out.bulk(b"name");
        out.bulk(arg.name.as_bytes());
        out.bulk(b"type");
        out.bulk(arg.kind.as_bytes());
        if let Some(index) = arg.key_spec_index {
            out.bulk(b"key_spec_index");
            out.int(index as i64);
        }
        if let Some(token) = &arg.token {
            out.bulk(b"token");
            out.bulk(token.as_bytes());
        }
        if !flags.is_empty() {
            out.bulk(b"flags");
            out.set(flags.len());
            for flag in flags {
                out.simple(flag);
            }
        }
        if !arg.children.is_empty() {
            out.bulk(b"arguments");
            write_args(out, &arg.children);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(args: &[DocArg]) -> String {
        args.iter()
            .map(|a| {
                let mut s = format!("{}:{}", a.name, a.kind);
                if let Some(t) = &a.token {
                    s.push_str(&format!("<{t}>"));
                }
                if a.optional {
                    s.push('?');
                }
                if a.multiple {
                    s.push('*');
                }
                if !a.children.is_empty() {
                    s.push_str(&format!("({})", shape(&a.children)));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn set_syntax_becomes_redis_style_arguments() {
        let args = parse_syntax("key value [NX|XX] [GET] [EX seconds|PX milliseconds|KEEPTTL]");
        assert_eq!(
            shape(&args),
            "key:key value:string nx-xx:oneof?(nx:pure-token<NX> xx:pure-token<XX>) \
             get:pure-token<GET>? seconds-milliseconds-keepttl:oneof?(seconds:integer<EX> \
             milliseconds:integer<PX> keepttl:pure-token<KEEPTTL>)"
        );
    }

    #[test]
    fn alternatives_outside_brackets_choose_between_words() {
        assert_eq!(
            shape(&parse_syntax("key BEFORE|AFTER pivot element")),
            "key:key before-after:oneof(before:pure-token<BEFORE> after:pure-token<AFTER>) \
             pivot:string element:string"
        );
        assert_eq!(
            shape(&parse_syntax("AND|OR destination key1 [key ...]")),
            "and-or:oneof(and:pure-token<AND> or:pure-token<OR>) destination:key key1:key \
             key:key?*"
        );
    }

    #[test]
    fn key_arguments_link_to_key_specs_in_order() {
        let mut args = parse_syntax("destination numkeys key [key ...] [WEIGHTS weight]");
        link_key_specs(&mut args, 2);
        let links: Vec<Option<usize>> = args.iter().map(|a| a.key_spec_index).collect();
        assert_eq!(links, vec![Some(0), None, Some(1), None]);
        let mut args = parse_syntax("key value [key value ...]");
        link_key_specs(&mut args, 1);
        assert_eq!(args[0].children[0].key_spec_index, Some(0));
        let mut unlinked = parse_syntax("key");
        link_key_specs(&mut unlinked, 0);
        assert_eq!(unlinked[0].key_spec_index, None);
        assert_eq!(unlinked[0].kind, "string");
    }

    #[test]
    fn repeated_arguments_fold_into_one() {
        assert_eq!(shape(&parse_syntax("key [key ...]")), "key:key*");
        assert_eq!(
            shape(&parse_syntax("key field value [field value ...]")),
            "key:key field-value:block*(field:string value:string)"
        );
        assert_eq!(
            shape(&parse_syntax("cursor [MATCH pattern] [COUNT count]")),
            "cursor:integer pattern:pattern<MATCH>? count:integer<COUNT>?"
        );
    }
}
