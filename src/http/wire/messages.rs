//! Anthropic's Messages API (`POST /messages`): a whole answer's
//! `content` blocks, and the events of a stream.

use serde_json::Value;

use super::{Out, Step, push, stream_error, text};
use crate::http::ClientError;
use crate::http::chunk::{Completion, Usage};

/// `content[]`: `text` blocks are the answer, `thinking` blocks its
/// reasoning; `stop_reason`; `usage` (the total is the sum).
pub(super) fn completion(response: &Value) -> Option<Completion> {
    let blocks = response.get("content")?.as_array()?;
    let mut done = Completion::default();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => push(&mut done.content, text(block, "text").unwrap_or("")),
            Some("thinking") => push(&mut done.reasoning, text(block, "thinking").unwrap_or("")),
            _ => {}
        }
    }
    done.finish_reason = text(response, "stop_reason").map(String::from);
    done.usage = response.get("usage").map(|u| {
        let mut usage = Usage::default();
        add(&mut usage, u);
        usage
    });
    Some(done)
}

/// Takes the counts `u` has (a stream sends input and output apart).
fn add(usage: &mut Usage, u: &Value) {
    if let Some(n) = u.get("input_tokens").and_then(Value::as_u64) {
        usage.prompt_tokens = n;
    }
    if let Some(n) = u.get("output_tokens").and_then(Value::as_u64) {
        usage.completion_tokens = n;
    }
    usage.total_tokens = usage.prompt_tokens.saturating_add(usage.completion_tokens);
}

/// One stream event, by its `type`; `usage` gathers the counts of
/// `message_start` and `message_delta`.
pub(super) fn event(
    kind: &str,
    v: &Value,
    out: &mut Out<'_>,
    usage: &mut Option<Usage>,
) -> Result<Step, ClientError> {
    match kind {
        "message_start" => {
            if let Some(u) = v.pointer("/message/usage") {
                add(usage.get_or_insert_default(), u);
            }
        }
        "content_block_start" => {
            // A block may start with text of its own.
            let block = v.get("content_block").unwrap_or(&Value::Null);
            match block.get("type").and_then(Value::as_str) {
                Some("text") => {
                    if let Some(t) = text(block, "text") {
                        out.content(t)?;
                    }
                }
                Some("thinking") => {
                    if let Some(t) = text(block, "thinking") {
                        out.reasoning(t)?;
                    }
                }
                _ => {}
            }
        }
        "content_block_delta" => {
            let delta = v.get("delta").unwrap_or(&Value::Null);
            match delta.get("type").and_then(Value::as_str) {
                Some("text_delta") => out.content(text(delta, "text").unwrap_or(""))?,
                Some("thinking_delta") => {
                    out.reasoning(text(delta, "thinking").unwrap_or(""))?;
                }
                // signature_delta, input_json_delta (tools): not shown.
                _ => {}
            }
        }
        "message_delta" => {
            if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                out.summary.finish_reason = Some(r.to_string());
            }
            if let Some(u) = v.get("usage") {
                add(usage.get_or_insert_default(), u);
            }
        }
        "message_stop" => {
            out.summary.usage = *usage;
            return Ok(Step::Done);
        }
        "error" => return Err(stream_error(v)),
        // ping, content_block_stop, and whatever comes later.
        _ => {}
    }
    Ok(Step::More)
}
