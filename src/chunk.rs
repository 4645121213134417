//! Decoding OpenAI-compatible answers: stream chunks and whole responses.
//!
//! A streamed answer arrives as one small JSON document per event, so the
//! cost of decoding each one decides whether aix keeps up with the socket.
//! Building a `serde_json::Value` per chunk allocates a map for every
//! object and a string for every key; here serde instead deserializes
//! straight into borrowed structs that name only the fields aix reads
//! (`choices[0].delta.content`, reasoning, `finish_reason`, `usage`,
//! `error`) and skips the rest without allocating. Text without escapes is
//! borrowed from the input.
//!
//! That is still ~4x slower than reading the socket, so a stream is decoded
//! by a [`Decoder`] with a fast path that is equal to a full parse by
//! construction. Within one stream, servers send the same bytes around each
//! delta: `{"id":"x",...,"delta":{"content":"` + TEXT + `"},...}`. After a
//! full parse the decoder learns that *template* (the prefix before the
//! content string and the suffix after it), and checks it with a probe: the
//! template with a marker string in the hole, fully parsed, must give the
//! same result with the marker as content. A later chunk that is exactly
//! prefix + one JSON string + suffix is then the same document with one leaf
//! replaced, so only that string is parsed (by serde, so escapes and errors
//! are serde's). Anything else, including every malformed input, takes the
//! full parse. A differential test and the fuzz target compare the two.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

/// Token counts reported by the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}

/// What one stream event carried.
#[derive(Debug, Default, PartialEq)]
pub struct Delta<'a> {
    pub content: Option<Cow<'a, str>>,
    pub reasoning: Option<Cow<'a, str>>,
    pub finish_reason: Option<Cow<'a, str>>,
    pub usage: Option<Usage>,
    /// An `error` object (or string) sent inside the stream.
    pub error: Option<String>,
}

/// One event's meaning.
#[derive(Debug, PartialEq)]
pub enum Item<'a> {
    /// `data: [DONE]`.
    Done,
    Delta(Delta<'a>),
}

/// A JSON string borrowed from the input when it has no escapes.
/// (serde borrows a bare `Cow<str>` but not one inside an `Option`.)
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visitor(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct ChunkWire<'a> {
    #[serde(default, borrow)]
    choices: Option<Vec<ChoiceWire<'a>>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChoiceWire<'a> {
    #[serde(default)]
    index: u64,
    #[serde(default, borrow)]
    delta: Option<DeltaWire<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct DeltaWire<'a> {
    #[serde(default, borrow)]
    content: Option<Text<'a>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Text<'a>>,
    #[serde(default, borrow)]
    reasoning: Option<Text<'a>>,
}

/// Decodes one event's data.
pub fn decode(data: &[u8]) -> Result<Item<'_>, serde_json::Error> {
    if data.trim_ascii() == b"[DONE]" {
        return Ok(Item::Done);
    }
    let wire: ChunkWire<'_> = serde_json::from_slice(data)?;
    let mut delta = Delta {
        usage: wire.usage,
        error: wire.error.as_ref().and_then(error_text),
        ..Delta::default()
    };
    if let Some(choice) = wire.choices.into_iter().flatten().find(|c| c.index == 0) {
        delta.finish_reason = choice.finish_reason.map(|t| t.0);
        if let Some(d) = choice.delta {
            delta.content = d.content.map(|t| t.0).filter(|c| !c.is_empty());
            delta.reasoning = d
                .reasoning_content
                .or(d.reasoning)
                .map(|t| t.0)
                .filter(|r| !r.is_empty());
        }
    }
    Ok(Item::Delta(delta))
}

/// Which delta field a template's hole fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    Content,
    Reasoning,
}

/// A learned chunk shape: `prefix` + JSON string + `suffix`.
#[derive(Debug)]
struct Template {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
    hole: Hole,
    /// Everything else the chunk carries, the same for every match.
    finish_reason: Option<String>,
    usage: Option<Usage>,
    error: Option<String>,
}

const PROBE: &str = "aix-template-probe";

/// A stateful decoder for one stream: [`decode`] with the template fast
/// path described in the module docs. Always returns what [`decode`] would.
#[derive(Debug)]
pub struct Decoder {
    template: Option<Template>,
    /// Fast-path hits of the current template.
    template_hits: u64,
    /// Full parses since the last hit or learning attempt.
    misses: u64,
    /// Misses to wait before trying to learn again. It doubles (up to
    /// 4096) each time a learned template was replaced without a single
    /// hit, and is 1 again after a template that paid off, so a stream
    /// whose chunks never share a shape pays for a few dozen learns, not
    /// one per chunk, while a stream that changes shape relearns at once.
    learn_gap: u64,
    /// How many chunks took the fast path (for tests and benchmarks).
    pub fast_hits: u64,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            template: None,
            template_hits: 0,
            misses: 0,
            learn_gap: 1,
            fast_hits: 0,
        }
    }
}

impl Decoder {
    pub fn new() -> Self {
        Decoder::default()
    }

    pub fn decode<'a>(&mut self, data: &'a [u8]) -> Result<Item<'a>, serde_json::Error> {
        if let Some(t) = &self.template
            && let Some(item) = t.apply(data)
        {
            self.fast_hits += 1;
            self.template_hits += 1;
            self.misses = 0;
            return Ok(item);
        }
        let item = decode(data)?;
        self.misses += 1;
        if self.misses >= self.learn_gap {
            self.misses = 0;
            let learned = match &item {
                Item::Delta(d) => Template::learn(data, d),
                Item::Done => None,
            };
            let paid_off = self.template.is_none() || self.template_hits > 0;
            match learned {
                Some(t) => {
                    self.learn_gap = if paid_off {
                        1
                    } else {
                        (self.learn_gap * 2).min(4096)
                    };
                    self.template = Some(t);
                    self.template_hits = 0;
                }
                None => self.learn_gap = (self.learn_gap * 2).min(4096),
            }
        }
        Ok(item)
    }

    /// The current gap between learning attempts (for tests).
    #[cfg(test)]
    fn gap(&self) -> u64 {
        self.learn_gap
    }
}

impl Template {
    fn apply<'a>(&self, data: &'a [u8]) -> Option<Item<'a>> {
        let (p, s) = (self.prefix.len(), self.suffix.len());
        if data.len() < p + s + 2
            || !data.starts_with(&self.prefix)
            || !data.ends_with(&self.suffix)
        {
            return None;
        }
        let Text(text) = serde_json::from_slice::<Text<'a>>(&data[p..data.len() - s]).ok()?;
        let text = (!text.is_empty()).then_some(text);
        let (content, reasoning) = match self.hole {
            Hole::Content => (text, None),
            Hole::Reasoning => (None, text),
        };
        Some(Item::Delta(Delta {
            content,
            reasoning,
            finish_reason: self.finish_reason.clone().map(Cow::Owned),
            usage: self.usage,
            error: self.error.clone(),
        }))
    }

    /// Learns the template of `data` (which fully decoded to `d`), if its
    /// content or reasoning string can be located and the probe confirms it.
    fn learn(data: &[u8], d: &Delta<'_>) -> Option<Template> {
        let (hole, keys): (Hole, &[&[u8]]) = if d.reasoning.is_none() {
            (Hole::Content, &[b"\"content\""])
        } else if d.content.is_none() {
            (
                Hole::Reasoning,
                &[b"\"reasoning_content\"", b"\"reasoning\""],
            )
        } else {
            return None;
        };
        let (start, end) = keys.iter().find_map(|k| string_after_key(data, k))?;
        let template = Template {
            prefix: data[..start].to_vec(),
            suffix: data[end..].to_vec(),
            hole,
            finish_reason: d.finish_reason.as_deref().map(String::from),
            usage: d.usage,
            error: d.error.clone(),
        };
        // The probe: the template around a marker must fully decode to the
        // same chunk with the marker in the hole.
        let mut probe = template.prefix.clone();
        probe.extend_from_slice(format!("\"{PROBE}\"").as_bytes());
        probe.extend_from_slice(&template.suffix);
        let Ok(Item::Delta(full)) = decode(&probe) else {
            return None;
        };
        let Some(Item::Delta(fast)) = template.apply(&probe) else {
            return None;
        };
        (full == fast).then_some(template)
    }
}

/// Finds the only occurrence of `key` as a key token outside strings,
/// followed by `:` and a string value; returns that string token's span
/// (quotes included). None if the key occurs twice or not at all.
fn string_after_key(data: &[u8], key: &[u8]) -> Option<(usize, usize)> {
    let mut found = None;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'"' => {
                let end = string_end(data, i)?;
                if &data[i..end] == key {
                    let mut j = end;
                    while data.get(j).is_some_and(|b| b.is_ascii_whitespace()) {
                        j += 1;
                    }
                    if data.get(j) == Some(&b':') {
                        if found.is_some() {
                            return None;
                        }
                        j += 1;
                        while data.get(j).is_some_and(|b| b.is_ascii_whitespace()) {
                            j += 1;
                        }
                        if data.get(j) != Some(&b'"') {
                            return None;
                        }
                        found = Some((j, string_end(data, j)?));
                    }
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    found
}

/// The index just past the string token starting at `start` (a quote).
fn string_end(data: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match *data.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The human-readable message of an OpenAI-style `error` value.
pub fn error_text(error: &Value) -> Option<String> {
    match error {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => Some(
            o.get("message")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| error.to_string()),
        ),
        other => Some(other.to_string()),
    }
}

/// A whole (non-stream) chat completion, as far as aix reads it.
#[derive(Debug, Default, PartialEq)]
pub struct Completion {
    pub content: Option<String>,
    pub reasoning: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
}

/// Reads `choices[0].message` and `usage` from a parsed response.
pub fn completion(response: &Value) -> Option<Completion> {
    let choice = response.get("choices")?.as_array()?.first()?;
    let message = choice.get("message")?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(String::from);
    Some(Completion {
        content: text(message.get("content")),
        reasoning: text(message.get("reasoning_content")).or(text(message.get("reasoning"))),
        finish_reason: text(choice.get("finish_reason")),
        usage: response
            .get("usage")
            .and_then(|u| serde_json::from_value(u.clone()).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(data: &str) -> Delta<'_> {
        match decode(data.as_bytes()).unwrap() {
            Item::Delta(d) => d,
            Item::Done => panic!("unexpected [DONE]"),
        }
    }

    #[test]
    fn content_reasoning_finish_usage() {
        let d = delta(
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}"#,
        );
        assert_eq!(d.content.as_deref(), Some("Hi"));
        assert!(
            matches!(d.content, Some(Cow::Borrowed(_))),
            "no escapes: borrowed"
        );
        let d = delta(r#"{"choices":[{"delta":{"content":"a\nb\u00e9\"q\""}}]}"#);
        assert_eq!(d.content.as_deref(), Some("a\nbé\"q\""));
        let d = delta(r#"{"choices":[{"delta":{"reasoning_content":"think"}}]}"#);
        assert_eq!(d.reasoning.as_deref(), Some("think"));
        let d = delta(r#"{"choices":[{"delta":{"reasoning":"or"}}]}"#);
        assert_eq!(d.reasoning.as_deref(), Some("or"));
        let d = delta(r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#);
        assert_eq!(d.finish_reason.as_deref(), Some("stop"));
        let d = delta(
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}"#,
        );
        assert_eq!(
            d.usage,
            Some(Usage {
                prompt_tokens: 3,
                completion_tokens: 5,
                total_tokens: 8
            })
        );
        assert_eq!(d.content, None);
        let d = delta(
            r#"{"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]}"#,
        );
        assert_eq!(d.content.as_deref(), Some("mine"));
        let d = delta(r#"{"choices":[{"delta":{"content":null,"tool_calls":[{"x":1}]}}]}"#);
        assert_eq!(d.content, None);
    }

    #[test]
    fn errors_and_done() {
        assert_eq!(decode(b"[DONE]").unwrap(), Item::Done);
        assert_eq!(decode(b" [DONE] ").unwrap(), Item::Done);
        let d = delta(r#"{"error":{"message":"overloaded","type":"server_error"}}"#);
        assert_eq!(d.error.as_deref(), Some("overloaded"));
        let d = delta(r#"{"error":"plain"}"#);
        assert_eq!(d.error.as_deref(), Some("plain"));
        assert!(decode(b"{\"choices\": [").is_err());
        assert!(decode(b"not json").is_err());
        assert!(decode(b"\"a string\"").is_err());
        assert!(decode(b"{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}").is_err());
    }

    /// Chunk shapes of real servers (llmock/vLLM, Ollama, llama.cpp with a
    /// ticking `created`, OpenAI with a per-chunk `obfuscation`), with
    /// contents that need escapes.
    fn shapes(i: usize, text: &str) -> String {
        let t = serde_json::to_string(text).unwrap();
        match i % 5 {
            0 => format!(
                r#"{{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":null,"choices":[{{"index":0,"delta":{{"content":{t}}},"logprobs":null,"finish_reason":null}}],"usage":null}}"#
            ),
            1 => format!(
                r#"{{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":"fp_ollama","choices":[{{"index":0,"delta":{{"role":"assistant","content":{t}}},"finish_reason":null}}]}}"#
            ),
            2 => format!(
                r#"{{"choices":[{{"finish_reason":null,"index":0,"delta":{{"content":{t}}}}}],"created":{},"id":"x","model":"m","object":"chat.completion.chunk"}}"#,
                i / 50
            ),
            3 => format!(
                r#"{{"id":"c","choices":[{{"index":0,"delta":{{"content":{t}}},"finish_reason":null}}],"obfuscation":"{}"}}"#,
                "z".repeat(i % 7)
            ),
            _ => format!(r#"{{"choices":[{{"index":0,"delta":{{"reasoning_content":{t}}}}}]}}"#),
        }
    }

    /// A tiny deterministic PRNG (xorshift), so the test needs no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn same(
        fast: &Result<Item<'_>, serde_json::Error>,
        full: &Result<Item<'_>, serde_json::Error>,
    ) -> bool {
        match (fast, full) {
            (Ok(a), Ok(b)) => a == b,
            (Err(a), Err(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }

    #[test]
    fn the_fast_path_equals_a_full_parse() {
        let texts = [
            "Hel",
            "lo",
            " ",
            "",
            "é",
            "😀",
            "\"q\"",
            "a\\b",
            "\n",
            "\u{7}",
            "}",
            "\",\"x\":\"",
            "{\"content\":\"no\"}",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut decoder = Decoder::new();
        let mut checked = 0;
        for i in 0..60_000 {
            // Runs of one server's shape, then stretches of random shapes.
            let shape = if (i / 1000) % 2 == 0 {
                (i / 200) % 5
            } else {
                rng.below(5)
            };
            let mut doc = shapes(shape + 5 * (i / 5), texts[rng.below(texts.len())]).into_bytes();
            // Mutate one chunk in four: flip, insert or delete bytes, often
            // right where the fast path looks (quotes, backslashes, braces).
            if rng.below(4) == 0 {
                for _ in 0..=rng.below(3) {
                    let at = rng.below(doc.len());
                    let byte =
                        [b'"', b'\\', b'}', b',', b' ', b'u', 0xff, b'\n', b'a'][rng.below(9)];
                    match rng.below(3) {
                        0 => doc[at] = byte,
                        1 => doc.insert(at, byte),
                        _ => {
                            doc.remove(at);
                        }
                    }
                }
            }
            let fast = decoder.decode(&doc);
            let full = decode(&doc);
            assert!(
                same(&fast, &full),
                "chunk {i}: {:?}\nfast {fast:?}\nfull {full:?}",
                String::from_utf8_lossy(&doc)
            );
            checked += 1;
        }
        assert_eq!(checked, 60_000);
        assert!(
            decoder.fast_hits > 20_000,
            "the fast path is used: {}",
            decoder.fast_hits
        );
    }

    #[test]
    fn a_stream_that_never_fits_learns_rarely() {
        // Unique padding per chunk, like OpenAI's "obfuscation" field.
        let mut d = Decoder::new();
        let mut learns = 0;
        for i in 0..10_000u64 {
            let pad = format!("{:x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let doc = format!(
                r#"{{"choices":[{{"index":0,"delta":{{"content":"x"}}}}],"obfuscation":"{pad}"}}"#
            );
            let before = d.template.as_ref().map(|t| t.suffix.clone());
            assert_eq!(
                d.decode(doc.as_bytes()).unwrap(),
                decode(doc.as_bytes()).unwrap()
            );
            if d.template.as_ref().map(|t| t.suffix.clone()) != before {
                learns += 1;
            }
        }
        assert_eq!(d.fast_hits, 0);
        assert!(learns <= 16, "{learns} learns for 10,000 chunks");
        assert!(d.gap() >= 1024);
    }

    #[test]
    fn templates_are_learned_per_shape() {
        let mut d = Decoder::new();
        for i in 0..10 {
            let doc = shapes(0, &format!("t{i}"));
            assert_eq!(
                d.decode(doc.as_bytes()).unwrap(),
                decode(doc.as_bytes()).unwrap()
            );
        }
        assert_eq!(d.fast_hits, 9);
        // A key that occurs twice cannot be located: no template.
        let twice = r#"{"choices":[{"index":1,"delta":{"content":"a"}},{"index":0,"delta":{"content":"b"}}]}"#;
        let mut d = Decoder::new();
        for _ in 0..5 {
            d.decode(twice.as_bytes()).unwrap();
        }
        assert_eq!(d.fast_hits, 0);
        // An escaped key is the same key to serde; the probe keeps the
        // template from pointing at the wrong string.
        let escaped = r#"{"choices":[{"index":1,"delta":{"content":"wrong"}},{"index":0,"delta":{"cont\u0065nt":"right"}}]}"#;
        let mut d = Decoder::new();
        for _ in 0..5 {
            let Item::Delta(got) = d.decode(escaped.as_bytes()).unwrap() else {
                panic!()
            };
            assert_eq!(got.content.as_deref(), Some("right"));
        }
    }

    #[test]
    fn whole_responses() {
        let v: Value = serde_json::from_str(
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],
                "usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
        )
        .unwrap();
        let c = completion(&v).unwrap();
        assert_eq!(c.content.as_deref(), Some("Hello"));
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
        assert_eq!(c.usage.unwrap().total_tokens, 3);
        assert!(completion(&serde_json::json!({"choices": []})).is_none());
    }
}
