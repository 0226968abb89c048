//! The edge's bounds on a served instance, on a loopback port, at the socket: idle, slow
//! headers and slow bodies are cut off after their configured times, connections and
//! requests in flight are capped (503 with `Retry-After`, `/health/live` still answering),
//! and writes are rate limited per client (429 with `Retry-After`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use digihjelpen::app::app_with;
use digihjelpen::config::EdgeConfig;
use digihjelpen::http::server::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::db_test;
use crate::support::TestApp;

/// Serves `app`'s state with `edge` on a port of its own, until the test ends.
pub async fn serve(app: &TestApp, edge: EdgeConfig) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = Server::new(listener, edge.clone());
    let address = server.local_addr().unwrap();
    let endpoint = app_with(app.state.clone(), &[], &edge);
    tokio::spawn(server.run_with_graceful_shutdown(endpoint, std::future::pending(), None));
    address
}

fn quick() -> EdgeConfig {
    EdgeConfig {
        header_timeout: Duration::from_millis(800),
        body_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_millis(600),
        ..EdgeConfig::without_rate_limits()
    }
}

/// Reads until the server closes the connection (or `limit` passes): what it sent, and when
/// it closed, from `since`.
async fn until_closed(
    stream: &mut TcpStream,
    since: Instant,
    limit: Duration,
) -> (String, Duration) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((since + limit).into(), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "still open after {limit:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        since.elapsed(),
    )
}

/// One request on a fresh connection: the whole answer, the connection closed after it.
async fn request(address: SocketAddr, head: &str) -> String {
    send(address, &format!("{head}\r\nConnection: close\r\n\r\n")).await
}

/// Sends `raw` (a whole request, `Host` added) on a fresh connection; the whole answer.
async fn send(address: SocketAddr, raw: &str) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let (line, rest) = raw.split_once("\r\n").unwrap();
    let raw = format!("{line}\r\nHost: x\r\n{rest}");
    stream.write_all(raw.as_bytes()).await.unwrap();
    until_closed(&mut stream, Instant::now(), Duration::from_secs(5))
        .await
        .0
}

async fn an_idle_connection_is_closed_after_the_idle_timeout(app: TestApp) {
    let address = serve(&app, quick()).await;
    // Nothing sent at all.
    let mut silent = TcpStream::connect(address).await.unwrap();
    // The upper bounds leave room for a machine busy with the rest of the suite.
    let (sent, after) = until_closed(&mut silent, Instant::now(), Duration::from_secs(10)).await;
    assert!(sent.is_empty());
    assert!(after >= Duration::from_millis(550), "{after:?}");
    // Kept alive after an answer, then silent.
    let mut kept = TcpStream::connect(address).await.unwrap();
    kept.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let (_, after) = until_closed(&mut kept, Instant::now(), Duration::from_secs(10)).await;
    assert!(after >= Duration::from_millis(550), "{after:?}");
    // The same after an answer that waited for the database.
    let mut kept = TcpStream::connect(address).await.unwrap();
    kept.write_all(b"GET /api/v1/counties HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let (_, after) = until_closed(&mut kept, Instant::now(), Duration::from_secs(10)).await;
    assert!(after >= Duration::from_millis(550), "{after:?}");
}
db_test!(an_idle_connection_is_closed_after_the_idle_timeout);

async fn headers_sent_slowly_are_cut_off_after_the_header_timeout(app: TestApp) {
    let address = serve(&app, quick()).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET /api/v1/counties HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One header line every 200 ms: always active, never done.
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for i in 0.. {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer
                .write_all(format!("X-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    });
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "still open after 10 s");
    let after = started.elapsed();
    assert!(after >= Duration::from_millis(750), "{after:?}");
    assert!(after < Duration::from_secs(5), "{after:?}");
    trickle.abort();
}
db_test!(headers_sent_slowly_are_cut_off_after_the_header_timeout);

async fn a_body_sent_slowly_is_a_408_after_the_body_timeout(app: TestApp) {
    let address = serve(&app, quick()).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let token = app.ks();
    let head = format!(
        "PATCH /api/v1/municipalities/0301 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         If-Match: \"1\"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut received)).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    let after = started.elapsed();
    assert!(after >= Duration::from_millis(750), "{after:?}");
    assert!(after < Duration::from_secs(5), "{after:?}");
    trickle.abort();
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(a_body_sent_slowly_is_a_408_after_the_body_timeout);

async fn connections_beyond_the_cap_get_503_and_liveness_still_answers(app: TestApp) {
    let edge = EdgeConfig {
        max_connections: 2,
        idle_timeout: Duration::from_secs(5),
        ..quick()
    };
    let address = serve(&app, edge).await;
    let _held: Vec<TcpStream> = vec![
        TcpStream::connect(address).await.unwrap(),
        TcpStream::connect(address).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = request(address, "GET /api/v1/counties HTTP/1.1").await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 1"),
        "{refused}"
    );
    assert!(refused.contains("application/problem+json"));
    let live = request(address, "GET /health/live HTTP/1.1").await;
    assert!(live.starts_with("HTTP/1.1 200"), "{live}");
    drop(_held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let served = request(address, "GET /api/v1/counties HTTP/1.1").await;
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
}
db_test!(connections_beyond_the_cap_get_503_and_liveness_still_answers);

async fn requests_beyond_those_in_flight_get_503_and_liveness_still_answers(app: TestApp) {
    let edge = EdgeConfig {
        max_in_flight: 1,
        body_timeout: Duration::from_secs(3),
        ..quick()
    };
    let address = serve(&app, edge).await;
    // An authenticated request waiting for its body holds the one place in flight.
    let mut holder = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 10\r\n\r\n",
        app.municipality("0301")
    );
    holder.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = request(address, "GET /api/v1/counties HTTP/1.1").await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 1"),
        "{refused}"
    );
    let live = request(address, "GET /health/live HTTP/1.1").await;
    assert!(live.starts_with("HTTP/1.1 200"), "{live}");
    drop(holder);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let served = request(address, "GET /api/v1/counties HTTP/1.1").await;
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
}
db_test!(requests_beyond_those_in_flight_get_503_and_liveness_still_answers);

async fn writes_and_expensive_reads_are_rate_limited_per_client(app: TestApp) {
    let edge = EdgeConfig {
        rate_per_minute: Some(6),
        rate_burst: 3,
        ..quick()
    };
    let address = serve(&app, edge).await;
    let post = |token: String| async move {
        let body = r#"{"subject": "Hei", "body": "Et spørsmål", "category": "other"}"#;
        send(
            address,
            &format!(
                "POST /api/v1/tickets HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\
                 Connection: close\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
        .await
    };
    let oslo = app.municipality("0301");
    for _ in 0..3 {
        let created = post(oslo.clone()).await;
        assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    }
    let limited = post(oslo.clone()).await;
    assert!(limited.starts_with("HTTP/1.1 429"), "{limited}");
    assert!(
        limited.to_ascii_lowercase().contains("retry-after: "),
        "{limited}"
    );
    assert!(limited.contains("/problems/too-many-requests"));
    assert_eq!(app.count("tickets").await, 3);
    // Another principal has a rate of its own; cheap public reads are not rated.
    let bergen = post(app.municipality("4601")).await;
    assert!(bergen.starts_with("HTTP/1.1 201"), "{bergen}");
    for _ in 0..5 {
        let read = request(address, "GET /api/v1/counties HTTP/1.1").await;
        assert!(read.starts_with("HTTP/1.1 200"), "{read}");
    }
    // Anonymous expensive reads share the address's rate.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let search = request(address, "GET /api/v1/locations HTTP/1.1").await;
        statuses.push(search[9..12].to_string());
    }
    assert_eq!(statuses, ["200", "200", "200", "429"]);
}
db_test!(writes_and_expensive_reads_are_rate_limited_per_client);

async fn a_protected_operation_refuses_a_missing_token_before_reading_the_body(app: TestApp) {
    let edge = EdgeConfig {
        body_timeout: Duration::from_secs(30),
        ..EdgeConfig::without_rate_limits()
    };
    let address = serve(&app, edge).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    // A megabyte announced, one byte sent: the answer must not wait for the rest.
    let head = "POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 1048576\r\n\r\n{";
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("an answer before the body arrives")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    assert!(
        text.to_lowercase().contains("www-authenticate: bearer"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(app.count("tickets").await, 0);
}
db_test!(a_protected_operation_refuses_a_missing_token_before_reading_the_body);
