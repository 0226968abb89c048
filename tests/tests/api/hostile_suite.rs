//! The hostile-input suite: every operation of the spec, its every query parameter and
//! request body field, with generated extremes (NUL, dates at ±262143 and year 0, numbers at
//! the i64 and f64 limits, 10,000 repeated parameters, 8 KB header values), sent over a
//! socket to a served instance. No answer may be a 5xx, no connection may be dropped, every
//! refusal is problem+json (naming the field where the value is one no field takes), and
//! nothing is stored.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use digihjelpen::config::EdgeConfig;
use poem::http::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::db_test;
use crate::edge::serve;
use crate::grants::{apply_ok, open_scheme};
use crate::helpers::{id_of, in_days, post};
use crate::locations::{create_ok, deichman};
use crate::support::TestApp;

/// The tables whose row counts must not move.
const TABLES: [&str; 16] = [
    "municipalities",
    "locations",
    "opening_rules",
    "opening_exceptions",
    "location_topics",
    "topics",
    "topic_resources",
    "tickets",
    "ticket_messages",
    "meeting_places",
    "meeting_place_registrations",
    "meeting_place_registration_events",
    "grant_schemes",
    "grant_applications",
    "audit_entries",
    "idempotency_keys",
];

/// An answer read off the socket.
struct Answer {
    status: u16,
    content_type: String,
    body: Value,
    text: String,
}

/// Sends one request on a fresh connection and reads the whole answer; `None` when the
/// connection was dropped without one.
async fn exchange(address: SocketAddr, raw: &[u8]) -> Option<Answer> {
    let mut stream = TcpStream::connect(address).await.ok()?;
    // A server may answer and close before reading all of a huge request.
    let _ = stream.write_all(raw).await;
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&received).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.get(9..12)?.parse().ok()?;
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some(Answer {
        status,
        content_type: header("content-type").unwrap_or_default(),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
        text: body,
    })
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// One hostile request: what is sent, and the field its answer must name, if any.
struct Attack {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    names: Option<String>,
}

impl Attack {
    fn raw(&self, token: Option<&str>) -> Vec<u8> {
        let mut raw = format!(
            "{} {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
            self.method, self.target
        );
        if let Some(token) = token {
            raw.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        for (name, value) in &self.headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        match &self.body {
            Some(body) => raw.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => raw.push_str("\r\n"),
        }
        raw.into_bytes()
    }
}

/// The spec's operations with their path filled in from `ids` (by the segment before each
/// parameter), their query parameters and their request body schema.
struct Operation {
    method: String,
    path: String,
    query: Vec<(String, Value)>,
    body: Option<Value>,
    example: Option<Value>,
    writes: bool,
}

fn operations(spec: &Value, ids: &BTreeMap<&str, String>) -> Vec<Operation> {
    let mut found = Vec::new();
    for (template, methods) in spec["paths"].as_object().unwrap() {
        let segments: Vec<&str> = template.split('/').collect();
        let path: Vec<String> = segments
            .iter()
            .enumerate()
            .map(|(i, segment)| {
                if segment.starts_with('{') {
                    let owner = if *segment == "{registration_id}" {
                        "registrations"
                    } else {
                        segments[i - 1]
                    };
                    ids.get(owner)
                        .cloned()
                        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
                } else {
                    segment.to_string()
                }
            })
            .collect();
        for (method, operation) in methods.as_object().unwrap() {
            let query = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| (p["name"].as_str().unwrap().to_string(), p["schema"].clone()))
                .collect();
            let media = operation["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.values().next().cloned());
            found.push(Operation {
                method: method.to_uppercase(),
                path: path.join("/"),
                query,
                body: media.as_ref().map(|m| resolve(spec, &m["schema"]).clone()),
                example: media
                    .as_ref()
                    .map(|m| resolve(spec, &m["schema"])["example"].clone()),
                writes: method != "get",
            });
        }
    }
    found
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(target) => resolve(
            spec,
            &spec["components"]["schemas"][target.rsplit('/').next().unwrap()],
        ),
        None => match schema["allOf"].as_array().and_then(|a| a.first()) {
            Some(first) => resolve(spec, first),
            None => schema,
        },
    }
}

const QUERY_VALUES: [&str; 10] = [
    "%00",
    "a%00b",
    "%2B262143-01-01",
    "-262144-01-01T00:00:00Z",
    "0000-01-01",
    "%2B262142-12-31",
    "9223372036854775807",
    "-9223372036854775809",
    "1.7976931348623157e308",
    "NaN",
];

/// The hostile values for a body field of `schema`, each with whether the answer must name
/// the field.
fn field_values(schema: &Value) -> Vec<(Value, bool)> {
    let mut values = vec![(json!("a\u{0}b"), true)];
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (_, Some("date-time")) => values.extend([
            (json!("+262143-01-01T00:00:00Z"), true),
            (json!("-262144-01-01T00:00:00Z"), true),
            (json!("0000-01-01T00:00:00Z"), true),
        ]),
        (_, Some("date" | "naive-date")) => values.extend([
            (json!("+262142-12-31"), true),
            (json!("-262144-01-01"), true),
            (json!("0000-01-01"), true),
        ]),
        (Some("integer" | "number"), _) => values.extend([
            (json!(i64::MAX), true),
            (json!(i64::MIN), true),
            (json!(f64::MAX), true),
            (json!(f64::MIN), true),
            (json!(u64::MAX), true),
        ]),
        _ => {}
    }
    values
}

/// Every attack on `operation`.
fn attacks(spec: &Value, operation: &Operation) -> Vec<Attack> {
    let mut attacks = Vec::new();
    let attack = |target: String,
                  headers: Vec<(String, String)>,
                  body: Option<String>,
                  names: Option<String>| Attack {
        method: operation.method.clone(),
        target,
        headers,
        body,
        names,
    };
    let precondition = || {
        if operation.writes && operation.method != "POST" {
            vec![("If-Match".to_string(), "*".to_string())]
        } else {
            vec![]
        }
    };
    let example = operation.example.clone().filter(|e| !e.is_null());
    for (name, schema) in &operation.query {
        for value in QUERY_VALUES {
            let dated = schema["format"]
                .as_str()
                .is_some_and(|f| f.contains("date"));
            let a_date = value.contains("-01");
            let names = value.contains("%00") || (dated && a_date);
            attacks.push(attack(
                format!("{}?{name}={value}", operation.path),
                precondition(),
                // A write's body is broken too, so that nothing can be stored.
                operation.body.as_ref().map(|_| "{".to_string()),
                names.then(|| name.clone()),
            ));
        }
        if schema["type"] == "array" {
            // 10,000 of them within the 64 KiB a request target may have, and beyond it
            // (answered 414 by the HTTP layer, before the app; see `answered_by_http`).
            for value in ["", "=a"] {
                let many = vec![format!("{name}{value}"); 10_000].join("&");
                attacks.push(attack(
                    format!("{}?{many}", operation.path),
                    precondition(),
                    None,
                    None,
                ));
            }
        }
    }
    // 8 KB header values, on reads only (a write with them and a valid body would store).
    if !operation.writes {
        for header in ["X-Long", "If-None-Match", "Accept", "X-Request-Id"] {
            attacks.push(attack(
                operation.path.clone(),
                vec![(header.into(), "x".repeat(8192))],
                None,
                None,
            ));
        }
    } else {
        for header in ["Idempotency-Key", "If-Match"] {
            let mut body = example.clone().unwrap_or(json!({}));
            // The body is refused anyway: only the header is on trial.
            if let Some(map) = body.as_object_mut() {
                map.insert("\u{0}".into(), json!(1));
            }
            attacks.push(attack(
                operation.path.clone(),
                vec![(header.into(), "x".repeat(8192))],
                Some(body.to_string()),
                None,
            ));
        }
    }
    let (Some(schema), Some(example)) = (&operation.body, &example) else {
        if operation.body.is_some() {
            attacks.push(attack(
                operation.path.clone(),
                precondition(),
                Some("{\"\u{0}\": 1}".into()),
                None,
            ));
        }
        return attacks;
    };
    for (field, field_schema) in schema["properties"].as_object().into_iter().flatten() {
        let field_schema = resolve(spec, field_schema);
        let mut targets = vec![(vec![field.clone()], field_schema.clone())];
        if field_schema["type"] == "object" {
            for (inner, inner_schema) in
                field_schema["properties"].as_object().into_iter().flatten()
            {
                targets.push((
                    vec![field.clone(), inner.clone()],
                    resolve(spec, inner_schema).clone(),
                ));
            }
        }
        if field_schema["type"] == "array" {
            let item = resolve(spec, &field_schema["items"]);
            targets.push((vec![field.clone(), "0".into()], item.clone()));
            for (inner, inner_schema) in item["properties"].as_object().into_iter().flatten() {
                targets.push((
                    vec![field.clone(), "0".into(), inner.clone()],
                    resolve(spec, inner_schema).clone(),
                ));
            }
        }
        for (path, target_schema) in targets {
            for (value, named) in field_values(&target_schema) {
                let mut body = example.clone();
                let Some(name) = set(&mut body, &path, value) else {
                    continue;
                };
                attacks.push(attack(
                    operation.path.clone(),
                    precondition(),
                    Some(body.to_string()),
                    named.then_some(name),
                ));
            }
        }
    }
    attacks
}

/// Sets `value` at `path` in `body` (creating an object or a first item on the way); the
/// field's name as the API names it (`days[0].opens`).
fn set(body: &mut Value, path: &[String], value: Value) -> Option<String> {
    let mut name = String::new();
    let mut at = body;
    for (i, part) in path.iter().enumerate() {
        let last = i == path.len() - 1;
        if let Ok(index) = part.parse::<usize>() {
            let items = at.as_array_mut()?;
            if items.is_empty() {
                items.push(json!({}));
            }
            name.push_str(&format!("[{index}]"));
            if last {
                items[index] = value;
                return Some(name);
            }
            at = &mut items[index];
        } else {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(part);
            let map = at.as_object_mut()?;
            if last {
                map.insert(part.clone(), value);
                return Some(name);
            }
            at = map.entry(part.clone()).or_insert_with(|| json!({}));
            if at.is_null() {
                *at = json!({});
            }
            if path[i + 1].parse::<usize>().is_ok() && !at.is_array() {
                *at = json!([]);
            }
        }
    }
    None
}

/// What hyper answers itself, before any app code, with an empty body: a request target
/// over 64 KiB (414) or headers over its buffer (431).
fn answered_by_http(status: u16) -> bool {
    matches!(status, 414 | 431)
}

/// Whether a problem names `field`: in `errors`, or in `detail` (poem's parameter errors).
/// Coordinates are one pair: a point outside Norway is named by its `latitude`.
fn names_field(problem: &Value, field: &str) -> bool {
    let pair = field.replace("longitude", "latitude");
    let detail = problem["detail"].as_str().unwrap_or_default();
    problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["field"] == field || e["field"] == pair.as_str())
        || detail.contains(field)
}

/// The ids the suite's paths use: one of each resource, so that changes reach their checks.
async fn fixtures(app: &TestApp) -> BTreeMap<&'static str, String> {
    let ks = app.ks();
    let oslo = app.municipality("0301");
    let location = create_ok(app, deichman()).await;
    let exception = post(
        app,
        &ks,
        &format!("/api/v1/locations/{location}/exceptions"),
        None,
        json!({"date": in_days(30)[..10], "closed": true}),
    )
    .await;
    exception.expect(201);
    let ticket = post(
        app,
        &oslo,
        "/api/v1/tickets",
        None,
        json!({"subject": "Hei", "body": "Spørsmål", "category": "other"}),
    )
    .await;
    ticket.expect(201);
    let mut place = app.get("/openapi.json").await.body["components"]["schemas"]["NewMeetingPlace"]
        ["example"]
        .clone();
    place["starts_at"] = json!(in_days(40));
    place["ends_at"] = json!(in_days(41));
    place["registration_deadline"] = json!(in_days(39));
    place["status"] = json!("open");
    let place = post(app, &ks, "/api/v1/meeting-places", None, place).await;
    place.expect(201);
    let place = id_of(&place.body);
    let registration = post(
        app,
        &oslo,
        &format!("/api/v1/meeting-places/{place}/registrations"),
        None,
        json!({"participants": 2, "contact_name": "Kari", "contact_email": "kari@oslo.kommune.no", "will_share_experience": false}),
    )
    .await;
    registration.expect(201);
    let scheme = open_scheme(app, 2027, 1_000_000).await;
    let application = apply_ok(app, &scheme, "0301", 1_000).await;
    let topics = app.get("/api/v1/topics").await;
    let slug = topics.body["items"][0]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let resource = app.get("/openapi.json").await.body["components"]["schemas"]["NewTopicResource"]
        ["example"]
        .clone();
    let resource = post(
        app,
        &ks,
        &format!("/api/v1/topics/{slug}/resources"),
        None,
        resource,
    )
    .await;
    resource.expect(201);
    BTreeMap::from([
        ("locations", location),
        ("exceptions", id_of(&exception.body)),
        ("tickets", id_of(&ticket.body)),
        ("meeting-places", place),
        ("registrations", id_of(&registration.body)),
        ("grant-schemes", scheme),
        ("grant-applications", application),
        ("topics", slug),
        ("resources", id_of(&resource.body)),
        ("municipalities", "0301".to_string()),
        ("counties", "03".to_string()),
    ])
}

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push(app.count(table).await);
    }
    counts
}

async fn every_operation_survives_hostile_input_and_stores_nothing(app: TestApp) {
    let ids = fixtures(&app).await;
    let address = serve(&app, EdgeConfig::without_rate_limits()).await;
    let spec: Value = serde_json::from_str(&digihjelpen::app::spec()).unwrap();
    let before = counts(&app).await;
    let tokens = [
        None,
        Some(app.ks()),
        Some(app.kmd()),
        Some(app.municipality("0301")),
    ];
    let mut sent = 0;
    let mut failures = Vec::new();
    for operation in operations(&spec, &ids) {
        for attack in attacks(&spec, &operation) {
            for token in &tokens {
                sent += 1;
                let label = format!(
                    "{} {} as {}",
                    attack.method,
                    &attack.target[..attack.target.len().min(120)],
                    if token.is_some() {
                        "a caller"
                    } else {
                        "anyone"
                    }
                );
                let Some(answer) = exchange(address, &attack.raw(token.as_deref())).await else {
                    failures.push(format!("{label}: the connection was dropped"));
                    continue;
                };
                if answer.status >= 500 {
                    failures.push(format!(
                        "{label} {:?}: {} {}",
                        attack.body, answer.status, answer.text
                    ));
                } else if answer.status < 400 {
                    // Some reads are fine with a value (a NUL-free number as text, ...).
                    if attack.method != Method::GET.as_str() {
                        failures.push(format!(
                            "{label} {:?}: a write was taken: {}",
                            attack.body, answer.status
                        ));
                    }
                } else if answer.content_type != "application/problem+json"
                    && !(answered_by_http(answer.status) && attack.target.len() > 65_534)
                {
                    failures.push(format!("{label}: {} is not problem+json", answer.status));
                } else if let Some(field) = &attack.names
                    && ![401, 403, 404, 405].contains(&answer.status)
                {
                    let named = names_field(&answer.body, field);
                    if !named {
                        failures.push(format!(
                            "{label} {:?}: {} does not name {field}: {}",
                            attack.body, answer.status, answer.text
                        ));
                    }
                }
            }
        }
    }
    assert_eq!(counts(&app).await, before, "something was stored");
    assert!(sent > 5000, "only {sent} requests");
    assert!(
        failures.is_empty(),
        "{} of {sent} failed:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
    eprintln!("hostile suite: {sent} requests, no 5xx, no dropped connection, nothing stored");
}
db_test!(every_operation_survives_hostile_input_and_stores_nothing);
