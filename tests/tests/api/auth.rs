//! Token verification: every way a token can be wrong is a 401 with `WWW-Authenticate`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use digihjelpen::config::{JwtConfig, JwtKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::http::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::support::{SECRET, TestApp, jwt_config};

fn claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "sub": "kari", "role": "ks", "iss": "digihjelpen", "aud": "digihjelpen-api",
        "iat": now, "nbf": now, "exp": now + 600,
    })
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims
}

fn sign(algorithm: Algorithm, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, key).unwrap()
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    sign(
        Algorithm::HS256,
        claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
}

/// `claims()` signed RS256 with the private key of a fixture file.
fn rs256(private_key: &str) -> String {
    let pem = std::fs::read(fixture(private_key)).unwrap();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap();
    sign(Algorithm::RS256, &claims(), &key)
}

/// `claims()` signed ES256 with the private key of a fixture file.
fn es256(private_key: &str) -> String {
    let pem = std::fs::read(fixture(private_key)).unwrap();
    let key = EncodingKey::from_ec_pem(&pem).unwrap();
    sign(Algorithm::ES256, &claims(), &key)
}

async fn me(app: &TestApp, token: &str) -> crate::support::Reply {
    app.call(Method::GET, "/api/v1/me")
        .bearer(token)
        .send()
        .await
}

async fn each_role_reads_its_own_claims(app: TestApp) {
    let ks = me(&app, &app.ks()).await;
    ks.expect(200);
    assert_eq!(ks.body["role"], "ks");
    assert_eq!(ks.body["sub"], "ks-kari");
    assert_eq!(ks.body["via"], "secret");
    assert_eq!(ks.body["organization_number"], serde_json::Value::Null);
    assert_eq!(me(&app, &app.kmd()).await.expect(200).body["role"], "kmd");
    let oslo = me(&app, &app.municipality("0301")).await;
    oslo.expect(200);
    assert_eq!(oslo.body["municipality"], "0301");
    assert!(
        oslo.body["expires_at"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
            || oslo.body["expires_at"].as_str().unwrap().ends_with('Z')
    );
}
db_test!(each_role_reads_its_own_claims);

async fn a_missing_or_malformed_authorization_is_401(app: TestApp) {
    app.get("/api/v1/me").await.expect(401);
    for header in [
        "Bearer",
        "Bearer not.a.token",
        "Basic a2FyaTpwYXNz",
        "bearer",
    ] {
        app.call(Method::GET, "/api/v1/me")
            .header("authorization", header)
            .send()
            .await
            .expect(401);
    }
}
db_test!(a_missing_or_malformed_authorization_is_401);

async fn forged_and_invalid_tokens_are_refused_with_401(app: TestApp) {
    let now = chrono::Utc::now().timestamp();
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    let cases = [
        ("alg none", unsigned),
        (
            "another secret",
            hs256(&claims(), b"another-secret-that-is-also-32-bytes-long"),
        ),
        (
            "wrong iss",
            hs256(
                &with(claims(), json!({"iss": "someone-else"})),
                SECRET.as_bytes(),
            ),
        ),
        (
            "wrong aud",
            hs256(
                &with(claims(), json!({"aud": "another-api"})),
                SECRET.as_bytes(),
            ),
        ),
        (
            "expired",
            hs256(
                &with(claims(), json!({"exp": now - 120})),
                SECRET.as_bytes(),
            ),
        ),
        (
            "nbf in the future",
            hs256(
                &with(claims(), json!({"nbf": now + 300})),
                SECRET.as_bytes(),
            ),
        ),
        (
            "no exp",
            hs256(&with(claims(), json!({"exp": null})), SECRET.as_bytes()),
        ),
        (
            "no sub",
            hs256(&with(claims(), json!({"sub": null})), SECRET.as_bytes()),
        ),
        (
            "empty sub",
            hs256(&with(claims(), json!({"sub": ""})), SECRET.as_bytes()),
        ),
        (
            "unknown role",
            hs256(&with(claims(), json!({"role": "admin"})), SECRET.as_bytes()),
        ),
        (
            "no role",
            hs256(&with(claims(), json!({"role": null})), SECRET.as_bytes()),
        ),
        (
            "municipality role without municipality",
            hs256(
                &with(claims(), json!({"role": "municipality"})),
                SECRET.as_bytes(),
            ),
        ),
        (
            "unknown municipality",
            hs256(
                &with(
                    claims(),
                    json!({"role": "municipality", "municipality": "9998"}),
                ),
                SECRET.as_bytes(),
            ),
        ),
        (
            "malformed municipality",
            hs256(
                &with(
                    claims(),
                    json!({"role": "municipality", "municipality": "Oslo"}),
                ),
                SECRET.as_bytes(),
            ),
        ),
        (
            "ks with a municipality",
            hs256(
                &with(claims(), json!({"municipality": "0301"})),
                SECRET.as_bytes(),
            ),
        ),
    ];
    for (case, token) in cases {
        let reply = me(&app, &token).await;
        assert_eq!(reply.status, 401, "{case}: {}", reply.text);
        reply.expect(401);
        assert!(!reply.text.contains(&token), "{case}: the token was echoed");
    }
    // Within the 30-second leeway an expired token still passes.
    let just_expired = hs256(&with(claims(), json!({"exp": now - 5})), SECRET.as_bytes());
    me(&app, &just_expired).await.expect(200);
}
db_test!(forged_and_invalid_tokens_are_refused_with_401);

fn pem_config(public_key: &str) -> JwtConfig {
    JwtConfig {
        key: JwtKey::PublicKeyPem(std::fs::read(fixture(public_key)).unwrap()),
        ..jwt_config()
    }
}

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn with_an_rs256_key_only_rs256_tokens_signed_by_its_pair_pass() {
    let app = TestApp::sqlite_with(pem_config("rs256-public.pem")).await;
    let signed = rs256("rs256-private.pem");
    assert_eq!(
        me(&app, &signed).await.expect(200).body["via"],
        "public_key"
    );

    // An HS256 token, even one "signed" with the public key as the secret, is refused.
    let public = std::fs::read(fixture("rs256-public.pem")).unwrap();
    me(&app, &hs256(&claims(), &public)).await.expect(401);
    me(&app, &hs256(&claims(), SECRET.as_bytes()))
        .await
        .expect(401);
}

#[tokio::test]
async fn with_an_es256_key_es256_tokens_pass_and_rs256_ones_do_not() {
    let app = TestApp::sqlite_with(pem_config("es256-public.pem")).await;
    let signed = es256("es256-private.pem");
    me(&app, &signed).await.expect(200);
    let rs256 = rs256("rs256-private.pem");
    me(&app, &rs256).await.expect(401);
}

async fn claims_no_database_can_hold_are_refused_before_anything_is_stored(app: TestApp) {
    let refused = [
        with(claims(), json!({"sub": "kari\u{0}"})),
        with(claims(), json!({"sub": "k".repeat(256)})),
        with(claims(), json!({"name": "Kari\nNordmann"})),
        // Year 36812: `/me` once showed it as 1970-01-01.
        with(claims(), json!({"exp": 1_i64 << 40})),
    ];
    for claims in &refused {
        let token = hs256(claims, SECRET.as_bytes());
        let reply = me(&app, &token).await;
        reply.expect(401);
        assert!(
            reply.body["detail"]
                .as_str()
                .unwrap()
                .contains("bearer token")
        );
        app.call(Method::POST, "/api/v1/topics")
            .bearer(&token)
            .json(json!({
                "slug": "video-calls", "name_nb": "Videosamtaler", "name_nn": null,
                "name_en": null, "description_nb": "Video på mobil.", "description_nn": null,
                "category": "getting_online", "in_scope": true, "sort_order": 15,
            }))
            .send()
            .await
            .expect(401);
    }
    assert_eq!(app.count("audit_entries").await, 0);
    let longest = hs256(
        &with(claims(), json!({"sub": "k".repeat(255)})),
        SECRET.as_bytes(),
    );
    let reply = me(&app, &longest).await;
    reply.expect(200);
    assert_eq!(reply.body["sub"].as_str().unwrap().len(), 255);
}
db_test!(claims_no_database_can_hold_are_refused_before_anything_is_stored);

async fn two_authorization_headers_are_a_400_naming_the_header(app: TestApp) {
    let reply = app
        .call(Method::GET, "/api/v1/me")
        .bearer(&app.ks())
        .bearer(&app.municipality("0301"))
        .send()
        .await;
    reply.expect(400);
    assert_eq!(reply.body["errors"][0]["field"], "Authorization");
}
db_test!(two_authorization_headers_are_a_400_naming_the_header);
