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
//! That is still several times slower than reading the socket, so a
//! stream is decoded by a [`Decoder`] with a fast path that is equal to a
//! full parse by construction. Within one stream, servers send nearly the
//! same bytes around each delta. After a full parse the decoder learns the
//! chunk's *template*: its bytes cut into literal pieces around gaps. One
//! gap is the *hole*, the string the chunk exists for (content, reasoning,
//! refusal, or a tool call's arguments); the others are *free slots*, the
//! values of keys aix never reads (`id`, `created`, `system_fingerprint`,
//! `service_tier`, OpenAI's per-chunk `obfuscation`, `logprobs`, ...), found
//! by a structural walk that names exactly the keys the serde structs
//! read. Probes confirm the template: with markers in the hole and other
//! values in every slot, a full parse must give what the template says. A
//! later chunk matches when its literal pieces are the same bytes and each
//! gap holds one whole valid JSON value: the hole's string is read as serde
//! reads it, and a slot's value is checked to be valid (a plain subset of
//! JSON here, anything else by serde's own skipping) and then ignored, as
//! serde ignores it. The slots that never change are kept as literal bytes
//! (they become slots only once they differ), so the usual chunk costs a
//! few comparisons. Anything else, including every malformed input, takes
//! the full parse, so results and error messages are serde's. A
//! differential test, proptest mutations and the fuzz target compare the
//! two.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

mod spilled;
#[cfg(any(test, feature = "internals"))]
pub use spilled::{PIECE, decode_stored};
pub use spilled::{Span, TextError, decode_spilled, stream_text};

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
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Delta<'a> {
    pub content: Option<Cow<'a, str>>,
    pub reasoning: Option<Cow<'a, str>>,
    /// The model declined; this text is the answer.
    pub refusal: Option<Cow<'a, str>>,
    /// Pieces of tool calls, in the order the server sent them.
    pub tool_calls: Vec<ToolCallDelta<'a>>,
    pub finish_reason: Option<Cow<'a, str>>,
    pub usage: Option<Usage>,
    /// An `error` object (or string) sent inside the stream.
    pub error: Option<String>,
}

/// One piece of a tool call: the first piece of a call usually carries its
/// id and function name, later ones fragments of its arguments.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ToolCallDelta<'a> {
    pub index: u64,
    pub id: Option<Cow<'a, str>>,
    pub name: Option<Cow<'a, str>>,
    pub arguments: Option<Cow<'a, str>>,
}

impl Delta<'_> {
    fn into_owned(self) -> Delta<'static> {
        let own = |c: Option<Cow<'_, str>>| c.map(|c| Cow::Owned(c.into_owned()));
        Delta {
            content: own(self.content),
            reasoning: own(self.reasoning),
            refusal: own(self.refusal),
            tool_calls: self
                .tool_calls
                .into_iter()
                .map(|t| ToolCallDelta {
                    index: t.index,
                    id: own(t.id),
                    name: own(t.name),
                    arguments: own(t.arguments),
                })
                .collect(),
            finish_reason: own(self.finish_reason),
            usage: self.usage,
            error: self.error,
        }
    }
}

/// One event's meaning.
#[derive(Debug, PartialEq)]
pub enum Item<'a> {
    /// `data: [DONE]`.
    Done,
    Delta(Delta<'a>),
}

/// What [`Decoder::read`] makes of an event: the usual chunk, whose whole
/// meaning is one text (none when it is empty), without building a
/// [`Delta`]; anything else as an [`Item`].
#[derive(Debug, PartialEq)]
pub enum Decoded<'a> {
    Text(TextKind, Option<Cow<'a, str>>),
    Item(Item<'a>),
}

/// Which text a [`Decoded::Text`] chunk carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Content,
    Reasoning,
    Refusal,
}

impl TextKind {
    /// The delta of a chunk that carries only `text`.
    fn delta(self, text: Option<Cow<'_, str>>) -> Delta<'_> {
        match self {
            TextKind::Content => Delta {
                content: text,
                ..Delta::default()
            },
            TextKind::Reasoning => Delta {
                reasoning: text,
                ..Delta::default()
            },
            TextKind::Refusal => Delta {
                refusal: text,
                ..Delta::default()
            },
        }
    }
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

// The wire structs name every key aix reads; `Role::of` below must list
// the same keys, since every other key's value is skipped as a free slot.
// `T` is how the texts a chunk exists for are read: as [`Text`], or, for
// a chunk too large to hold (see [`decode_spilled`]), skipped as [`Skip`].

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct ChunkWire<'a, T> {
    #[serde(default, borrow)]
    choices: Option<Vec<ChoiceWire<'a, T>>>,
    #[serde(default, deserialize_with = "usage_or_none")]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
}

/// Usage counts that are not whole numbers (`null`, strings, negatives)
/// are ignored, as a whole answer's are: they never fail the answer.
fn usage_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Usage>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct ChoiceWire<'a, T> {
    #[serde(default)]
    index: u64,
    #[serde(default, borrow)]
    delta: Option<DeltaWire<'a, T>>,
    #[serde(default, borrow)]
    finish_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct DeltaWire<'a, T> {
    #[serde(default)]
    content: Option<T>,
    #[serde(default)]
    reasoning_content: Option<T>,
    #[serde(default)]
    reasoning: Option<T>,
    #[serde(default)]
    refusal: Option<T>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCallWire<'a, T>>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct ToolCallWire<'a, T> {
    #[serde(default)]
    index: u64,
    #[serde(default, borrow)]
    id: Option<Text<'a>>,
    #[serde(default, borrow)]
    function: Option<FunctionWire<'a, T>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct FunctionWire<'a, T> {
    #[serde(default, borrow)]
    name: Option<Text<'a>>,
    #[serde(default)]
    arguments: Option<T>,
}

/// A text field as aix uses it: an empty string is no text.
fn text(t: Option<Text<'_>>) -> Option<Cow<'_, str>> {
    t.map(|t| t.0).filter(|s| !s.is_empty())
}

/// Decodes one event's data.
pub fn decode(data: &[u8]) -> Result<Item<'_>, serde_json::Error> {
    if data.trim_ascii() == b"[DONE]" {
        return Ok(Item::Done);
    }
    let wire: ChunkWire<'_, Text<'_>> = serde_json::from_slice(data)?;
    let mut delta = Delta {
        usage: wire.usage,
        error: wire.error.as_ref().and_then(error_text),
        ..Delta::default()
    };
    if let Some(choice) = wire.choices.into_iter().flatten().find(|c| c.index == 0) {
        delta.finish_reason = choice.finish_reason.map(|t| t.0);
        if let Some(d) = choice.delta {
            delta.content = text(d.content);
            delta.reasoning = text(d.reasoning_content.or(d.reasoning));
            delta.refusal = text(d.refusal);
            delta.tool_calls = d
                .tool_calls
                .into_iter()
                .flatten()
                .map(|t| {
                    let (name, arguments) =
                        t.function.map_or((None, None), |f| (f.name, f.arguments));
                    ToolCallDelta {
                        index: t.index,
                        id: text(t.id),
                        name: text(name),
                        arguments: text(arguments),
                    }
                })
                .collect();
        }
    }
    Ok(Item::Delta(delta))
}

/// Which delta field a template's hole fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Content,
    Reasoning,
    Refusal,
    /// The arguments of the n-th tool call piece.
    Arguments(usize),
}

impl Field {
    /// The text kind of a field outside tool calls.
    fn text_kind(self) -> Option<TextKind> {
        match self {
            Field::Content => Some(TextKind::Content),
            Field::Reasoning => Some(TextKind::Reasoning),
            Field::Refusal => Some(TextKind::Refusal),
            Field::Arguments(_) => None,
        }
    }

    fn get<'d, 'a>(self, d: &'d mut Delta<'a>) -> Option<&'d mut Option<Cow<'a, str>>> {
        Some(match self {
            Field::Content => &mut d.content,
            Field::Reasoning => &mut d.reasoning,
            Field::Refusal => &mut d.refusal,
            Field::Arguments(n) => &mut d.tool_calls.get_mut(n)?.arguments,
        })
    }
}

/// What fills a gap between two literal pieces of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gap {
    /// The text the template exists for: parsed, it fills the field.
    Hole,
    /// A value under a key aix never reads (`id`, `obfuscation`,
    /// `system_fingerprint`, `logprobs`, ...): checked to be valid JSON,
    /// then skipped.
    Slot,
}

/// A piece of a template: literal bytes, then a gap (none after the last).
#[derive(Debug, Clone)]
struct Seg {
    lit: Vec<u8>,
    gap: Option<Gap>,
}

/// A document cut into literal pieces with gaps between them, one gap
/// being the hole (a text) and the others free slots (values that are
/// only checked). The general form has a gap for every slot; the fast form
/// keeps as literal bytes each slot whose value has not changed since
/// learning, so the common case is one comparison per varying field.
#[derive(Debug)]
pub(crate) struct Pieces {
    general: Vec<Seg>,
    /// The learned value of each gap of `general` (the hole's is unused).
    values: Vec<Vec<u8>>,
    /// Whether each gap of `general` has varied (the hole always has).
    varied: Vec<bool>,
    fast: Vec<Seg>,
    /// The value last seen in each gap of `fast` that is a slot (empty
    /// until one is seen, and for the hole): a slot that varies seldom
    /// (llama.cpp's `created` ticks once a second) is then one comparison,
    /// not a check of its value.
    last: Vec<Vec<u8>>,
}

/// How a slot's value is checked: the end of the valid value at an index.
pub(crate) trait Check: Fn(&[u8], usize) -> Option<usize> + Copy {}
impl<F: Fn(&[u8], usize) -> Option<usize> + Copy> Check for F {}

impl Pieces {
    /// `data` cut around `spans` (sorted, apart).
    pub(crate) fn new(data: &[u8], spans: &[(usize, usize, Gap)]) -> Pieces {
        let general = segments(data, spans);
        let values: Vec<Vec<u8>> = spans.iter().map(|&(s, e, _)| data[s..e].to_vec()).collect();
        let varied: Vec<bool> = spans.iter().map(|s| s.2 == Gap::Hole).collect();
        let fast = compile(&general, &values, &varied);
        Pieces {
            last: vec![Vec::new(); fast.len()],
            fast,
            general,
            values,
            varied,
        }
    }

    /// The hole's text, if `data` has this shape, each slot's value
    /// checked by `check`.
    #[inline]
    pub(crate) fn matches<'a>(
        &mut self,
        data: &'a [u8],
        check: impl Check,
    ) -> Option<Option<Cow<'a, str>>> {
        let last = &mut self.last;
        if let Some(hole) = run(&self.fast, data, |k, pos| {
            remembered(&mut last[k], data, pos, check)
        }) {
            return Some(hole);
        }
        // Some slot kept as literal may have a new value: match the general
        // form, and let each slot that differs vary from now on.
        let mut spans = Vec::new();
        let hole = run(&self.general, data, |k, pos| {
            let end = check(data, pos)?;
            spans.push((k, pos, end));
            Some(end)
        })?;
        let mut changed = false;
        for (k, s, e) in spans {
            if !self.varied[k] && data[s..e] != self.values[k][..] {
                self.varied[k] = true;
                changed = true;
            }
        }
        if changed {
            self.fast = compile(&self.general, &self.values, &self.varied);
            self.last = vec![Vec::new(); self.fast.len()];
        }
        Some(hole)
    }

    /// [`Pieces::matches`] without learning which slots vary.
    fn check<'a>(&self, data: &'a [u8], check: impl Check) -> Option<Option<Cow<'a, str>>> {
        run(&self.general, data, |_, pos| check(data, pos))
    }
}

/// A learned chunk shape: its [`Pieces`], and what the chunk means besides
/// the hole's text.
#[derive(Debug)]
struct Template {
    pieces: Pieces,
    hole: Field,
    /// Everything else the chunk means, the same for every match.
    base: Delta<'static>,
    /// `base` is empty (the usual case): no need to clone it.
    plain: bool,
}

const PROBES: [&str; 2] = ["aix-template-probe", "aix-second-probe"];
/// Values put in every slot while probing: if one of them changed what the
/// chunk means, the slot was not free.
const SLOT_PROBES: [&[u8]; 2] = [b"0", b"\"aix-slot-probe\""];
/// Hole candidates tried per learning attempt.
const MAX_CANDIDATES: usize = 4;
/// The longest slot value remembered for comparison (longer ones, like a
/// chunk's logprobs, differ every time: copying them would only cost).
const MEMO_MAX: usize = 64;

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

    /// What [`decode`] makes of `data`, through the template when it matches.
    #[cfg(any(test, feature = "internals"))]
    pub fn decode<'a>(&mut self, data: &'a [u8]) -> Result<Item<'a>, serde_json::Error> {
        Ok(match self.read(data)? {
            Decoded::Text(kind, text) => Item::Delta(kind.delta(text)),
            Decoded::Item(item) => item,
        })
    }

    /// [`Decoder::decode`], with the usual chunk read as its one text.
    #[inline]
    pub fn read<'a>(&mut self, data: &'a [u8]) -> Result<Decoded<'a>, serde_json::Error> {
        if let Some(t) = &mut self.template
            && let Some(hole) = t.matches(data)
        {
            self.fast_hits += 1;
            self.template_hits += 1;
            self.misses = 0;
            let text = hole.filter(|t| !t.is_empty());
            if t.plain
                && let Some(kind) = t.hole.text_kind()
            {
                return Ok(Decoded::Text(kind, text));
            }
            // Built straight into the return value: no move of a Delta.
            return Ok(Decoded::Item(t.item(text)));
        }
        self.full(data).map(Decoded::Item)
    }

    /// The full parse of `data`, and what it teaches the template.
    fn full<'a>(&mut self, data: &'a [u8]) -> Result<Item<'a>, serde_json::Error> {
        let item = decode(data)?;
        self.misses += 1;
        if self.misses >= self.learn_gap {
            self.misses = 0;
            let learned = match &item {
                Item::Delta(d) if d.error.is_none() => Template::learn(data, d),
                _ => None,
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
    /// The hole's text, if `data` has this template's shape.
    #[inline]
    fn matches<'a>(&mut self, data: &'a [u8]) -> Option<Option<Cow<'a, str>>> {
        self.pieces.matches(data, skip_value)
    }

    /// `apply` without learning which slots vary (for the probes).
    fn check<'a>(&self, data: &'a [u8]) -> Option<Item<'a>> {
        let hole = self.pieces.check(data, skip_value)?;
        Some(self.item(hole.filter(|t| !t.is_empty())))
    }

    /// The chunk this template means with `text` (empty as `None`) in
    /// its hole.
    #[inline]
    fn item<'a>(&self, text: Option<Cow<'a, str>>) -> Item<'a> {
        if self.plain
            && let Some(kind) = self.hole.text_kind()
        {
            return Item::Delta(kind.delta(text));
        }
        let mut d: Delta<'a> = self.base.clone();
        // (Learning checked that the base has this field.)
        if let Some(field) = self.hole.get(&mut d) {
            *field = text;
        }
        Item::Delta(d)
    }

    /// Learns a template from `data` (which fully decoded to `d`): finds
    /// the text strings and the free slots, and keeps the first candidate
    /// hole the probes confirm.
    fn learn(data: &[u8], d: &Delta<'_>) -> Option<Template> {
        let mut walk = Walk {
            data,
            holes: Vec::new(),
            slots: Vec::new(),
        };
        let start = walk.ws(0);
        if data.get(start) != Some(&b'{') {
            return None;
        }
        let end = walk.object_at(start, Role::Top, 0)?;
        if data.len() != walk.ws(end) {
            return None;
        }
        // Candidates whose field has text in this chunk first.
        let mut holes = walk.holes.clone();
        holes.sort_by_key(|&(_, _, f)| {
            let mut d = d.clone();
            Field::get(f, &mut d).is_none_or(|v| v.is_none())
        });
        holes.truncate(MAX_CANDIDATES);
        holes
            .into_iter()
            .find_map(|hole| Template::confirm(data, d, hole, &walk.slots))
    }

    fn confirm(
        data: &[u8],
        d: &Delta<'_>,
        hole: (usize, usize, Field),
        slots: &[(usize, usize)],
    ) -> Option<Template> {
        let mut spans: Vec<(usize, usize, Gap)> =
            slots.iter().map(|&(s, e)| (s, e, Gap::Slot)).collect();
        spans.push((hole.0, hole.1, Gap::Hole));
        spans.sort_unstable_by_key(|s| s.0);
        let pieces = Pieces::new(data, &spans);
        let general = &pieces.general;
        // A slot must end where a delimiter follows, so that the value
        // found at match time is the whole value.
        if general.windows(2).any(|w| {
            w[0].gap == Some(Gap::Slot)
                && !matches!(
                    w[1].lit.first(),
                    Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                )
        }) {
            return None;
        }
        let render = |hole_text: &str, slot: &[u8]| {
            let mut out = Vec::new();
            for seg in general {
                out.extend_from_slice(&seg.lit);
                match seg.gap {
                    Some(Gap::Hole) => out.extend_from_slice(format!("\"{hole_text}\"").as_bytes()),
                    Some(Gap::Slot) => out.extend_from_slice(slot),
                    None => {}
                }
            }
            out
        };
        let probe = render(PROBES[0], SLOT_PROBES[0]);
        let second = render(PROBES[1], SLOT_PROBES[1]);
        let Ok(Item::Delta(full)) = decode(&probe) else {
            return None;
        };
        let mut base = full.into_owned();
        let field = hole.2.get(&mut base)?;
        if field.as_deref() != Some(PROBES[0]) {
            return None;
        }
        *field = None;
        let template = Template {
            plain: base == Delta::default(),
            pieces,
            hole: hole.2,
            base,
        };
        // The same document with other values in the hole and the slots,
        // and the chunk itself, must decode as the template says.
        let agree = |doc: &[u8]| match (template.check(doc), decode(doc)) {
            (Some(fast), Ok(full)) => fast == full,
            _ => false,
        };
        let original_agrees =
            matches!(template.check(data), Some(Item::Delta(ref fast)) if fast == d);
        (agree(&probe) && agree(&second) && original_agrees).then_some(template)
    }
}

/// The fast form of a template: each slot that has not varied becomes its
/// learned bytes, merged with the literals around it.
fn compile(general: &[Seg], values: &[Vec<u8>], varied: &[bool]) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut lit = Vec::new();
    for (k, seg) in general.iter().enumerate() {
        lit.extend_from_slice(&seg.lit);
        match seg.gap {
            None => {}
            Some(Gap::Slot) if !varied[k] => lit.extend_from_slice(&values[k]),
            Some(gap) => out.push(Seg {
                lit: std::mem::take(&mut lit),
                gap: Some(gap),
            }),
        }
    }
    out.push(Seg { lit, gap: None });
    out
}

/// `data` cut into literal pieces around `spans` (in order, apart): the
/// gaps of a template.
fn segments(data: &[u8], spans: &[(usize, usize, Gap)]) -> Vec<Seg> {
    let mut segs = Vec::with_capacity(spans.len() + 1);
    let mut at = 0;
    for &(s, e, gap) in spans {
        segs.push(Seg {
            lit: data[at..s].to_vec(),
            gap: Some(gap),
        });
        at = e;
    }
    segs.push(Seg {
        lit: data[at..].to_vec(),
        gap: None,
    });
    segs
}

/// The end of the slot value at `pos`, checked by `check` (such as
/// [`skip_value`]) unless it is `seen`, the slot's value last time (then
/// kept in `seen` if short). (Inlined, as [`run`] is.)
#[inline(always)]
fn remembered(seen: &mut Vec<u8>, data: &[u8], pos: usize, check: impl Check) -> Option<usize> {
    // A valid JSON value followed by a delimiter is the whole value
    // there, so the same bytes again need no check.
    if !seen.is_empty()
        && data[pos..].starts_with(seen)
        && matches!(
            data.get(pos + seen.len()),
            Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
        )
    {
        return Some(pos + seen.len());
    }
    let end = check(data, pos)?;
    if end - pos <= MEMO_MAX {
        seen.clear();
        seen.extend_from_slice(&data[pos..end]);
    }
    Some(end)
}

/// Matches `data` against `segs`; the hole's text if it matches. `slot`
/// is given each slot's gap index and start, and returns the end of its
/// value once checked. (Inlined into its callers: as a call of its own,
/// which codegen chose after unrelated changes, it cost 50 instructions a
/// chunk.)
#[inline(always)]
fn run<'a>(
    segs: &[Seg],
    data: &'a [u8],
    mut slot: impl FnMut(usize, usize) -> Option<usize>,
) -> Option<Option<Cow<'a, str>>> {
    let mut pos = 0;
    let mut hole = None;
    for (k, seg) in segs.iter().enumerate() {
        if !data.get(pos..)?.starts_with(&seg.lit) {
            return None;
        }
        pos += seg.lit.len();
        match seg.gap {
            None => {}
            Some(Gap::Hole) => {
                let (text, end) = hole_text(data, pos)?;
                hole = Some(text);
                pos = end;
            }
            Some(Gap::Slot) => pos = slot(k, pos)?,
        }
    }
    (pos == data.len()).then_some(hole)
}

/// The JSON string at `start` as serde reads it, and its end. A string
/// without escapes or control characters is valid exactly when it is
/// UTF-8, and serde then borrows it, as here; anything else goes to serde.
pub(crate) fn hole_text(data: &[u8], start: usize) -> Option<(Cow<'_, str>, usize)> {
    if data.get(start) != Some(&b'"') {
        return None;
    }
    let body = &data[start + 1..];
    // Deltas are mostly a few bytes: a plain loop for those, memchr beyond.
    let head = body.len().min(32);
    let stop = match body[..head].iter().position(|&b| b == b'"' || b == b'\\') {
        Some(i) => i,
        None => head + memchr::memchr2(b'"', b'\\', &body[head..])?,
    };
    // (A fold, not `any`, so that the check is vectorised.)
    let control = body[..stop].iter().fold(false, |c, &b| c | (b < 0x20));
    if body[stop] == b'"' && !control {
        let text = std::str::from_utf8(&body[..stop]).ok()?;
        return Some((Cow::Borrowed(text), start + stop + 2));
    }
    // Escapes: the plain ones (as in a slot) are undone here, anything
    // else (surrogate pairs, invalid escapes) is left to serde.
    if let Some(end) = plain_string(data, start) {
        return Some((Cow::Owned(unescape_plain(&data[start + 1..end - 1])?), end));
    }
    let end = string_end(data, start)?;
    let Text(text) = serde_json::from_slice::<Text<'_>>(&data[start..end]).ok()?;
    Some((text, end))
}

/// The text of a string's body that [`plain_string`] accepted: its simple
/// escapes and `\u` escapes (never surrogates there) undone.
fn unescape_plain(body: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    while let Some(k) = memchr::memchr(b'\\', &body[at..]) {
        let esc = at + k;
        out.extend_from_slice(&body[at..esc]);
        at = esc + 2;
        let letter = *body.get(esc + 1)?;
        if let Some(byte) = spilled::simple_escape(letter) {
            out.push(byte);
            continue;
        }
        if letter != b'u' {
            return None;
        }
        let hex = std::str::from_utf8(body.get(esc + 2..esc + 6)?).ok()?;
        let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        at = esc + 6;
    }
    out.extend_from_slice(&body[at..]);
    String::from_utf8(out).ok()
}

/// What the value under a key is to the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The chunk itself (an object).
    Top,
    /// The `choices` array, and each choice in it.
    Choices,
    Choice,
    Delta,
    ToolCalls,
    ToolCall,
    Function,
    /// Read as a whole (`index`, `finish_reason`, `usage`, `error`, `id`,
    /// `name`): stays literal.
    Literal,
    /// A text a hole may be.
    Text(Field),
    /// Never read: a free slot.
    Free,
}

impl Role {
    /// The role of the value under `key` inside a value of role `self`.
    /// Must name every key the wire structs read.
    fn of(self, key: &[u8]) -> Role {
        match (self, key) {
            (_, k) if k.contains(&b'\\') => Role::Literal,
            (Role::Top, b"choices") => Role::Choices,
            (Role::Top, b"usage" | b"error") => Role::Literal,
            (Role::Choice, b"delta") => Role::Delta,
            (Role::Choice, b"index" | b"finish_reason") => Role::Literal,
            (Role::Delta, b"content") => Role::Text(Field::Content),
            (Role::Delta, b"reasoning_content" | b"reasoning") => Role::Text(Field::Reasoning),
            (Role::Delta, b"refusal") => Role::Text(Field::Refusal),
            (Role::Delta, b"tool_calls") => Role::ToolCalls,
            (Role::ToolCall, b"function") => Role::Function,
            (Role::ToolCall, b"index" | b"id") => Role::Literal,
            (Role::Function, b"arguments") => Role::Text(Field::Arguments(0)),
            (Role::Function, b"name") => Role::Literal,
            (Role::Top | Role::Choice | Role::Delta | Role::ToolCall | Role::Function, _) => {
                Role::Free
            }
            _ => Role::Literal,
        }
    }
}

/// A structural walk of one (valid) chunk, collecting the spans of
/// candidate holes and of free slots.
struct Walk<'d> {
    data: &'d [u8],
    holes: Vec<(usize, usize, Field)>,
    slots: Vec<(usize, usize)>,
}

impl Walk<'_> {
    fn ws(&self, i: usize) -> usize {
        ws(self.data, i)
    }

    /// Walks the value at `i` in `role`; returns its end. `tool` is the
    /// position of the tool call piece the value is in.
    fn value(&mut self, i: usize, role: Role, tool: usize) -> Option<usize> {
        let first = *self.data.get(i)?;
        match (role, first) {
            (Role::Top | Role::Choice | Role::Delta | Role::ToolCall | Role::Function, b'{') => {
                self.object_at(i, role, tool)
            }
            (Role::Choices | Role::ToolCalls, b'[') => self.array(i, role),
            (Role::Text(f), b'"') => {
                let end = string_end(self.data, i)?;
                let f = match f {
                    Field::Arguments(_) => Field::Arguments(tool),
                    f => f,
                };
                self.holes.push((i, end, f));
                Some(end)
            }
            (Role::Free, _) => {
                let end = value_end(self.data, i)?;
                self.slots.push((i, end));
                Some(end)
            }
            _ => value_end(self.data, i),
        }
    }

    fn array(&mut self, i: usize, role: Role) -> Option<usize> {
        let inner = if role == Role::Choices {
            Role::Choice
        } else {
            Role::ToolCall
        };
        let mut i = self.ws(i + 1);
        if self.data.get(i) == Some(&b']') {
            return Some(i + 1);
        }
        let mut n = 0;
        loop {
            let end = self.value(i, inner, n)?;
            i = self.ws(end);
            n += 1;
            match self.data.get(i)? {
                b',' => i = self.ws(i + 1),
                b']' => return Some(i + 1),
                _ => return None,
            }
        }
    }

    fn object_at(&mut self, i: usize, role: Role, tool: usize) -> Option<usize> {
        let mut i = self.ws(i + 1);
        if self.data.get(i) == Some(&b'}') {
            return Some(i + 1);
        }
        loop {
            if self.data.get(i) != Some(&b'"') {
                return None;
            }
            let key_end = string_end(self.data, i)?;
            let key = &self.data[i + 1..key_end - 1];
            i = self.ws(key_end);
            if self.data.get(i) != Some(&b':') {
                return None;
            }
            i = self.ws(i + 1);
            let end = self.value(i, role.of(key), tool)?;
            i = self.ws(end);
            match self.data.get(i)? {
                b',' => i = self.ws(i + 1),
                b'}' => return Some(i + 1),
                _ => return None,
            }
        }
    }
}

/// Deepest nesting accepted inside a slot; with the few levels around it
/// this stays far below serde's recursion limit (128), so a slot value
/// serde accepts alone it also accepts in place.
const MAX_SLOT_DEPTH: usize = 64;

/// The end of the JSON value starting at `start`, found by scanning (not
/// validating): a string, a bracketed value, or a bare token.
fn value_end(data: &[u8], start: usize) -> Option<usize> {
    match *data.get(start)? {
        b'"' => string_end(data, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                match *data.get(i)? {
                    b'"' => i = string_end(data, i)?,
                    b'{' | b'[' => {
                        depth += 1;
                        if depth > MAX_SLOT_DEPTH {
                            return None;
                        }
                        i += 1;
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        i += 1;
                        if depth == 0 {
                            return Some(i);
                        }
                    }
                    _ => i += 1,
                }
            }
        }
        _ => {
            let len = data[start..]
                .iter()
                .position(|b| b",}] \t\n\r".contains(b))
                .unwrap_or(data.len() - start);
            (len > 0).then_some(start + len)
        }
    }
}

/// Skips the value in a free slot, returning its end if it is valid JSON
/// exactly as serde would accept it there. Values in a plain subset of
/// JSON are checked here; anything else is handed to serde's own skipping.
fn skip_value(data: &[u8], start: usize) -> Option<usize> {
    if let Some(end) = plain_value(data, start) {
        return Some(end);
    }
    let end = value_end(data, start)?;
    serde_json::from_slice::<serde::de::IgnoredAny>(&data[start..end]).ok()?;
    Some(end)
}

pub(crate) fn ws(data: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = data.get(i) {
        i += 1;
    }
    i
}

/// The end of the value at `start` if it lies in a plain subset of JSON:
/// UTF-8 strings without control characters whose escapes are the simple
/// ones or `\u` outside the surrogates, numbers in JSON's grammar,
/// literals, and arrays and objects of those, nested at most
/// `MAX_SLOT_DEPTH`. Everything in the subset is valid JSON, so serde
/// accepts it too; `None` says only "not plain", not "invalid". One pass,
/// no recursion: bit k of `objects` says whether the container at depth
/// k + 1 is an object.
pub(crate) fn plain_value(data: &[u8], start: usize) -> Option<usize> {
    const _: () = assert!(MAX_SLOT_DEPTH <= 64);
    let mut objects: u64 = 0;
    let mut depth = 0usize;
    let mut i = start;
    'value: loop {
        // A value is expected at `i`.
        match *data.get(i)? {
            open @ (b'{' | b'[') => {
                if depth == MAX_SLOT_DEPTH {
                    return None;
                }
                let object = open == b'{';
                objects = (objects << 1) | u64::from(object);
                depth += 1;
                i = ws(data, i + 1);
                let close = if object { b'}' } else { b']' };
                if data.get(i) == Some(&close) {
                    i += 1;
                    depth -= 1;
                    objects >>= 1;
                } else if object {
                    i = ws(data, plain_key(data, i)?);
                    continue 'value;
                } else {
                    continue 'value;
                }
            }
            b'"' => i = plain_string(data, i)?,
            b't' => i = data[i..].starts_with(b"true").then_some(i + 4)?,
            b'f' => i = data[i..].starts_with(b"false").then_some(i + 5)?,
            b'n' => i = data[i..].starts_with(b"null").then_some(i + 4)?,
            b'-' | b'0'..=b'9' => i = plain_number(data, i)?,
            _ => return None,
        }
        // After a value: close containers, or go on to the next value.
        loop {
            if depth == 0 {
                return Some(i);
            }
            i = ws(data, i);
            let object = objects & 1 == 1;
            match (*data.get(i)?, object) {
                (b',', true) => {
                    i = ws(data, plain_key(data, ws(data, i + 1))?);
                    continue 'value;
                }
                (b',', false) => {
                    i = ws(data, i + 1);
                    continue 'value;
                }
                (b'}', true) | (b']', false) => {
                    i += 1;
                    depth -= 1;
                    objects >>= 1;
                }
                _ => return None,
            }
        }
    }
}

/// A plain key at `i` and its colon; the index after the colon.
fn plain_key(data: &[u8], i: usize) -> Option<usize> {
    if data.get(i) != Some(&b'"') {
        return None;
    }
    let j = ws(data, plain_string(data, i)?);
    (data.get(j) == Some(&b':')).then_some(j + 1)
}

/// A plain string at `i` (a quote); the index after its closing quote.
fn plain_string(data: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut ascii = true;
    loop {
        match *data.get(j)? {
            b'"' => break,
            b'\\' => match *data.get(j + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                b'u' => {
                    let hex = data.get(j + 2..j + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    // Surrogates are left to serde.
                    if matches!(hex[0], b'd' | b'D')
                        && matches!(hex[1], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
                    {
                        return None;
                    }
                    j += 6;
                }
                _ => return None,
            },
            0x00..=0x1f => return None,
            0x80.. => {
                ascii = false;
                j += 1;
            }
            _ => j += 1,
        }
    }
    if !ascii {
        std::str::from_utf8(&data[i + 1..j]).ok()?;
    }
    Some(j + 1)
}

/// A number in JSON's grammar at `i`; the index after it.
fn plain_number(data: &[u8], i: usize) -> Option<usize> {
    let digits = |mut j: usize| {
        let from = j;
        while data.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        (j > from).then_some(j)
    };
    let mut j = i + usize::from(data[i] == b'-');
    j = match data.get(j)? {
        b'0' => j + 1,
        b'1'..=b'9' => digits(j)?,
        _ => return None,
    };
    if data.get(j) == Some(&b'.') {
        j = digits(j + 1)?;
    }
    if matches!(data.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(data.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        j = digits(j)?;
    }
    Some(j)
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

/// A whole (non-stream) chat completion, as far as aix reads it. Empty
/// texts are `None`, as in a stream.
#[derive(Debug, Default, PartialEq)]
pub struct Completion {
    pub content: Option<String>,
    pub reasoning: Option<String>,
    pub refusal: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
}

/// One whole tool call of a non-stream answer.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ToolCall {
    pub id: Option<String>,
    pub name: Option<String>,
    pub arguments: Option<String>,
}

/// Reads `choices[0].message` and `usage` from a parsed response.
pub fn completion(response: &Value) -> Option<Completion> {
    let choice = response.get("choices")?.as_array()?.first()?;
    let message = choice.get("message")?;
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let tool_calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|call| {
            let function = call.get("function");
            ToolCall {
                id: text(call.get("id")),
                name: text(function.and_then(|f| f.get("name"))),
                arguments: text(function.and_then(|f| f.get("arguments"))),
            }
        })
        .collect();
    Some(Completion {
        content: text(message.get("content")),
        reasoning: text(message.get("reasoning_content")).or(text(message.get("reasoning"))),
        refusal: text(message.get("refusal")),
        tool_calls,
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

    /// How many shapes `shapes` knows.
    pub(crate) const SHAPES: usize = 9;

    /// Chunk shapes of real servers (llmock/vLLM, Ollama, llama.cpp with a
    /// ticking `created`, OpenAI with per-chunk `obfuscation`, DeepSeek
    /// reasoning, OpenAI with logprobs, streamed tool-call arguments, a
    /// refusal, OpenAI's final usage chunk), with contents that need escapes.
    pub(crate) fn shapes(i: usize, text: &str) -> String {
        let t = serde_json::to_string(text).unwrap();
        let pad: String = (0..4 + i % 9)
            .map(|k| char::from(b"aZ09xQ"[(i * 7 + k * 3) % 6]))
            .collect();
        match i % SHAPES {
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
                r#"{{"id":"chatcmpl-1","object":"chat.completion.chunk","created":{},"model":"gpt-4o","service_tier":"default","system_fingerprint":"fp_{}","choices":[{{"index":0,"delta":{{"content":{t}}},"logprobs":null,"finish_reason":null}}],"usage":null,"obfuscation":"{pad}"}}"#,
                i / 30,
                i % 3
            ),
            4 => format!(
                r#"{{"id":"d","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","choices":[{{"index":0,"delta":{{"content":null,"reasoning_content":{t}}},"logprobs":null,"finish_reason":null}}]}}"#
            ),
            5 => format!(
                r#"{{"id":"c","choices":[{{"index":0,"delta":{{"content":{t}}},"logprobs":{{"content":[{{"token":{t},"logprob":-0.{},"bytes":[{}],"top_logprobs":[{{"token":"{pad}","logprob":-1.5e-3,"bytes":[]}}]}}],"refusal":null}},"finish_reason":null}}],"obfuscation":"{pad}"}}"#,
                i % 97,
                i % 256
            ),
            6 => format!(
                r#"{{"id":"c","choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":{},"function":{{"arguments":{t}}}}}]}},"logprobs":null,"finish_reason":null}}],"obfuscation":"{pad}"}}"#,
                i / 100 % 2
            ),
            7 => format!(
                r#"{{"id":"c","choices":[{{"index":0,"delta":{{"refusal":{t}}},"finish_reason":null}}],"service_tier":"default"}}"#
            ),
            _ => format!(
                r#"{{"id":"c","choices":[],"usage":{{"prompt_tokens":{},"completion_tokens":2,"total_tokens":3}},"obfuscation":"{pad}","note":{t}}}"#,
                i % 5
            ),
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

    /// Delta texts for the differential tests: escapes, control
    /// characters, non-ASCII, and texts that look like JSON structure.
    const TEXTS: [&str; 13] = [
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

    /// Flips, inserts or deletes one to three bytes of `doc`, each one of
    /// `bytes` (the places a fast path looks: quotes, backslashes, braces).
    fn mutate(doc: &mut Vec<u8>, rng: &mut Rng, bytes: &[u8]) {
        for _ in 0..=rng.below(3) {
            let at = rng.below(doc.len());
            let byte = bytes[rng.below(bytes.len())];
            match rng.below(3) {
                0 => doc[at] = byte,
                1 => doc.insert(at, byte),
                _ => {
                    doc.remove(at);
                }
            }
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
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut decoder = Decoder::new();
        let mut checked = 0;
        for i in 0..90_000 {
            // Runs of one server's shape, then stretches of random shapes.
            let shape = if (i / 1000) % 2 == 0 {
                (i / 200) % SHAPES
            } else {
                rng.below(SHAPES)
            };
            let mut doc =
                shapes(shape + SHAPES * (i / SHAPES), TEXTS[rng.below(TEXTS.len())]).into_bytes();
            // Mutate one chunk in four: flip, insert or delete bytes, often
            // right where the fast path looks (quotes, backslashes, braces).
            if rng.below(4) == 0 {
                mutate(&mut doc, &mut rng, b"\"\\},[ u\xff\na0.e-\x7f\x01\xc3:");
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
        assert_eq!(checked, 90_000);
        assert!(
            decoder.fast_hits > 25_000,
            "the fast path is used: {}",
            decoder.fast_hits
        );
    }

    /// `decode_stored` over a memory store, which must equal `decode`;
    /// and whether the spilled path (not the read-back) decoded it.
    fn stored(doc: &[u8]) -> (Result<Item<'static>, serde_json::Error>, bool) {
        let mut src = std::io::Cursor::new(doc.to_vec());
        let spilled = decode_spilled(&mut src).unwrap().is_some();
        (decode_stored(&mut src).unwrap(), spilled)
    }

    #[test]
    fn the_spilled_path_equals_a_full_parse() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let mut spilled = 0;
        for i in 0..30_000 {
            let mut doc = shapes(i, TEXTS[rng.below(TEXTS.len())]).into_bytes();
            let mutated = rng.below(3) == 0;
            if mutated {
                mutate(&mut doc, &mut rng, b"\"\\},[ u\xff\na0.e-\x7f\x01\xc3:dn");
            }
            let (got, by_spill) = stored(&doc);
            let full = decode(&doc);
            assert!(
                same(&got, &full),
                "chunk {i}: {:?}\nspilled {got:?}\nfull {full:?}",
                String::from_utf8_lossy(&doc)
            );
            if !mutated {
                assert!(
                    by_spill,
                    "a real shape is decoded in place: {}",
                    String::from_utf8_lossy(&doc)
                );
            }
            spilled += usize::from(by_spill);
        }
        assert!(spilled > 20_000, "{spilled}");
    }

    #[test]
    fn the_spilled_path_on_odd_chunks() {
        let cases: &[(&[u8], bool)] = &[
            // (chunk, decoded in place rather than read back)
            (br#"{"choices":[{"index":1,"delta":{"content":"x"}},{"delta":{"content":"a\n\u00e9\ud83d\ude00"}}]}"#, true),
            (br#" {"choices":[{"delta":{"reasoning_content":null,"reasoning":"r"}}]} "#, true),
            (br#"{"choices":[{"delta":{"reasoning_content":"","reasoning":"r"}}]}"#, true),
            (br#"{"choices":[{"delta":{"tool_calls":[{"index":2,"id":"c","function":null},{"function":{"name":"f","arguments":"{\"a\":1}"}}]}}]}"#, true),
            (br#"{"choices":null,"usage":{"prompt_tokens":1},"error":null}"#, true),
            (br#"{"choices":[{"delta":{"content":"x"}}],"error":{"message":"boom"}}"#, true),
            (br#"{"x":[{"content":5}],"choices":[{"delta":{"refusal":"no","extra":"\u0000"},"finish_reason":"stop"}]}"#, true),
            // Left to a full parse, which gives the error or the result.
            (br#"{"choices":[{"delta":{"cont\u0065nt":"escaped key"}}]}"#, false),
            (br#"{"choices":[{"delta":{"content":5}}]}"#, false),
            (br#"{"choices":[{"delta":{"content":"\ud800"}}]}"#, false),
            (br#"{"choices":[{"delta":{"content":"\udc00"}}]}"#, false),
            (br#"{"choices":[{"delta":{"content":"\ud800\u0041"}}]}"#, false),
            (br#"{"choices":[{"delta":{"content":"\x"}}]}"#, false),
            (br#"{"choices":[{"index":1,"delta":{"content":"bad\q"}},{"delta":{"content":"ok"}}]}"#, false),
            (br#"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#, false),
            (br#"{"choices":[{"delta":{"content":"a"}}]} x"#, false),
            (b"{\"choices\":[{\"delta\":{\"content\":\"\x01\"}}]}", false),
            (b"{\"choices\":[{\"delta\":{\"content\":\"\xc3\\n\"}}]}", false),
            (b"{\"choices\":[{\"delta\":{\"content\":\"\xc3\"}}]}", false),
            (b"[DONE]", false),
            (b" \x0c{}", false),
            (b"", false),
        ];
        for &(doc, in_place) in cases {
            let (got, by_spill) = stored(doc);
            let full = decode(doc);
            let doc = String::from_utf8_lossy(doc);
            assert!(same(&got, &full), "{doc}\nspilled {got:?}\nfull {full:?}");
            assert_eq!(by_spill, in_place, "{doc}");
        }
    }

    #[test]
    fn spilled_texts_come_in_pieces_at_character_boundaries() {
        // Multi-byte characters and escapes around every piece boundary.
        let mut text = String::new();
        while text.len() < 3 * PIECE + 10 {
            text.push_str("ab\u{e9}\n\u{1F600}\"x\\\u{7f}");
        }
        let doc = shapes(0, &text);
        let mut src = std::io::Cursor::new(doc.clone().into_bytes());
        let s = decode_spilled(&mut src).unwrap().expect("in place");
        let mut pieces = Vec::new();
        stream_text(&mut src, s.content.unwrap(), &mut |p| {
            pieces.push(p.to_string());
            Ok(())
        })
        .unwrap();
        assert!(pieces.len() >= 3, "{}", pieces.len());
        assert!(pieces.iter().all(|p| p.len() <= 2 * PIECE));
        assert_eq!(pieces.concat(), text);
        // A sink that fails stops the text.
        let err = stream_text(&mut src, s.content.unwrap(), &mut |_| {
            Err(std::io::Error::other("full"))
        })
        .unwrap_err();
        assert!(matches!(err, TextError::Sink(_)));
    }

    #[test]
    fn a_stream_that_never_fits_learns_rarely() {
        // A key that differs per chunk: keys are never slots.
        let mut d = Decoder::new();
        let mut learns = 0;
        for i in 0..10_000u64 {
            let pad = format!("{:x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let doc =
                format!(r#"{{"choices":[{{"index":0,"delta":{{"content":"x"}}}}],"k{pad}":1}}"#);
            let lits = |d: &Decoder| {
                d.template.as_ref().map(|t| {
                    t.pieces
                        .general
                        .iter()
                        .map(|s| s.lit.clone())
                        .collect::<Vec<_>>()
                })
            };
            let before = lits(&d);
            assert_eq!(
                d.decode(doc.as_bytes()).unwrap(),
                decode(doc.as_bytes()).unwrap()
            );
            if lits(&d) != before {
                learns += 1;
            }
        }
        assert_eq!(d.fast_hits, 0);
        assert!(learns <= 16, "{learns} learns for 10,000 chunks");
        assert!(d.gap() >= 1024);
    }

    #[test]
    fn unread_fields_that_vary_are_free_slots() {
        // OpenAI: per-chunk obfuscation, a ticking created, fingerprint and
        // tier; then logprobs and tool-call arguments varying per chunk.
        for shape in [3, 5, 6] {
            let mut d = Decoder::new();
            for i in 0..1000 {
                let doc = shapes(shape + SHAPES * i, &format!("t{i}\u{e9}\""));
                assert_eq!(
                    d.decode(doc.as_bytes()).unwrap(),
                    decode(doc.as_bytes()).unwrap(),
                    "{doc}"
                );
            }
            // (Shape 6 switches tool call every ~11 chunks: one miss each.)
            assert!(d.fast_hits >= 900, "shape {shape}: {} hits", d.fast_hits);
        }
    }

    #[test]
    fn a_remembered_slot_value_is_only_taken_whole() {
        // `created` varies, then repeats, grows past its old value, turns
        // into other JSON and into invalid bytes: every chunk must decode as
        // the full parse says, the invalid ones included.
        let created = [
            "1700000000",
            "1700000001",
            "1700000001",
            "17000000010",
            "1700000001",
            "17000000010 ",
            "\"1700000001\"",
            "[1700000001]",
            "1700000001x",
            "1700000001",
            "17000000011e",
            "1700000001",
            "-",
            "1700000001",
        ];
        let mut d = Decoder::new();
        for (i, c) in created.iter().cycle().take(200).enumerate() {
            let doc = format!(
                r#"{{"choices":[{{"index":0,"delta":{{"content":"t{i}"}}}}],"created":{c},"id":"x"}}"#
            );
            let (fast, full) = (d.decode(doc.as_bytes()), decode(doc.as_bytes()));
            assert!(same(&fast, &full), "{doc}\nfast {fast:?}\nfull {full:?}");
        }
        assert!(d.fast_hits >= 100, "{} hits", d.fast_hits);
    }

    #[test]
    fn plain_values_are_valid_json() {
        for ok in [
            &b"null"[..],
            b"-0.5e+3",
            b"\"a\\u00e9\\n\xc3\xa9\"",
            b"{\"content\":[{\"token\":\"x\",\"logprob\":-0.1,\"bytes\":[1,2],\"top_logprobs\":[]}],\"refusal\":null}",
            b"[ 1 , { \"a\" : true } ]",
        ] {
            assert_eq!(plain_value(ok, 0), Some(ok.len()), "{}", String::from_utf8_lossy(ok));
        }
        for not in [
            &b"01"[..],
            b"1.",
            b"-",
            b"\"\\ud800\"",
            b"\"\\u12\"",
            b"\"\x01\"",
            b"\"\xff\"",
            b"{\"a\":1,}",
            b"[1 2]",
            b"nul",
        ] {
            assert_ne!(
                plain_value(not, 0),
                Some(not.len()),
                "{}",
                String::from_utf8_lossy(not)
            );
        }
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_SLOT_DEPTH + 1),
            "]".repeat(MAX_SLOT_DEPTH + 1)
        );
        assert_eq!(plain_value(deep.as_bytes(), 0), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4000, ..Default::default() })]

        /// Whatever the plain check accepts, serde accepts.
        #[test]
        fn what_is_plain_serde_accepts(data in proptest::collection::vec(proptest::sample::select(b"{}[]\":, 0123456789.eE+-ntrufals\\/bu\x01\x7f\xc3\xa9\xff\xed\xa0dD8".to_vec()), 0..40)) {
            if let Some(end) = plain_value(&data, 0) {
                proptest::prop_assert!(
                    serde_json::from_slice::<serde::de::IgnoredAny>(&data[..end]).is_ok(),
                    "{:?}", String::from_utf8_lossy(&data[..end])
                );
            }
        }

        /// A hole's text is what serde reads from the string, escapes and
        /// all, and a string serde refuses is no text.
        #[test]
        fn hole_text_reads_strings_as_serde_does(body in proptest::collection::vec(proptest::sample::select(b"ab \"\\/bfnrtu0123456789aAdDeEfF\x01\x1f\x7f\xc3\xa9\xff\xed\xa0\xf0\x9f\x98\x80".to_vec()), 0..32)) {
            let mut data = b"\"".to_vec();
            data.extend_from_slice(&body);
            data.extend_from_slice(b"\",");
            let mut strings = serde_json::Deserializer::from_slice(&data).into_iter::<String>();
            let serde = strings.next().and_then(Result::ok).map(|t| (t, strings.byte_offset()));
            let ours = hole_text(&data, 0);
            match (&serde, &ours) {
                (Some((text, at)), Some((mine, end))) => {
                    proptest::prop_assert_eq!(text.as_str(), mine.as_ref());
                    proptest::prop_assert_eq!(at, end);
                }
                (None, None) => {}
                (Some(text), None) => proptest::prop_assert!(false, "serde read {text:?}"),
                (None, Some(mine)) => proptest::prop_assert!(false, "only aix read {mine:?}"),
            }
        }
    }

    #[test]
    fn escaped_hole_texts_are_undone() {
        for (json, text) in [
            (r#""a\"b""#, "a\"b"),
            (r#""\n\t\r\b\f\/\\""#, "\n\t\r\u{8}\u{c}/\\"),
            (r#""caf\u00e9 \u20AC""#, "café €"),
            (r#""\ud83d\ude00!""#, "😀!"),
            ("\"\u{e9}\\n\"", "\u{e9}\n"),
        ] {
            let (got, end) = hole_text(json.as_bytes(), 0).expect(json);
            assert_eq!((got.as_ref(), end), (text, json.len()), "{json}");
        }
        for bad in [r#""\ud83d""#, r#""\x""#, r#""\u12""#, "\"a\u{1}\""] {
            assert_eq!(hole_text(bad.as_bytes(), 0), None, "{bad}");
        }
    }

    #[test]
    fn refusals_and_tool_calls_decode() {
        let d = delta(
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":"no"}}]}"#,
        );
        assert_eq!(d.refusal.as_deref(), Some("no"));
        assert_eq!(d.content, None);
        let d = delta(
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_9","type":"function","function":{"name":"f","arguments":""}}]}}]}"#,
        );
        assert_eq!(
            d.tool_calls,
            vec![ToolCallDelta {
                index: 1,
                id: Some("call_9".into()),
                name: Some("f".into()),
                arguments: None
            }]
        );
        let d = delta(
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"a\":"}}]}}]}"#,
        );
        assert_eq!(d.tool_calls[0].arguments.as_deref(), Some("{\"a\":"));
        assert_eq!(d.tool_calls[0].name, None);
        let v: Value = serde_json::from_str(
            r#"{"choices":[{"message":{"content":"","refusal":null,"tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]}}]}"#,
        )
        .unwrap();
        let c = completion(&v).unwrap();
        assert_eq!(c.content, None);
        assert_eq!(
            c.tool_calls,
            vec![ToolCall {
                id: Some("c".into()),
                name: Some("f".into()),
                arguments: Some("{}".into())
            }]
        );
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
        // Two choices: the probes pick the hole in the one with index 0.
        let twice = r#"{"choices":[{"index":1,"delta":{"content":"a"}},{"index":0,"delta":{"content":"b"}}]}"#;
        let mut d = Decoder::new();
        for _ in 0..5 {
            let Item::Delta(got) = d.decode(twice.as_bytes()).unwrap() else {
                panic!()
            };
            assert_eq!(got.content.as_deref(), Some("b"));
        }
        assert_eq!(d.fast_hits, 4);
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
