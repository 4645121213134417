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
