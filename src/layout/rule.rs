//! in-toto artifact rules: the rule grammar, parsed into [`ArtifactRule`] and written back,
//! and the file-name pattern matching the rules use.
//!
//! Grammar (in-toto specification §4.3.3; in JSON each rule is an array of strings, one
//! token each; keywords are case-insensitive):
//!
//! ```text
//! MATCH <pattern> [IN <source-path-prefix>] WITH (MATERIALS|PRODUCTS)
//!       [IN <destination-path-prefix>] FROM <step>
//! CREATE <pattern>    DELETE <pattern>    MODIFY <pattern>
//! ALLOW <pattern>     DISALLOW <pattern>  REQUIRE <artifact>
//! ```
//!
//! Patterns are shell patterns as in-toto reads them: `*` matches any sequence of
//! characters *including* `/`, `?` one character, `[...]` a class (`!` negates), `\`
//! escapes; a pattern matches the whole name.

use std::fmt;
use std::str::FromStr;

/// Which artifact set of a step a rule refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArtifactKind {
    /// `MATERIALS`: what the step consumed.
    Materials,
    /// `PRODUCTS`: what the step produced.
    Products,
}

impl ArtifactKind {
    /// The keyword (`MATERIALS` / `PRODUCTS`).
    #[must_use]
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Materials => "MATERIALS",
            Self::Products => "PRODUCTS",
        }
    }

    /// The lower-case name used in messages (`materials` / `products`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Materials => "materials",
            Self::Products => "products",
        }
    }
}

/// One in-toto artifact rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ArtifactRule {
    /// `MATCH pattern [IN src] WITH (MATERIALS|PRODUCTS) [IN dst] FROM step`: consume the
    /// queued artifacts matching `pattern` (below `src_prefix`) whose name (below
    /// `dst_prefix`) and digest appear in `from`'s materials or products.
    Match {
        /// The pattern, matched against the name with `src_prefix` removed.
        pattern: String,
        /// `IN <source-path-prefix>`.
        src_prefix: Option<String>,
        /// `WITH MATERIALS` or `WITH PRODUCTS`.
        dst_kind: ArtifactKind,
        /// `IN <destination-path-prefix>`.
        dst_prefix: Option<String>,
        /// `FROM <step>`.
        from: String,
    },
    /// `CREATE pattern`: consume matching artifacts that are products but not materials.
    Create(String),
    /// `DELETE pattern`: consume matching artifacts that are materials but not products.
    Delete(String),
    /// `MODIFY pattern`: consume matching artifacts that are both, with different digests.
    Modify(String),
    /// `ALLOW pattern`: consume every matching artifact.
    Allow(String),
    /// `DISALLOW pattern`: fail when any queued artifact matches.
    Disallow(String),
    /// `REQUIRE name`: fail unless `name` is queued.
    Require(String),
}

/// A rule that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("artifact rule {tokens:?} does not follow the in-toto grammar: {why}")]
pub struct RuleError {
    /// The rule's tokens as given.
    pub tokens: Vec<String>,
    /// What is wrong.
    pub why: &'static str,
}

impl ArtifactRule {
    /// Parse a rule from its tokens (the JSON array form).
    ///
    /// # Errors
    ///
    /// [`RuleError`] for an unknown keyword or a wrong number or order of tokens.
    pub fn from_tokens<S: AsRef<str>>(tokens: &[S]) -> Result<Self, RuleError> {
        let t: Vec<&str> = tokens.iter().map(AsRef::as_ref).collect();
        let err = |why| RuleError {
            tokens: t.iter().map(|s| (*s).to_owned()).collect(),
            why,
        };
        let kw = |i: usize, want: &str| t.get(i).is_some_and(|s| s.eq_ignore_ascii_case(want));
        let Some(first) = t.first() else {
            return Err(err("empty rule"));
        };
        let simple = |make: fn(String) -> Self| {
            if t.len() == 2 {
                Ok(make(t[1].to_owned()))
            } else {
                Err(err("expected `<KEYWORD> <pattern>`"))
            }
        };
        match first.to_ascii_lowercase().as_str() {
            "create" => simple(Self::Create),
            "delete" => simple(Self::Delete),
            "modify" => simple(Self::Modify),
            "allow" => simple(Self::Allow),
            "disallow" => simple(Self::Disallow),
            "require" => simple(Self::Require),
            "match" => {
                // MATCH p [IN s] WITH K [IN d] FROM step: 6, 8 or 10 tokens.
                let (src_prefix, rest) = match t.len() {
                    10 => (Some(t[3]), 4),
                    8 if kw(2, "in") => (Some(t[3]), 4),
                    8 | 6 => (None, 2),
                    _ => return Err(err("a MATCH rule has 6, 8 or 10 tokens")),
                };
                if src_prefix.is_some() && !kw(2, "in") {
                    return Err(err("expected IN after the pattern"));
                }
                if !kw(rest, "with") {
                    return Err(err("expected WITH"));
                }
                let dst_kind = if kw(rest + 1, "materials") {
                    ArtifactKind::Materials
                } else if kw(rest + 1, "products") {
                    ArtifactKind::Products
                } else {
                    return Err(err("expected MATERIALS or PRODUCTS after WITH"));
                };
                let (dst_prefix, from_at) = if kw(rest + 2, "in") {
                    (Some(t.get(rest + 3).copied().unwrap_or_default()), rest + 4)
                } else {
                    (None, rest + 2)
                };
                if !kw(from_at, "from") || t.len() != from_at + 2 {
                    return Err(err("expected FROM <step> at the end"));
                }
                Ok(Self::Match {
                    pattern: t[1].to_owned(),
                    src_prefix: src_prefix.map(str::to_owned),
                    dst_kind,
                    dst_prefix: dst_prefix.map(str::to_owned),
                    from: t[from_at + 1].to_owned(),
                })
            }
            _ => Err(err("unknown rule keyword")),
        }
    }

    /// The rule as tokens (keywords upper case), the JSON array form.
    #[must_use]
    pub fn to_tokens(&self) -> Vec<String> {
        let two = |k: &str, p: &str| vec![k.to_owned(), p.to_owned()];
        match self {
            Self::Create(p) => two("CREATE", p),
            Self::Delete(p) => two("DELETE", p),
            Self::Modify(p) => two("MODIFY", p),
            Self::Allow(p) => two("ALLOW", p),
            Self::Disallow(p) => two("DISALLOW", p),
            Self::Require(p) => two("REQUIRE", p),
            Self::Match {
                pattern,
                src_prefix,
                dst_kind,
                dst_prefix,
                from,
            } => {
                let mut v = vec!["MATCH".to_owned(), pattern.clone()];
                if let Some(s) = src_prefix {
                    v.extend(["IN".to_owned(), s.clone()]);
                }
                v.extend(["WITH".to_owned(), dst_kind.keyword().to_owned()]);
                if let Some(d) = dst_prefix {
                    v.extend(["IN".to_owned(), d.clone()]);
                }
                v.extend(["FROM".to_owned(), from.clone()]);
                v
            }
        }
    }

    /// The pattern (for `REQUIRE`, the artifact name).
    #[must_use]
    pub fn pattern(&self) -> &str {
        match self {
            Self::Match { pattern, .. } => pattern,
            Self::Create(p)
            | Self::Delete(p)
            | Self::Modify(p)
            | Self::Allow(p)
            | Self::Disallow(p)
            | Self::Require(p) => p,
        }
    }
}

impl fmt::Display for ArtifactRule {
    /// The tokens joined by spaces (`MATCH * WITH PRODUCTS FROM build`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_tokens().join(" "))
    }
}

impl FromStr for ArtifactRule {
    type Err = RuleError;

    /// Parse the space-separated form (tokens cannot contain spaces in this form).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let tokens: Vec<&str> = s.split_whitespace().collect();
        Self::from_tokens(&tokens)
    }
}

/// Normalise a MATCH prefix as in-toto does: empty stays empty, anything else ends in `/`.
pub(crate) fn norm_prefix(p: Option<&str>) -> String {
    match p {
        None | Some("") => String::new(),
        Some(p) if p.ends_with('/') => p.to_owned(),
        Some(p) => format!("{p}/"),
    }
}

/// Whether `name` matches the in-toto shell `pattern` (whole name; `*` crosses `/`). A
/// malformed pattern (an unterminated class) matches nothing.
#[must_use]
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob(&p, &n)
}

fn glob(p: &[char], n: &[char]) -> bool {
    // Iterative matcher with one backtrack point for the last `*`.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => {
                pi += 1;
                ni += 1;
                continue;
            }
            Some('[') => match class(&p[pi..], n[ni]) {
                Some((true, len)) => {
                    pi += len;
                    ni += 1;
                    continue;
                }
                Some((false, _)) => {}
                None => return false,
            },
            Some('\\') if p.get(pi + 1) == Some(&n[ni]) => {
                pi += 2;
                ni += 1;
                continue;
            }
            Some('\\') => {}
            Some(c) if *c == n[ni] => {
                pi += 1;
                ni += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Match `c` against the class at the start of `p` (`[...]`): whether it matches and the
/// class's length, or `None` when the class is malformed.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = p.get(i) == Some(&'!');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            ch
        };
        i += 1;
        let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|x| *x != ']') {
            let h = if p[i + 1] == '\\' {
                i += 1;
                *p.get(i + 1)?
            } else {
                p[i + 1]
            };
            i += 2;
            h
        } else {
            lo
        };
        if lo <= c && c <= hi {
            matched = true;
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    #[test]
    fn every_rule_form_round_trips_through_tokens_and_text() {
        for text in [
            "MATCH * WITH PRODUCTS FROM build",
            "MATCH foo/* IN src WITH MATERIALS FROM clone",
            "MATCH *.tar WITH PRODUCTS IN out FROM build",
            "MATCH * IN a WITH PRODUCTS IN b FROM build",
            "CREATE *",
            "DELETE tmp/*",
            "MODIFY *.lock",
            "ALLOW git+*",
            "DISALLOW *",
            "REQUIRE report.json",
        ] {
            let rule: ArtifactRule = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(rule.to_string(), text);
            assert_eq!(ArtifactRule::from_tokens(&rule.to_tokens()), Ok(rule));
        }
        let lower: ArtifactRule = "match x in a with products in b from s"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lower.to_string(), "MATCH x IN a WITH PRODUCTS IN b FROM s");
    }

    #[test]
    fn malformed_rules_are_refused() {
        for text in [
            "",
            "COPY *",
            "ALLOW",
            "ALLOW a b",
            "MATCH * WITH THINGS FROM x",
            "MATCH * WITH PRODUCTS TO x",
            "MATCH * WITH PRODUCTS FROM",
            "MATCH * OUT a WITH PRODUCTS FROM x",
            "MATCH * IN a WITH PRODUCTS IN b FROM x y",
        ] {
            assert!(text.parse::<ArtifactRule>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn patterns_match_like_in_toto() {
        for (p, n, want) in [
            ("*", "a/b/c", true),
            ("*.tar", "dir/x.tar", true),
            ("*.tar", "x.tgz", false),
            ("git+*", "git+https://example.com/r.git", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[ab]x", "bx", true),
            ("[!ab]x", "bx", false),
            ("[a-c]x", "cx", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("[a", "a", false),
            ("foo", "foo", true),
            ("foo", "foobar", false),
            ("*bar*", "foo/bar/baz", true),
        ] {
            assert_eq!(pattern_matches(p, n), want, "{p} vs {n}");
        }
    }
}
