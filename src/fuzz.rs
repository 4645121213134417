//! Fuzz target bodies, shared by the cargo-fuzz targets in `fuzz/` and by
//! the ordinary tests that replay their corpora (so `cargo test` on stable
//! exercises the same checks). Each takes arbitrary bytes and checks an
//! invariant, not just "no panic".

use std::collections::BTreeMap;
use std::path::Path;

use crate::http::chunk::{self, Decoder};
use crate::http::{ClientError, Sink, StreamSummary, sse, wire};
use crate::plan::manifest;
use crate::provider;
use crate::provider::Wire;
use crate::run::prompt;

/// SSE: any split of the input gives the same events as the whole, within
/// the line limit, spilled to a store or not; and the template fast path decodes each event exactly as
/// a full parse does.
pub fn sse(data: &[u8]) {
    let limit = 4096;
    let whole = sse::parse_all(data, limit);
    let cut = data.first().map_or(0, |b| usize::from(*b)) % (data.len() + 1);
    let cuts = [cut, cut + (cut % 7), data.len() / 2];
    let mut sorted = cuts.to_vec();
    sorted.sort_unstable();
    let split = sse::parse_split(data, &sorted, limit);
    match (&whole, &split) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("split and whole disagree: {whole:?} vs {split:?}"),
    }
    // Spilling an event's data to a store past a small threshold changes
    // nothing, errors included.
    let at = data.last().map_or(0, |b| usize::from(*b % 16));
    let spilled = sse::parse_spilling(data, &sorted, limit, Some(at));
    assert_eq!(spilled, split, "spilled at {at}");
    if let Ok(events) = whole {
        let mut decoder = Decoder::new();
        for (_, d) in &events {
            let fast = decoder.decode(d);
            let full = chunk::decode(d);
            match (&fast, &full) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                _ => panic!("decoder disagrees with a full parse on {d:?}"),
            }
        }
    }
}

/// Chunk decoding: each line of the input is one event's data, decoded in
/// order by one [`Decoder`] (so templates learned from earlier lines meet
/// later ones), by the path for a spilled event, and by a full parse;
/// results and error messages must be equal. Each line is then decoded again, now that the decoder may have
/// learned its shape.
pub fn decode(data: &[u8]) {
    let mut decoder = Decoder::new();
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    for line in lines.iter().chain(lines.iter()) {
        let fast = decoder.decode(line);
        let full = chunk::decode(line);
        // The path for an event spilled to a store, too.
        let stored = chunk::decode_stored(&mut std::io::Cursor::new(line)).expect("memory reads");
        match (&stored, &full) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "spilled {:?}", String::from_utf8_lossy(line)),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!(
                "the spilled path disagrees with a full parse on {:?}: {stored:?} vs {full:?}",
                String::from_utf8_lossy(line)
            ),
        }
        match (&fast, &full) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "on {:?}", String::from_utf8_lossy(line)),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!(
                "decoder disagrees with a full parse on {:?}: {fast:?} vs {full:?}",
                String::from_utf8_lossy(line)
            ),
        }
    }
}

/// Responses and Messages events: each line of the input after the first
/// byte (which picks the protocol) is one event's data, read in order by
/// one [`wire::Decoder`] (so the shape learned from a delta meets the
/// lines after it), then all again; each must give what the full path
/// alone gives: the same texts, the same end, the same error.
pub fn wire(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let protocol = if first % 2 == 0 {
        Wire::Responses
    } else {
        Wire::Messages
    };
    let (mut fast, mut full) = (wire::Decoder::new(protocol), wire::Decoder::new(protocol));
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    for line in lines.iter().chain(lines.iter()) {
        let (mut a, mut b) = (Texts::default(), Texts::default());
        let (mut sa, mut sb) = (StreamSummary::default(), StreamSummary::default());
        let ra = fast.event("message", line, &mut a, &mut sa, "b");
        let rb = full.full("message", line, &mut b, &mut sb, "b");
        let shown = |r: Result<wire::Step, ClientError>| r.map_err(|e| e.to_string());
        assert_eq!(
            (shown(ra), a, sa.answered),
            (shown(rb), b, sb.answered),
            "on {:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// The texts a stream gave, each kind apart.
#[derive(Debug, Default, PartialEq)]
struct Texts {
    content: String,
    reasoning: String,
    refusal: String,
}

impl Sink for Texts {
    fn content(&mut self, t: &str) -> std::io::Result<()> {
        self.content.push_str(t);
        Ok(())
    }
    fn reasoning(&mut self, t: &str) -> std::io::Result<()> {
        self.reasoning.push_str(t);
        Ok(())
    }
    fn refusal(&mut self, t: &str) -> std::io::Result<()> {
        self.refusal.push_str(t);
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Templates: parsing never panics; a parsed template renders with every
/// placeholder filled, and rendering with values free of braces then
/// escaping the result gives back a template with no placeholders.
pub fn template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = prompt::Template::parse(text) else {
        return;
    };
    let values: BTreeMap<String, String> = t
        .params()
        .iter()
        .map(|p| (p.to_string(), format!("<{p}>")))
        .collect();
    let out = t.render(&values).expect("every placeholder has a value");
    let escaped = out.replace('{', "{{").replace('}', "}}");
    let again = prompt::Template::parse(&escaped).expect("an escaped text parses");
    assert!(again.params().is_empty());
    assert_eq!(again.render(&BTreeMap::new()).unwrap(), out);
}

/// Manifests: parsing never panics; what parses validates, and renders
/// back (via export) to a manifest that parses to the same providers.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(entries) = manifest::parse(Path::new("fuzz.toml"), text) else {
        return;
    };
    let providers: Vec<_> = entries.iter().map(|e| e.provider.clone()).collect();
    for p in &providers {
        p.validate().expect("a parsed provider is valid");
    }
    let (rendered, replaced) = manifest::render(&providers);
    if replaced.is_empty() {
        let back = manifest::parse(Path::new("fuzz.toml"), &rendered).expect("an export parses");
        let back: Vec<_> = back.into_iter().map(|e| e.provider).collect();
        assert_eq!(back, providers);
    }
}

/// Headers: parsing never panics, and an accepted header has a valid name,
/// a value without CR/LF/NUL, and parses again to itself.
pub fn header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((name, value)) = provider::parse_header_arg(text) else {
        return;
    };
    provider::validate_header_name(&name).expect("accepted name");
    assert!(!value.contains(['\r', '\n', '\0']));
    assert_eq!(
        provider::parse_header_arg(&format!("{name}:{value}")),
        Ok((name, value))
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Replays `fuzz/corpus/<target>/*` (the seeds, and anything a fuzzing
    /// run found and saved there).
    fn replay(target: &str, f: fn(&[u8])) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            f(&std::fs::read(&path).unwrap());
            n += 1;
        }
        assert!(n > 0, "no corpus in {}", dir.display());
    }

    #[test]
    fn corpora_replay() {
        replay("sse", sse);
        replay("decode", decode);
        replay("template", template);
        replay("manifest", manifest);
        replay("header", header);
        replay("wire", wire);
    }

    fn mutate(seed: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
        let mut v = seed.to_vec();
        for &(at, byte, op) in edits {
            let at = if v.is_empty() { 0 } else { at % (v.len() + 1) };
            match op % 3 {
                0 if at < v.len() => v[at] = byte,
                1 => v.insert(at.min(v.len()), byte),
                _ if at < v.len() => {
                    v.remove(at);
                }
                _ => {}
            }
        }
        v
    }

    /// Every file of the decode corpus, as mutation seeds.
    fn decode_seeds() -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode");
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        seeds.sort();
        seeds
    }

    const SEEDS: &[&[u8]] = &[
        b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n",
        b"Hello {name}, {{literal}} {x-y}\n",
        b"[providers.a]\nbase_url = \"http://x/v1\"\nheaders = { X = \"${env:K}\" }\n",
        b"X-Title: aix",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
            sse(&data);
            decode(&data);
            template(&data);
            manifest(&data);
            header(&data);
            wire(&data);
        }

        /// Responses and Messages events, mutated where the shape and
        /// the walk look, after their unmutated seed.
        #[test]
        fn mutated_events(which in 0usize..64, edits in prop::collection::vec((any::<usize>(), prop::sample::select(b"{}[]\":,\\ 0123456789.eE+-ntfu\t\x01\x7f\xc3\xa9\xffd8".to_vec()), any::<u8>()), 1..6)) {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/wire");
            let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| std::fs::read(e.unwrap().path()).unwrap())
                .collect();
            seeds.sort();
            let seed = &seeds[which % seeds.len()];
            let mut data = seed.clone();
            data.push(b'\n');
            data.extend_from_slice(&mutate(&seed[1..], &edits));
            wire(&data);
        }

        /// Real chunk shapes, mutated where the fast path looks: in
        /// strings, numbers, escapes, brackets, and UTF-8.
        #[test]
        fn mutated_chunks(which in 0usize..64, edits in prop::collection::vec((any::<usize>(), prop::sample::select(b"{}[]\":,\\ 0123456789.eE+-ntfu\t\x01\x7f\xc3\xa9\xff".to_vec()), any::<u8>()), 1..6)) {
            let seeds = decode_seeds();
            let seed = &seeds[which % seeds.len()];
            // Learn from the seed first, then meet the mutant.
            let mut data = seed.clone();
            data.push(b'\n');
            data.extend_from_slice(&mutate(seed, &edits));
            decode(&data);
        }

        #[test]
        fn mutated_seeds(which in 0usize..4, edits in prop::collection::vec((any::<usize>(), prop::sample::select(b"{}\"\\:\n\r\0 $=[].,ad".to_vec()), any::<u8>()), 0..8)) {
            let data = mutate(SEEDS[which], &edits);
            match which {
                0 => sse(&data),
                1 => template(&data),
                2 => manifest(&data),
                _ => header(&data),
            }
        }
    }
}
