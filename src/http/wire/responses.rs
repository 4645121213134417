//! OpenAI's Responses API (`POST /responses`): a whole answer's `output`
//! items, and the typed events of a stream.

use serde_json::Value;

use super::{Out, Step, push, stream_error, text};
use crate::http::ClientError;
use crate::http::chunk::{Completion, Usage};

/// `output[]`: `message` items' `output_text` and `refusal` parts, and
/// `reasoning` items' summary and text; `usage`; the status as the
/// finish reason.
pub(super) fn completion(response: &Value) -> Option<Completion> {
    let output = response.get("output")?.as_array()?;
    let mut done = Completion::default();
    for item in output {
        let parts = item.get("content").and_then(Value::as_array);
        match item.get("type").and_then(Value::as_str) {
            Some("reasoning") => {
                let summary = item.get("summary").and_then(Value::as_array);
                for part in summary
                    .into_iter()
                    .flatten()
                    .chain(parts.into_iter().flatten())
                {
                    if let Some(t) = text(part, "text") {
                        push(&mut done.reasoning, t);
                    }
                }
            }
            _ => {
                for part in parts.into_iter().flatten() {
                    match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => {
                            push(&mut done.content, text(part, "text").unwrap_or(""));
                        }
                        Some("refusal") => {
                            push(&mut done.refusal, text(part, "refusal").unwrap_or(""));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    done.finish_reason = finish(response);
    done.usage = response.get("usage").map(usage);
    Some(done)
}

/// The finish reason: `incomplete_details.reason` when the answer stopped
/// short, else its status (`completed`).
fn finish(response: &Value) -> Option<String> {
    response
        .pointer("/incomplete_details/reason")
        .and_then(Value::as_str)
        .or_else(|| response.get("status").and_then(Value::as_str))
        .map(String::from)
}

/// Why the answer stopped short, if its status says it did.
pub(super) fn incomplete(response: &Value) -> Option<String> {
    (response.get("status").and_then(Value::as_str) == Some("incomplete")).then(|| {
        let why = response
            .pointer("/incomplete_details/reason")
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        format!("the answer is incomplete ({why}); it may be cut short")
    })
}

fn usage(u: &Value) -> Usage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        prompt_tokens: n("input_tokens"),
        completion_tokens: n("output_tokens"),
        total_tokens: n("total_tokens"),
    }
}

/// One stream event, by its `type`.
pub(super) fn event(kind: &str, v: &Value, out: &mut Out<'_>) -> Result<Step, ClientError> {
    let delta = || v.get("delta").and_then(Value::as_str).unwrap_or("");
    match kind {
        "response.output_text.delta" => out.content(delta())?,
        "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
            out.reasoning(delta())?;
        }
        "response.refusal.delta" => out.refusal(delta())?,
        "response.completed" | "response.incomplete" => {
            let response = v.get("response").unwrap_or(&Value::Null);
            out.summary.usage = response.get("usage").map(usage);
            out.summary.finish_reason = finish(response);
            if kind == "response.incomplete" {
                out.summary.incomplete = Some(incomplete(response).unwrap_or_else(|| {
                    "the answer is incomplete; it may be cut short".to_string()
                }));
            }
            return Ok(Step::Done);
        }
        "response.failed" => {
            let response = v.get("response").unwrap_or(v);
            return Err(stream_error(response));
        }
        "error" => return Err(stream_error(v)),
        _ => {}
    }
    Ok(Step::More)
}
