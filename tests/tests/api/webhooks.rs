//! Webhooks: signed deliveries of the change feed to a receiver on a loopback port, in
//! order, retried after failures, sent once with two app instances on one database,
//! refused for targets that are not public https, and turned off after failing too long.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use digihjelpen::webhooks::worker::WorkerSettings;
use hmac::{Hmac, Mac};
use poem::http::{Method, StatusCode};
use poem::listener::{Acceptor, Listener};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::db_test;
use crate::helpers::{id_of, patch, post, scalar};
use crate::locations::{create_ok, deichman, location_at};
use crate::support::{Reply, TestApp};
use crate::tickets::new_ticket;
use crate::topics::video_calls;

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON delivery")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
    }
}

/// A webhook receiver on a loopback port that answers 500 to its first `failures`
/// requests, then 204.
struct Receiver {
    address: SocketAddr,
    got: Arc<Mutex<Vec<Received>>>,
    failures: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(failures: usize) -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(AtomicUsize::new(failures));
        let (kept, failing) = (Arc::clone(&got), Arc::clone(&failures));
        let endpoint = poem::endpoint::make(move |req: poem::Request| {
            let (kept, failing) = (Arc::clone(&kept), Arc::clone(&failing));
            async move {
                let headers = req
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                let body = req.into_body().into_vec().await.unwrap_or_default();
                kept.lock().unwrap().push(Received { headers, body });
                let fail = failing
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                    .is_ok();
                let status = if fail {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                };
                poem::Response::builder().status(status).finish()
            }
        });
        let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let address = *acceptor.local_addr()[0].as_socket_addr().unwrap();
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
        Self {
            address,
            got,
            failures,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Every request so far, once there are at least `n` (within 30 s).
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..600 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the receiver got {} requests, not {n}",
            self.received().len()
        );
    }

    fn heal(&self) {
        self.failures.store(0, Ordering::Release);
    }
}

/// A worker paced for tests: rounds every 50 ms, retries after 100 ms doubling to 1 s.
fn quick() -> WorkerSettings {
    WorkerSettings {
        poll: Duration::from_millis(50),
        timeout: Duration::from_secs(2),
        first_retry: Duration::from_millis(100),
        max_retry: Duration::from_secs(1),
        lease: Duration::from_secs(10),
        ..WorkerSettings::default()
    }
}

/// Whether the delivery's signature is the HMAC-SHA256 of "<timestamp>.<body>".
fn signed_with(secret: &str, delivery: &Received) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(delivery.header("digihjelpen-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&delivery.body);
    delivery.header("digihjelpen-signature")
        == format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The attempts of webhook `hook_id`, newest first, once at least `n` are stored (each is
/// stored just after its receiver answered), within 10 s.
async fn attempts(app: &TestApp, hook_id: &str, n: usize) -> Reply {
    for _ in 0..200 {
        let listed = app
            .call(
                Method::GET,
                &format!("/api/v1/webhooks/{hook_id}/deliveries?limit=50"),
            )
            .bearer(&app.ks())
            .send()
            .await;
        listed.expect(200);
        if listed.body["items"].as_array().unwrap().len() >= n {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} attempts were stored");
}

async fn subscribe(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = post(app, token, "/api/v1/webhooks", None, body).await;
    reply.expect(201);
    reply.body.clone()
}

async fn rename(app: &TestApp, id: &str, version: i32, name: &str) {
    patch(
        app,
        Some(&app.ks()),
        &format!("/api/v1/locations/{id}"),
        Some(&format!("\"{version}\"")),
        json!({ "name": name }),
    )
    .await
    .expect(200);
}

async fn a_subscriber_gets_each_change_signed_and_in_order(app: TestApp) {
    let app = app.allowing_private_webhooks();
    let receiver = Receiver::start(0).await;
    let created = post(
        &app,
        &app.ks(),
        "/api/v1/webhooks",
        None,
        json!({"url": receiver.url(), "description": "Oslo kommunes nettside", "resource_types": ["location"]}),
    )
    .await;
    created.expect(201);
    let hook = created.body.clone();
    let hook_id = id_of(&hook);
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/webhooks/{hook_id}").as_str())
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(hook["enabled"], true);
    assert_eq!(hook["resource_types"], json!(["location"]));
    // The secret is shown once.
    let read = app
        .call(Method::GET, &format!("/api/v1/webhooks/{hook_id}"))
        .bearer(&app.ks())
        .send()
        .await;
    read.expect(200);
    assert!(read.body.get("secret").is_none());

    // A location's life, each step sent before the next is made.
    let _worker = app.deliveries(quick());
    let id = create_ok(&app, deichman()).await;
    receiver.wait_for(1).await;
    // A topic is left out by the filter.
    post(&app, &app.ks(), "/api/v1/topics", None, video_calls())
        .await
        .expect(201);
    rename(&app, &id, 1, "Deichman Grünerløkka bibliotek").await;
    receiver.wait_for(2).await;
    app.call(Method::DELETE, &format!("/api/v1/locations/{id}"))
        .bearer(&app.ks())
        .if_match(Some("\"2\""))
        .send()
        .await
        .expect(204);
    let got = receiver.wait_for(3).await;
    let entries: Vec<Value> = got.iter().map(|d| d.json()).collect();
    assert_eq!(
        entries
            .iter()
            .map(|e| e["change"]["action"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["created", "updated", "deleted"]
    );
    // A public resource travels as its GET shows it; a deletion without.
    assert_eq!(entries[0]["resource"]["id"], id.as_str());
    assert_eq!(
        entries[1]["resource"]["name"],
        "Deichman Grünerløkka bibliotek"
    );
    assert_eq!(entries[1]["resource"]["version"], 2);
    assert_eq!(entries[2]["resource"], Value::Null);
    let sequences: Vec<i64> = entries
        .iter()
        .map(|e| e["change"]["sequence"].as_i64().unwrap())
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    for (delivery, entry) in got.iter().zip(&entries) {
        assert!(signed_with(&secret, delivery), "{:?}", delivery.headers);
        assert!(!signed_with("whsec_wrong", delivery));
        assert_eq!(delivery.header("digihjelpen-webhook-id"), hook_id);
        assert_eq!(entry["webhook_id"], hook_id.as_str());
        assert_eq!(
            delivery.header("digihjelpen-delivery-id"),
            entry["delivery_id"].as_str().unwrap()
        );
        assert_eq!(delivery.header("content-type"), "application/json");
        assert_eq!(entry["event"], "change");
        assert_eq!(entry["change"]["resource_type"], "location");
        assert_eq!(entry["change"]["resource_id"], id.as_str());
    }

    // A ping comes behind them.
    let ping = app
        .call(Method::POST, &format!("/api/v1/webhooks/{hook_id}/test"))
        .bearer(&app.ks())
        .send()
        .await;
    ping.expect(202);
    let got = receiver.wait_for(4).await;
    let pinged = got[3].json();
    assert_eq!(pinged["event"], "ping");
    assert_eq!(pinged["change"], Value::Null);
    assert_eq!(pinged["delivery_id"], ping.body["delivery_id"]);
    assert!(signed_with(&secret, &got[3]));

    // Every attempt is listed, newest first, with its status and latency.
    let attempts = attempts(&app, &hook_id, 4).await;
    let items = attempts.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["event"], "ping");
    assert!(
        items
            .iter()
            .all(|a| a["succeeded"] == true && a["status_code"] == 204)
    );
    assert!(items.iter().all(|a| a["latency_ms"].as_i64().unwrap() >= 0));
    assert_eq!(items[3]["sequence"], sequences[0]);
    let state = app
        .call(Method::GET, &format!("/api/v1/webhooks/{hook_id}"))
        .bearer(&app.ks())
        .send()
        .await;
    assert_eq!(state.body["pending_deliveries"], 0);
    assert_eq!(state.body["failing_since"], Value::Null);
}
db_test!(a_subscriber_gets_each_change_signed_and_in_order);

async fn a_failing_receiver_gets_the_event_again_after_each_failure_and_in_order(app: TestApp) {
    let app = app.allowing_private_webhooks();
    let receiver = Receiver::start(3).await;
    let hook = subscribe(
        &app,
        &app.ks(),
        json!({"url": receiver.url(), "actions": ["created"]}),
    )
    .await;
    let first = create_ok(&app, deichman()).await;
    let second = create_ok(
        &app,
        location_at("0301", "Deichman Bjørvika", 59.908, 10.752),
    )
    .await;
    // Updates are filtered out by `actions`.
    rename(&app, &first, 1, "Deichman Grünerløkka bibliotek").await;
    let _worker = app.deliveries(quick());
    let got = receiver.wait_for(5).await;
    let ids: Vec<String> = got
        .iter()
        .map(|d| {
            d.json()["change"]["resource_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, [first.as_str(), &first, &first, &first, &second]);
    // The same delivery each time, signed afresh.
    let delivery = got[0].header("digihjelpen-delivery-id").to_string();
    assert!(
        got[..4]
            .iter()
            .all(|d| d.header("digihjelpen-delivery-id") == delivery)
    );
    let secret = hook["secret"].as_str().unwrap();
    assert!(got.iter().all(|d| signed_with(secret, d)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received().len(),
        5,
        "nothing is sent twice once taken"
    );
    let hook_id = id_of(&hook);
    let attempts = attempts(&app, &hook_id, 5).await;
    let statuses: Vec<i64> = attempts.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 500, 204, 204]);
    let failed = &attempts.body["items"][4];
    assert_eq!(failed["succeeded"], false);
    assert_eq!(failed["error"], "answered 500 Internal Server Error");
}
db_test!(a_failing_receiver_gets_the_event_again_after_each_failure_and_in_order);

async fn two_instances_deliver_each_event_once(app: TestApp) {
    let app = app.allowing_private_webhooks();
    let other = app.another_instance().await.allowing_private_webhooks();
    let receiver = Receiver::start(0).await;
    subscribe(&app, &app.ks(), json!({"url": receiver.url()})).await;
    let _one = app.deliveries(quick());
    let _two = other.deliveries(quick());
    let mut ids = Vec::new();
    for i in 0..12 {
        let on = if i % 2 == 0 { &app } else { &other };
        let name = format!("Digihjelp {i}");
        ids.push(
            create_ok(
                on,
                location_at("0301", &name, 59.9 + f64::from(i) / 1000.0, 10.75),
            )
            .await,
        );
    }
    let got = receiver.wait_for(12).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let got_all = receiver.received();
    assert_eq!(got_all.len(), 12, "each event once: {}", got.len());
    let delivered: Vec<String> = got_all
        .iter()
        .map(|d| {
            d.json()["change"]["resource_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(delivered, ids, "in feed order");
}
db_test!(two_instances_deliver_each_event_once);

async fn targets_that_are_not_public_https_are_refused(app: TestApp) {
    // As served by default: DIGIHJELPEN_WEBHOOK_ALLOW_PRIVATE is not set.
    for url in [
        "http://hooks.example.no/digihjelp",
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://[::1]/hook",
        "https://10.0.0.7/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/hook",
        "ftp://hooks.example.no/x",
    ] {
        let reply = post(
            &app,
            &app.ks(),
            "/api/v1/webhooks",
            None,
            json!({"url": url}),
        )
        .await;
        reply.expect(422);
        assert_eq!(reply.invalid_fields(), ["url"], "{url}: {}", reply.body);
    }
    assert_eq!(app.count("webhooks").await, 0);
    // A subscription made where it is allowed cannot be moved to such a target either.
    let open = TestApp::another_instance(&app)
        .await
        .allowing_private_webhooks();
    let receiver = Receiver::start(0).await;
    let hook = subscribe(&open, &open.ks(), json!({"url": receiver.url()})).await;
    let path = format!("/api/v1/webhooks/{}", id_of(&hook));
    let moved = patch(
        &app,
        Some(&app.ks()),
        &path,
        Some("\"1\""),
        json!({"url": "https://10.1.1.1/x"}),
    )
    .await;
    moved.expect(422);
    assert_eq!(moved.invalid_fields(), ["url"]);
    // And a worker that may not send privately refuses to, without connecting.
    let _worker = app.deliveries(quick());
    create_ok(&app, deichman()).await;
    let attempts = attempts(&app, &id_of(&hook), 1).await;
    assert!(receiver.received().is_empty());
    let first = &attempts.body["items"][0];
    assert_eq!(first["succeeded"], false, "{}", attempts.body);
    assert_eq!(first["status_code"], Value::Null);
    assert_eq!(first["error"], "only https targets are sent to");
}
db_test!(targets_that_are_not_public_https_are_refused);

async fn a_subscription_failing_for_a_day_is_turned_off_and_can_be_turned_on(app: TestApp) {
    let app = app.allowing_private_webhooks();
    let receiver = Receiver::start(usize::MAX).await;
    let hook = subscribe(&app, &app.ks(), json!({"url": receiver.url()})).await;
    let path = format!("/api/v1/webhooks/{}", id_of(&hook));
    create_ok(&app, deichman()).await;
    // A day, made short.
    let worker = app.deliveries(WorkerSettings {
        give_up_after: Duration::from_millis(400),
        ..quick()
    });
    let mut off = Value::Null;
    for _ in 0..200 {
        let read = app.call(Method::GET, &path).bearer(&app.ks()).send().await;
        if read.body["enabled"] == false {
            off = read.body.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(off["enabled"], false, "turned off");
    assert!(
        off["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("answered 500"),
        "{off}"
    );
    assert!(off["failing_since"].is_string());
    assert_eq!(off["pending_deliveries"], 1);
    assert_eq!(off["version"], 2, "the server's change is a new version");
    let tried = receiver.received().len();
    assert!(tried >= 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received().len(),
        tried,
        "nothing is sent while off"
    );
    drop(worker);

    // Fixed, and turned on again: the waiting delivery goes out at once.
    receiver.heal();
    let on = patch(
        &app,
        Some(&app.ks()),
        &path,
        Some("\"2\""),
        json!({"enabled": true}),
    )
    .await;
    on.expect(200);
    assert_eq!(on.body["enabled"], true);
    assert_eq!(on.body["disabled_reason"], Value::Null);
    assert_eq!(on.body["failing_since"], Value::Null);
    let _worker = app.deliveries(quick());
    let got = receiver.wait_for(tried + 1).await;
    assert_eq!(got.last().unwrap().json()["change"]["action"], "created");
}
db_test!(a_subscription_failing_for_a_day_is_turned_off_and_can_be_turned_on);

async fn each_role_manages_the_webhooks_it_may_and_no_others(app: TestApp) {
    let app = app.allowing_private_webhooks();
    let url = "http://127.0.0.1:9/hook";
    // Anonymous, and the ministry.
    let anonymous = app
        .call(Method::POST, "/api/v1/webhooks")
        .json(json!({"url": url}))
        .send()
        .await;
    anonymous.expect(401);
    post(
        &app,
        &app.kmd(),
        "/api/v1/webhooks",
        None,
        json!({"url": url}),
    )
    .await
    .expect(403);
    app.call(Method::GET, "/api/v1/webhooks")
        .bearer(&app.kmd())
        .send()
        .await
        .expect(403);
    assert_eq!(app.count("webhooks").await, 0);

    let oslo = app.municipality("0301");
    let bergen = app.municipality("4601");
    let own = subscribe(&app, &oslo, json!({"url": url})).await;
    assert_eq!(own["municipality_number"], "0301");
    let ks_own = subscribe(&app, &app.ks(), json!({"url": url})).await;
    let path = format!("/api/v1/webhooks/{}", id_of(&own));
    // Another municipality does not see it, or change it, or its attempts.
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::GET, "/deliveries"),
        (Method::POST, "/test"),
        (Method::DELETE, ""),
    ] {
        app.call(method.clone(), &format!("{path}{suffix}"))
            .bearer(&bergen)
            .if_match(Some("\"1\""))
            .send()
            .await
            .expect(404);
    }
    patch(
        &app,
        Some(&bergen),
        &path,
        Some("\"1\""),
        json!({"enabled": false}),
    )
    .await
    .expect(404);
    let bergen_list = app
        .call(Method::GET, "/api/v1/webhooks")
        .bearer(&bergen)
        .send()
        .await;
    assert_eq!(bergen_list.body["items"], json!([]));
    let oslo_list = app
        .call(Method::GET, "/api/v1/webhooks")
        .bearer(&oslo)
        .send()
        .await;
    assert_eq!(oslo_list.body["items"].as_array().unwrap().len(), 1);
    let ks_list = app
        .call(Method::GET, "/api/v1/webhooks?limit=1")
        .bearer(&app.ks())
        .send()
        .await;
    assert_eq!(ks_list.body["items"][0]["id"], own["id"]);
    let cursor = ks_list.body["next_cursor"].as_str().unwrap();
    let next = app
        .call(
            Method::GET,
            &format!("/api/v1/webhooks?limit=1&cursor={cursor}"),
        )
        .bearer(&app.ks())
        .send()
        .await;
    assert_eq!(next.body["items"][0]["id"], ks_own["id"]);
    assert_eq!(next.body["next_cursor"], Value::Null);

    // Changes need the current version.
    patch(&app, Some(&oslo), &path, None, json!({"enabled": false}))
        .await
        .expect(428);
    patch(
        &app,
        Some(&oslo),
        &path,
        Some("\"7\""),
        json!({"enabled": false}),
    )
    .await
    .expect(412);
    let paused = patch(
        &app,
        Some(&oslo),
        &path,
        Some("\"1\""),
        json!({"enabled": false, "description": "Pause", "resource_types": ["opening_hours", "location"]}),
    )
    .await;
    paused.expect(200);
    assert_eq!(paused.header("etag"), Some("\"2\""));
    assert_eq!(paused.body["enabled"], false);
    assert_eq!(
        paused.body["resource_types"],
        json!(["opening_hours", "location"])
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) AS n FROM audit_entries WHERE resource_type = 'webhook'"
        )
        .await,
        3
    );
    app.call(Method::DELETE, &path)
        .bearer(&oslo)
        .if_match(Some("\"2\""))
        .send()
        .await
        .expect(204);
    app.call(Method::GET, &path)
        .bearer(&oslo)
        .send()
        .await
        .expect(404);
    // Webhooks are settings, not resources of the feed.
    let feed = app
        .call(Method::GET, "/api/v1/changes")
        .bearer(&app.ks())
        .send()
        .await;
    assert_eq!(feed.body["items"], json!([]));
}
db_test!(each_role_manages_the_webhooks_it_may_and_no_others);

async fn bad_webhook_requests_name_their_fields_and_store_nothing(app: TestApp) {
    let app = app.allowing_private_webhooks();
    let ks = app.ks();
    let missing = post(&app, &ks, "/api/v1/webhooks", None, json!({})).await;
    missing.expect(422);
    assert_eq!(missing.invalid_fields(), ["url"]);
    for (body, field) in [
        (json!({"url": 5}), "url"),
        (
            json!({"url": "http://127.0.0.1:9/x", "resource_types": ["castle"]}),
            "resource_types[0]",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "actions": ["exploded"]}),
            "actions[0]",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "description": "x".repeat(501)}),
            "description",
        ),
        (
            json!({"url": format!("http://127.0.0.1:9/{}", "x".repeat(2000))}),
            "url",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "secret": "mine"}),
            "secret",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "resource_types": null}),
            "resource_types",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "description": null}),
            "description",
        ),
    ] {
        let reply = post(&app, &ks, "/api/v1/webhooks", None, body.clone()).await;
        assert!(
            reply.status.as_u16() == 422 || reply.status.as_u16() == 400,
            "{body}: {} {}",
            reply.status,
            reply.body
        );
        assert!(
            reply.invalid_fields().iter().any(|f| f == field),
            "{body}: {}",
            reply.body
        );
    }
    assert_eq!(app.count("webhooks").await, 0);
    app.call(Method::GET, "/api/v1/webhooks/not-a-uuid")
        .bearer(&ks)
        .send()
        .await
        .expect(400);
    app.call(
        Method::GET,
        "/api/v1/webhooks/01936f0e-8c1a-7b3e-9a51-2f0c4d6e8b10",
    )
    .bearer(&ks)
    .send()
    .await
    .expect(404);
    let hook = subscribe(&app, &ks, json!({"url": "http://127.0.0.1:9/x"})).await;
    let path = format!("/api/v1/webhooks/{}", id_of(&hook));
    let null = patch(
        &app,
        Some(&ks),
        &path,
        Some("\"1\""),
        json!({"enabled": null}),
    )
    .await;
    null.expect(422);
    assert_eq!(null.invalid_fields(), ["enabled"]);
    let read = app.call(Method::GET, &path).bearer(&ks).send().await;
    assert_eq!(read.body["version"], 1, "nothing changed");
}
db_test!(bad_webhook_requests_name_their_fields_and_store_nothing);

async fn a_municipality_s_webhook_carries_only_what_it_may_read(app: TestApp) {
    let app = app.allowing_private_webhooks();
    let receiver = Receiver::start(0).await;
    let oslo = app.municipality("0301");
    subscribe(&app, &oslo, json!({"url": receiver.url()})).await;
    let theirs = post(
        &app,
        &app.municipality("4601"),
        "/api/v1/tickets",
        None,
        new_ticket(),
    )
    .await;
    theirs.expect(201);
    let ours = post(&app, &oslo, "/api/v1/tickets", None, new_ticket()).await;
    ours.expect(201);
    let location = create_ok(&app, deichman()).await;
    let _worker = app.deliveries(quick());
    let mut got = Vec::new();
    for n in 1..=20 {
        got = receiver.wait_for(n).await;
        if got
            .iter()
            .any(|d| d.json()["change"]["resource_id"] == location.as_str())
        {
            break;
        }
    }
    let changes: Vec<Value> = got.iter().map(|d| d.json()["change"].clone()).collect();
    let theirs = id_of(&theirs.body);
    assert!(
        changes
            .iter()
            .all(|c| c["resource_id"] != theirs.as_str() && c["parent_id"] != theirs.as_str()),
        "{changes:?}"
    );
    let own = got
        .iter()
        .map(|d| d.json())
        .find(|d| d["change"]["resource_id"] == id_of(&ours.body).as_str())
        .expect("its own ticket's change");
    assert_eq!(
        own["resource"],
        Value::Null,
        "private resources travel as ids only"
    );
    let public = got
        .iter()
        .map(|d| d.json())
        .find(|d| d["change"]["resource_id"] == location.as_str())
        .unwrap();
    assert_eq!(public["resource"]["name"], "Deichman Grünerløkka");
}
db_test!(a_municipality_s_webhook_carries_only_what_it_may_read);
