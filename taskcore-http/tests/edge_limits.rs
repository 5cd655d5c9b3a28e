//! The edge defences against a real socket (issue 16): slow and idle connections are closed
//! while `/health` stays fast, connections over the cap are refused without disturbing served
//! ones, room-code misses and room creation are rate limited per client (and
//! `X-Forwarded-For` counts only from trusted proxies), event streams are capped per room and
//! per client, and every response carries the security headers.

#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use taskcore::MemoryStore;
use taskcore_http::edge::{API_CSP, Cidr, EdgeConfig, Rate, TrustedProxies, UI_CSP};
use taskcore_http::{AppState, BoundServer, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server over `MemoryStore` on a free loopback port, stopped when dropped.
struct Running {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Running {
    async fn start(edge: EdgeConfig) -> Self {
        let config = ServerConfig::default()
            .bind("127.0.0.1:0".parse().unwrap())
            .shutdown_grace(Duration::from_millis(200))
            .edge(edge);
        let server = BoundServer::bind(config, AppState::new(Arc::new(MemoryStore::new()))).await.unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.serve(async move {
            let _ = stopped.await;
        }));
        Self { addr, _stop: stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap()
}

/// Sends `request` on a fresh connection and returns the status, headers and JSON body.
async fn call(request: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// Reads until the server closes the connection; how long that took.
async fn time_until_closed(stream: &mut TcpStream, within: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0_u8; 1024];
    loop {
        match tokio::time::timeout(within.saturating_sub(started.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the connection was still open after {within:?}"),
        }
    }
}

async fn health_latency(server: &Running) -> Duration {
    let started = Instant::now();
    let (status, _, _) = call(client().get(server.url("/health"))).await;
    assert_eq!(status, 200);
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_and_idle_connections_are_closed_and_health_stays_fast() {
    let edge = EdgeConfig {
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(30),
        ..EdgeConfig::default()
    };
    let server = Running::start(edge).await;

    // 50 clients trickle a header line every 200 ms, 50 connect and send nothing
    let mut tricklers = Vec::new();
    for _ in 0..50 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        tricklers.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut n = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                n += 1;
                if stream.write_all(format!("X-Slow-{n}: 1\r\n").as_bytes()).await.is_err() {
                    return started.elapsed();
                }
                if started.elapsed() > Duration::from_secs(10) {
                    panic!("a trickling client was still connected after 10 s");
                }
            }
        }));
    }
    let mut silent = Vec::new();
    for _ in 0..50 {
        silent.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        worst = worst.max(health_latency(&server).await);
    }
    assert!(worst < Duration::from_millis(750), "/health took {worst:?} among 100 slow connections");

    for mut stream in silent {
        let closed = time_until_closed(&mut stream, Duration::from_secs(5)).await;
        assert!(closed < Duration::from_millis(2500), "a silent connection was closed after {closed:?}");
    }
    for trickler in tricklers {
        let closed = trickler.await.unwrap();
        // closed at the 1 s header timeout; the client notices at its next write or the one after
        assert!(closed < Duration::from_millis(2500), "a trickling connection lived {closed:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let edge = EdgeConfig {
        header_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(1),
        ..EdgeConfig::default()
    };
    let server = Running::start(edge).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // the idle time starts when the response is sent, so at the earliest 1 s after the request
    let sent = Instant::now();
    stream.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = [0_u8; 1024];
    let read = stream.read(&mut buf).await.unwrap();
    assert!(buf[..read].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..read]));
    time_until_closed(&mut stream, Duration::from_secs(5)).await;
    let closed = sent.elapsed();
    assert!(closed > Duration::from_millis(990) && closed < Duration::from_millis(2500), "closed after {closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_refused_and_served_ones_go_on() {
    let edge = EdgeConfig { max_connections: 8, ..EdgeConfig::default() };
    let server = Running::start(edge).await;
    let request = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut served = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = [0_u8; 2048];
    served.write_all(request).await.unwrap();
    let read = served.read(&mut buf).await.unwrap();
    assert!(buf[..read].starts_with(b"HTTP/1.1 200"));
    let mut idle = Vec::new();
    for _ in 0..7 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut over = TcpStream::connect(server.addr).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), over.read_to_end(&mut answer)).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["code"], "too_many_connections");

    served.write_all(request).await.unwrap();
    let read = served.read(&mut buf).await.unwrap();
    assert!(buf[..read].starts_with(b"HTTP/1.1 200"), "a connection being served is not disturbed");

    drop(idle.pop());
    let mut admitted = false;
    for _ in 0..40 {
        if let Ok(response) = client().get(server.url("/livez")).send().await
            && response.status() == 200
        {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(admitted, "a closed connection frees its slot");
}

/// A connection from `source` (any 127.0.0.0/8 address is a different client on loopback).
async fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// What the server answers on `stream` within 2 s (empty if it closed without a word).
async fn first_answer(stream: &mut TcpStream) -> String {
    stream.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n").await.ok();
    let mut buf = vec![0_u8; 2048];
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await.unwrap().unwrap_or(0);
    String::from_utf8_lossy(&buf[..read]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_hold_every_connection() {
    let edge = EdgeConfig { max_connections_per_client: 3, ..EdgeConfig::default() };
    let server = Running::start(edge).await;
    let mut hoarded = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from("127.0.0.2", server.addr).await;
        assert!(first_answer(&mut stream).await.starts_with("HTTP/1.1 200"));
        hoarded.push(stream);
    }
    let mut over = connect_from("127.0.0.2", server.addr).await;
    let answer = first_answer(&mut over).await;
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("too_many_connections_from_client"), "{answer}");
    let mut other = connect_from("127.0.0.3", server.addr).await;
    assert!(first_answer(&mut other).await.starts_with("HTTP/1.1 200"), "other clients are still served");

    // a trusted proxy carries many clients: it is not capped
    let edge = EdgeConfig {
        max_connections_per_client: 3,
        trusted_proxies: TrustedProxies::new(vec!["127.0.0.2".parse::<Cidr>().unwrap()]),
        ..EdgeConfig::default()
    };
    let behind_proxy = Running::start(edge).await;
    let mut proxied = Vec::new();
    for _ in 0..6 {
        let mut stream = connect_from("127.0.0.2", behind_proxy.addr).await;
        assert!(first_answer(&mut stream).await.starts_with("HTTP/1.1 200"));
        proxied.push(stream);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_code_misses_are_limited_per_client_with_retry_after() {
    let edge = EdgeConfig { room_misses: Rate::new(60, 3), ..EdgeConfig::default() };
    let server = Running::start(edge).await;
    let http = client();
    let (status, _, room) = call(http.post(server.url("/rooms")).json(&json!({ "username": "alice" }))).await;
    assert_eq!(status, 201);
    let code = room["room_code"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        assert_eq!(call(http.get(server.url(&format!("/rooms/{code}")))).await.0, 200, "hits are not counted");
    }
    for guess in ["ZZZZZZ", "YYYYYY", "XXXXXX"] {
        assert_eq!(call(http.get(server.url(&format!("/rooms/{guess}")))).await.0, 404);
    }
    // over the limit: every request naming a room is refused, even a right guess
    for path in [
        "/rooms/WWWWWW".to_owned(),
        format!("/rooms/{code}"),
        format!("/tasks?room={code}"),
        format!("/rooms/{code}/changes"),
    ] {
        let (status, headers, body) = call(http.get(server.url(&path))).await;
        assert_eq!(status, 429, "{path}");
        assert_eq!(body["code"], "too_many_room_misses", "{path}");
        assert_eq!(headers["retry-after"], "1", "{path}");
    }
    let (status, _, body) =
        call(http.post(server.url("/rooms/join")).json(&json!({ "room_code": code, "username": "bob" }))).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("too_many_room_misses")));
    assert_eq!(call(http.get(server.url("/health"))).await.0, 200, "other endpoints are not limited");
    // a spoofed X-Forwarded-For does not help: no proxy is trusted
    let spoofed = http.get(server.url(&format!("/rooms/{code}"))).header("x-forwarded-for", "198.51.100.7");
    assert_eq!(call(spoofed).await.0, 429);

    let metrics = http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("taskcore_edge_refusals_total{reason=\"too_many_room_misses\"}")),
        "refusals are counted"
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call(http.get(server.url(&format!("/rooms/{code}")))).await.0, 200, "after Retry-After");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let edge = EdgeConfig {
        room_misses: Rate::new(1, 2),
        trusted_proxies: TrustedProxies::new(vec!["127.0.0.0/8".parse::<Cidr>().unwrap()]),
        ..EdgeConfig::default()
    };
    let server = Running::start(edge).await;
    let http = client();
    let miss = |client: &'static str| {
        http.get(server.url("/rooms/QQQQQQ")).header("x-forwarded-for", format!("6.6.6.6, {client}"))
    };
    assert_eq!(call(miss("198.51.100.1")).await.0, 404);
    assert_eq!(call(miss("198.51.100.1")).await.0, 404);
    assert_eq!(call(miss("198.51.100.1")).await.0, 429);
    assert_eq!(call(miss("198.51.100.2")).await.0, 404, "another forwarded client has its own budget");
    // the left-most (client-supplied) entry is not believed: same client, same budget
    let spoofed = http.get(server.url("/rooms/QQQQQQ")).header("x-forwarded-for", "1.1.1.1, 198.51.100.1");
    assert_eq!(call(spoofed).await.0, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_created_per_client_are_limited() {
    let edge = EdgeConfig { rooms_created: Rate::new(3, 3), ..EdgeConfig::default() };
    let server = Running::start(edge).await;
    let http = client();
    for _ in 0..3 {
        assert_eq!(call(http.post(server.url("/rooms")).json(&json!({ "username": "a" }))).await.0, 201);
    }
    let (status, headers, body) = call(http.post(server.url("/rooms")).json(&json!({ "username": "a" }))).await;
    assert_eq!(status, 429);
    assert_eq!(body["code"], "too_many_rooms_created");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((19..=20).contains(&retry), "3 a minute: the next one in 20 s, got {retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_capped_per_room_and_per_client() {
    let edge = EdgeConfig { streams_per_room: 2, streams_per_client: 3, ..EdgeConfig::default() };
    let server = Running::start(edge).await;
    let http = client();
    let mut rooms = Vec::new();
    for _ in 0..3 {
        let (_, _, room) = call(http.post(server.url("/rooms")).json(&json!({ "username": "a" }))).await;
        rooms.push(room["room_code"].as_str().unwrap().to_owned());
    }
    let open = |code: &str| http.get(server.url(&format!("/rooms/{code}/events"))).send();
    let first = open(&rooms[0]).await.unwrap();
    let _second = open(&rooms[0]).await.unwrap();
    assert_eq!(first.status(), 200);
    let third = open(&rooms[0]).await.unwrap();
    assert_eq!(third.status(), 429);
    assert_eq!(third.json::<Value>().await.unwrap()["code"], "too_many_streams_in_room");
    let other_room = open(&rooms[1]).await.unwrap();
    assert_eq!(other_room.status(), 200);
    let fourth = open(&rooms[2]).await.unwrap();
    assert_eq!(fourth.status(), 429);
    assert_eq!(fourth.json::<Value>().await.unwrap()["code"], "too_many_streams_for_client");

    drop(first);
    let mut reopened = false;
    for _ in 0..60 {
        let again = open(&rooms[0]).await.unwrap();
        if again.status() == 200 {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened, "a closed stream frees its slots");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_security_headers_and_request_ids_are_checked() {
    let server = Running::start(EdgeConfig::default()).await;
    let http = client();
    for page in ["/", "/tasks.html"] {
        let (status, headers, _) = call(http.get(server.url(page))).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-security-policy"], UI_CSP, "{page}");
        assert!(UI_CSP.contains("frame-ancestors 'none'") && !UI_CSP.contains("unsafe-inline"));
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
    }
    for path in ["/health", "/assets/tasks.js", "/nowhere", "/rooms/ZZZZZZ"] {
        let (_, headers, _) = call(http.get(server.url(path))).await;
        assert_eq!(headers["content-security-policy"], API_CSP, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
    }
    let (_, headers, _) = call(http.get(server.url("/health")).header("x-request-id", "trace-42.a_b")).await;
    assert_eq!(headers["x-request-id"], "trace-42.a_b", "a plain id is kept");
    for forged in ["x request_id=admin", &"a".repeat(65), "a,b"] {
        let (_, headers, _) = call(http.get(server.url("/health")).header("x-request-id", forged)).await;
        let id = headers["x-request-id"].to_str().unwrap();
        assert_ne!(id, forged);
        assert!(taskcore_http::edge::is_acceptable_request_id(id.as_bytes()), "replaced by a generated id: {id}");
    }
}
