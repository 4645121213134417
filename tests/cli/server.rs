//! A scriptable HTTP/1.1 server on 127.0.0.1 for network tests.
//!
//! Each test queues replies; every connection takes the next one and plays
//! its steps (writes, chunked pieces, pauses, an abrupt close), and every
//! request is recorded so tests can assert what went on the wire.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// What the server does on a connection.
#[derive(Debug, Clone)]
pub enum Step {
    /// Raw bytes.
    Write(Vec<u8>),
    /// One chunk of a chunked body.
    Chunk(Vec<u8>),
    /// The chunked body's terminator.
    EndChunks,
    Sleep(Duration),
    /// Stop answering but keep the socket open for this long.
    Stall(Duration),
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub steps: Vec<Step>,
}

fn head(status: u16, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut h = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

impl Reply {
    /// A complete response with a Content-Length.
    pub fn body(status: u16, content_type: &str, body: &[u8], extra: &[(&str, &str)]) -> Reply {
        let len = body.len().to_string();
        let mut headers = vec![
            ("content-type", content_type),
            ("content-length", len.as_str()),
        ];
        headers.extend_from_slice(extra);
        let mut bytes = head(status, &headers);
        bytes.extend_from_slice(body);
        Reply {
            steps: vec![Step::Write(bytes)],
        }
    }

    pub fn json(status: u16, body: &Value) -> Reply {
        Reply::body(status, "application/json", body.to_string().as_bytes(), &[])
    }

    /// A chat completion answering `content`.
    pub fn answer(content: &str) -> Reply {
        Reply::json(
            200,
            &serde_json::json!({
                "id": "c1", "object": "chat.completion", "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
            }),
        )
    }

    /// An event stream sent in chunked encoding, one chunk per piece.
    pub fn sse_pieces(pieces: &[&str]) -> Reply {
        let mut steps = vec![Step::Write(head(
            200,
            &[
                ("content-type", "text/event-stream"),
                ("transfer-encoding", "chunked"),
            ],
        ))];
        for p in pieces {
            steps.push(Step::Chunk(p.as_bytes().to_vec()));
            steps.push(Step::Sleep(Duration::from_millis(2)));
        }
        steps.push(Step::EndChunks);
        Reply { steps }
    }

    /// A stream of content deltas ending in `[DONE]`.
    pub fn stream(deltas: &[&str]) -> Reply {
        let mut events: Vec<String> = deltas.iter().map(|d| chunk_event(d)).collect();
        events.push("data: [DONE]\n\n".into());
        let refs: Vec<&str> = events.iter().map(String::as_str).collect();
        Reply::sse_pieces(&refs)
    }

    /// The steps of this reply followed by more.
    pub fn then(mut self, steps: Vec<Step>) -> Reply {
        self.steps.extend(steps);
        self
    }
}

/// One `data:` event carrying a content delta.
pub fn chunk_event(content: &str) -> String {
    format!(
        "data: {}\n\n",
        serde_json::json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
    )
}

pub struct Server {
    pub addr: String,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let replies: Arc<Mutex<VecDeque<Reply>>> = Arc::default();
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let (r, q) = (replies.clone(), requests.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (r, q) = (r.clone(), q.clone());
                std::thread::spawn(move || serve(conn, &r, &q));
            }
        });
        Server {
            addr,
            replies,
            requests,
        }
    }

    /// The base URL a provider should use (`.../v1`).
    pub fn base(&self) -> String {
        format!("{}/v1", self.addr)
    }

    pub fn push(&self, reply: Reply) -> &Self {
        self.replies.lock().unwrap().push_back(reply);
        self
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests().last().cloned().expect("a request arrived")
    }
}

fn serve(conn: TcpStream, replies: &Mutex<VecDeque<Reply>>, requests: &Mutex<Vec<Recorded>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    // As a proxy: answer CONNECT, then serve the tunnelled request.
    let Some(mut recorded) = read_request(&mut reader) else {
        return;
    };
    if recorded.method == "CONNECT" {
        requests.lock().unwrap().push(recorded);
        let mut c = conn.try_clone().unwrap();
        if c.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_err()
        {
            return;
        }
        let Some(tunnelled) = read_request(&mut reader) else {
            return;
        };
        recorded = tunnelled;
    }
    requests.lock().unwrap().push(recorded);
    let reply = replies.lock().unwrap().pop_front().unwrap_or_else(|| {
        Reply::body(
            599,
            "text/plain",
            b"the test queued no reply for this request",
            &[],
        )
    });
    play(conn, reply);
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Recorded> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

fn play(mut conn: TcpStream, reply: Reply) {
    for step in reply.steps {
        let ok = match step {
            Step::Write(b) => conn.write_all(&b).and_then(|()| conn.flush()),
            Step::Chunk(b) => {
                let mut framed = format!("{:x}\r\n", b.len()).into_bytes();
                framed.extend_from_slice(&b);
                framed.extend_from_slice(b"\r\n");
                conn.write_all(&framed).and_then(|()| conn.flush())
            }
            Step::EndChunks => conn.write_all(b"0\r\n\r\n"),
            Step::Sleep(d) | Step::Stall(d) => {
                std::thread::sleep(d);
                Ok(())
            }
        };
        if ok.is_err() {
            return;
        }
    }
    let _ = conn.shutdown(std::net::Shutdown::Both);
}
