//! Recognising JSON text that is already in RFC 8785 (JCS) canonical form, so
//! that verification can hash a stored `metadata` as it is instead of parsing
//! it into a value and writing it out again (most of the cost of checking an
//! event). Metadata is stored as serde_json writes it: compact, members in
//! order, so nearly every stored text passes; anything this does not vouch for
//! takes the general route, which gives the same bytes for canonical text.
//!
//! Conservative on purpose: it accepts only what it can prove canonical
//! cheaply (no escapes, integers of at most 2^53, member names without
//! characters from U+E000 up, whose UTF-8 order is their UTF-16 order).

/// Nesting deeper than this is left to the general route (serde_json stops at 128).
const MAX_DEPTH: usize = 64;

/// The largest integer JCS prints as it is: 2^53.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// Whether `text` is one JSON value written exactly as RFC 8785 writes it.
pub fn is_canonical(text: &str) -> bool {
    let mut scan = Scan {
        bytes: text.as_bytes(),
        at: 0,
    };
    scan.value(0) && scan.at == scan.bytes.len()
}

struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn word(&mut self, word: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') if depth < MAX_DEPTH => self.object(depth + 1),
            Some(b'[') if depth < MAX_DEPTH => self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b't') => self.word(b"true"),
            Some(b'f') => self.word(b"false"),
            Some(b'n') => self.word(b"null"),
            _ => false,
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<&'a [u8]> = None;
        loop {
            let Some(name) = self.string() else {
                return false;
            };
            // Strictly increasing: sorted, and no name twice.
            let sorted = previous.is_none_or(|previous| previous < name);
            if !sorted || name.iter().any(|&b| b >= 0xEE) || !self.eat(b':') || !self.value(depth) {
                return false;
            }
            previous = Some(name);
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    /// A string without escapes; its contents. The text is UTF-8 already.
    fn string(&mut self) -> Option<&'a [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let length = self.bytes[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        self.at = start + length;
        let contents = &self.bytes[start..self.at];
        self.eat(b'"').then_some(contents)
    }

    /// An integer as JCS prints it: no leading zero, no `-0`, at most 2^53.
    fn integer(&mut self) -> bool {
        let negative = self.eat(b'-');
        let start = self.at;
        let digits = self.bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.at += digits;
        let text = &self.bytes[start..self.at];
        let plain = match text {
            [] => false,
            [b'0'] => !negative,
            [b'0', ..] => false,
            _ => digits <= 16,
        };
        plain
            && !matches!(self.peek(), Some(b'.' | b'e' | b'E'))
            && std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<u64>().ok())
                .is_some_and(|n| n <= MAX_EXACT_INTEGER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_serde_json_writes_for_typical_metadata() {
        for text in [
            r#"{}"#,
            r#"{"after":{"roles":["admin","contributor"]},"before":{"roles":["auditor","contributor"]}}"#,
            r#"{"count":0,"max":9007199254740992,"n":-12,"no":false,"none":null,"ok":true}"#,
            r#"[]"#,
            r#""é ☃ 😀""#,
            r#"[1,[2,[3]],{"a":{}}]"#,
        ] {
            assert!(is_canonical(text), "{text}");
        }
    }

    #[test]
    fn refuses_what_the_general_route_would_write_differently() {
        for text in [
            r#"{"b":1,"a":2}"#,          // unsorted
            r#"{"a":1,"a":2}"#,          // a name twice
            r#"{"a": 1}"#,               // whitespace
            r#" {}"#,                    // leading whitespace
            r#"{}x"#,                    // trailing text
            r#"{"a":1.0}"#,              // a fraction
            r#"{"a":1e3}"#,              // an exponent
            r#"{"a":01}"#,               // a leading zero
            r#"{"a":-0}"#,               // minus zero
            r#"{"a":9007199254740993}"#, // beyond 2^53
            r#"{"a":"\u0041"}"#,         // an escape
            r#"{"a":"\n"}"#,             // an escape JCS also writes: left to the general route
            "{\"\u{e000}\":1}",          // a name whose UTF-8 and UTF-16 orders differ
            r#"{"a":1,}"#,               // a trailing comma
            r#"{"a"}"#,                  // no value
            r#"tru"#,
            r#""#,
        ] {
            assert!(!is_canonical(text), "{text}");
        }
        assert!(!is_canonical(&"[".repeat(100)));
        assert!(!is_canonical(&format!(
            "{}{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        )));
        assert!(is_canonical(&format!(
            "{}{}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        )));
    }

    fn json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            (-1e22f64..1e22).prop_map(serde_json::Value::from),
            ".{0,6}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(".{0,4}", inner, 0..6)
                    .prop_map(|members| serde_json::Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever it vouches for is byte for byte what JCS writes for it.
        #[test]
        fn vouches_only_for_canonical_text(value in json()) {
            for text in [serde_json::to_string(&value).unwrap(), serde_jcs::to_string(&value).unwrap()] {
                if is_canonical(&text) {
                    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
                    proptest::prop_assert_eq!(&serde_jcs::to_string(&parsed).unwrap(), &text);
                }
            }
        }

        /// And it vouches for the canonical form of plain metadata.
        #[test]
        fn recognises_plain_canonical_text(
            members in proptest::collection::btree_map("[a-z_]{1,8}", proptest::option::of("[ -~&&[^\"\\\\]]{0,12}"), 0..8),
            count in -(1i64 << 53)..=(1i64 << 53),
        ) {
            let mut value = serde_json::json!({ "count": count });
            for (name, text) in members {
                value[name] = serde_json::json!(text);
            }
            let text = serde_jcs::to_string(&value).unwrap();
            proptest::prop_assert!(is_canonical(&text), "{}", text);
        }
    }
}
