//! Identity providers: OIDC discovery and key sets that rotate, the claim mapping of real
//! providers, and Maskinporten machine clients, against a provider on a loopback port.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use digihjelpen::auth::{Role, Verifier};
use digihjelpen::config::{ClaimMapping, JwtConfig, JwtKey, KeySource, MachineClients, Provider};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::http::Method;
use serde_json::{Value, json};
use url::Url;

use crate::helpers::field;
use crate::locations::deichman;
use crate::support::provider::{Key, TestProvider, fixture};
use crate::support::{Reply, TestApp};

/// The organisation number of Oslo kommune in the reference data.
const OSLO_ORGNO: &str = "958935420";
/// A valid organisation number that is no municipality's.
const NOT_A_MUNICIPALITY: &str = "974760673";
const KS_ORGNO: &str = "971032146";
const SCOPE: &str = "ks:digihjelpen";

/// Runs `async fn $name(app: TestApp, provider: TestProvider)` on SQLite and PostgreSQL, each
/// with a provider of its own publishing RSA key A and EC key A, and `$config` (a function
/// from the provider to the identity configuration).
macro_rules! provider_test {
    ($name:ident) => {
        provider_test!($name, config);
    };
    ($name:ident, $config:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let provider =
                    super::TestProvider::start(&[super::Key::RsaA, super::Key::EcA]).await;
                let app = crate::support::TestApp::sqlite_with(super::$config(&provider)).await;
                super::$name(app, provider).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let provider =
                    super::TestProvider::start(&[super::Key::RsaA, super::Key::EcA]).await;
                if let Some(app) =
                    crate::support::TestApp::postgres_with(super::$config(&provider)).await
                {
                    super::$name(app, provider).await;
                }
            }
        }
    };
}

/// The provider as the one OIDC issuer, with the default claims, Maskinporten clients with
/// the scope [`SCOPE`], and KS's organisation number.
fn config(provider: &TestProvider) -> JwtConfig {
    let issuer = provider.issuer();
    let discovery = Url::parse(&format!("{issuer}/.well-known/openid-configuration")).unwrap();
    JwtConfig {
        machine: MachineClients {
            scope: Some(SCOPE.into()),
            ks: vec![KS_ORGNO.into()],
            kmd: vec![],
        },
        ..JwtConfig::new(JwtKey::Providers(vec![Provider {
            issuer,
            keys: KeySource::Discovery(discovery),
        }]))
    }
}

/// Keycloak's claims: the role in `realm_access.roles` through a map.
fn keycloak_config(provider: &TestProvider) -> JwtConfig {
    JwtConfig {
        claims: ClaimMapping {
            role_claim: "realm_access.roles".into(),
            role_map: Some(vec![
                ("Digihjelpen.KS".into(), Role::Ks),
                ("Digihjelpen.KMD".into(), Role::Kmd),
                ("Digihjelpen.Kommune".into(), Role::Municipality),
            ]),
            municipality_claim: "kommunenummer".into(),
        },
        ..config(provider)
    }
}

/// A provider that publishes its metadata as an OAuth server's only (as Maskinporten does).
fn oauth_metadata_config(provider: &TestProvider) -> JwtConfig {
    provider.serve_oauth_metadata_only();
    config(provider)
}

/// The key set named directly, without discovery.
fn key_set_config(provider: &TestProvider) -> JwtConfig {
    JwtConfig {
        issuer: provider.issuer(),
        ..JwtConfig::new(JwtKey::Providers(vec![Provider {
            issuer: provider.issuer(),
            keys: KeySource::KeySet(Url::parse(&provider.key_set_url()).unwrap()),
        }]))
    }
}

async fn me(app: &TestApp, token: &str) -> Reply {
    app.call(Method::GET, "/api/v1/me")
        .bearer(token)
        .send()
        .await
}

/// A token with any header, signed with `key` as the algorithm says.
fn signed_with(header: Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn header(algorithm: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.into());
    header
}

/// A Maskinporten token of organisation `orgno` with `scope`.
fn machine_claims(provider: &TestProvider, orgno: &str, scope: &str) -> Value {
    provider.claims(json!({
        "sub": null, "role": null,
        "consumer": {"authority": "iso6523-actorid-upis", "ID": format!("0192:{orgno}")},
        "scope": scope, "client_id": "a3c5e1f0-digihjelpen-client",
    }))
}

async fn tokens_are_verified_by_the_key_their_kid_names(app: TestApp, provider: TestProvider) {
    for key in [Key::RsaA, Key::EcA] {
        let token = provider.sign(key, &provider.claims(json!({})));
        let reply = me(&app, &token).await;
        reply.expect(200);
        assert_eq!(reply.body["via"], "oidc", "{key:?}");
        assert_eq!(reply.body["role"], "ks");
        assert_eq!(reply.body["organization_number"], Value::Null);
    }
    let claims = provider.claims(json!({}));
    // A key not in the set, under its own kid or under a published one.
    let stranger = provider.sign(Key::Stranger, &claims);
    let refused = me(&app, &stranger).await;
    refused.expect(401);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("does not publish")
    );
    let posing = signed_with(
        header(Algorithm::RS256, Key::RsaA.kid()),
        &claims,
        &Key::Stranger.encoding_key(),
    );
    let refused = me(&app, &posing).await;
    refused.expect(401);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("signature")
    );
    // No kid at all.
    let no_kid = signed_with(
        Header::new(Algorithm::RS256),
        &claims,
        &Key::RsaA.encoding_key(),
    );
    me(&app, &no_kid).await.expect(401);
    // The readiness details name the provider.
    let ready = app.get("/health/ready").await;
    ready.expect(200);
    assert_eq!(
        ready.body["identity_providers"][0]["issuer"],
        provider.issuer()
    );
    assert_eq!(ready.body["identity_providers"][0]["reachable"], true);
    assert_eq!(ready.body["identity_providers"][0]["keys"], 2);
}
provider_test!(tokens_are_verified_by_the_key_their_kid_names);

async fn algorithms_outside_the_keys_family_and_none_are_refused(
    app: TestApp,
    provider: TestProvider,
) {
    let claims = provider.claims(json!({}));
    let public_pem = std::fs::read(fixture("rs256-public.pem")).unwrap();
    let modulus = Key::RsaA.jwk()["n"].as_str().unwrap().to_string();
    let refused = [
        // HS256 "signed" with the published public key (PEM, or the JWK's modulus) as secret.
        signed_with(
            header(Algorithm::HS256, Key::RsaA.kid()),
            &claims,
            &EncodingKey::from_secret(&public_pem).unwrap(),
        ),
        signed_with(
            header(Algorithm::HS256, Key::RsaA.kid()),
            &claims,
            &EncodingKey::from_secret(modulus.as_bytes()).unwrap(),
        ),
        // An RSA key's kid on an ES256 token, and the EC key's kid on an RS256 token.
        signed_with(
            header(Algorithm::ES256, Key::RsaA.kid()),
            &claims,
            &Key::EcA.encoding_key(),
        ),
        signed_with(
            header(Algorithm::RS256, Key::EcA.kid()),
            &claims,
            &Key::RsaA.encoding_key(),
        ),
        // RS384 and PS256 with the right key: not what the key set's keys take.
        signed_with(
            header(Algorithm::RS384, Key::RsaA.kid()),
            &claims,
            &Key::RsaA.encoding_key(),
        ),
        signed_with(
            header(Algorithm::PS256, Key::RsaA.kid()),
            &claims,
            &Key::RsaA.encoding_key(),
        ),
        // alg none, with and without a signature part.
        unsigned(&claims, ""),
        unsigned(&claims, "c2lnbmF0dXJl"),
    ];
    for (i, token) in refused.iter().enumerate() {
        let reply = me(&app, token).await;
        reply.expect(401);
        assert!(
            !reply.text.contains(token.as_str()),
            "case {i}: the token was echoed"
        );
    }

    // A symmetric key published in the set is never used, whatever the token says.
    let secret = b"a-shared-secret-the-provider-should-not-publish";
    let mut keys = vec![Key::RsaA.jwk()];
    keys.push(json!({"kty": "oct", "kid": "hmac", "k": URL_SAFE_NO_PAD.encode(secret)}));
    provider.publish_raw(keys);
    let hmac = signed_with(
        header(Algorithm::HS256, "hmac"),
        &claims,
        &EncodingKey::from_secret(secret).unwrap(),
    );
    me(&app, &hmac).await.expect(401);
}
provider_test!(algorithms_outside_the_keys_family_and_none_are_refused);

/// `alg: none` with the RSA key's kid, and `signature` as its last part.
fn unsigned(claims: &Value, signature: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"rsa-a"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.{signature}")
}

async fn rotated_keys_work_without_a_restart_and_a_withdrawn_key_is_refused(
    app: TestApp,
    provider: TestProvider,
) {
    let claims = provider.claims(json!({}));
    let old = provider.sign(Key::RsaA, &claims);
    me(&app, &old).await.expect(200);
    let fetched = provider.key_set_fetches();

    // The provider rotates: key B comes, key A goes.
    provider.publish(&[Key::RsaB, Key::EcA]);
    let new = provider.sign(Key::RsaB, &claims);
    let reply = me(&app, &new).await;
    reply.expect(200);
    assert_eq!(
        provider.key_set_fetches(),
        fetched + 1,
        "one refresh for the new kid"
    );
    // Key A was dropped by that refresh: its tokens are refused, without another fetch.
    let refused = me(&app, &old).await;
    refused.expect(401);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("does not publish")
    );
    assert_eq!(provider.key_set_fetches(), fetched + 1);
    me(&app, &new).await.expect(200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.body["identity_providers"][0]["keys"], 2);
}
provider_test!(rotated_keys_work_without_a_restart_and_a_withdrawn_key_is_refused);

async fn two_instances_on_one_database_each_follow_a_rotation(
    app: TestApp,
    provider: TestProvider,
) {
    // A second replica: its own key cache, fetched at its start.
    let other = app.another_instance().await;
    let claims = provider.claims(json!({}));
    let old = provider.sign(Key::RsaA, &claims);
    for instance in [&app, &other] {
        me(instance, &old).await.expect(200);
    }
    let fetched = provider.key_set_fetches();

    provider.publish(&[Key::RsaB, Key::EcA]);
    let new = provider.sign(Key::RsaB, &claims);
    for instance in [&app, &other] {
        me(instance, &new).await.expect(200);
        me(instance, &old).await.expect(401);
    }
    // Each replica refreshed once for the new kid.
    assert_eq!(provider.key_set_fetches(), fetched + 2);
    // What one replica writes with the new key, the other reads.
    let created = app
        .call(Method::POST, "/api/v1/locations")
        .bearer(&new)
        .json(deichman())
        .send()
        .await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap();
    other
        .get(&format!("/api/v1/locations/{id}"))
        .await
        .expect(200);
}
provider_test!(two_instances_on_one_database_each_follow_a_rotation);

async fn a_flood_of_unknown_kids_causes_at_most_one_fetch(app: TestApp, provider: TestProvider) {
    let claims = provider.claims(json!({}));
    let fetched = provider.key_set_fetches();
    let forged: Vec<String> = (0..40)
        .map(|i| {
            signed_with(
                header(Algorithm::RS256, &format!("forged-{i}")),
                &claims,
                &Key::Stranger.encoding_key(),
            )
        })
        .collect();
    let replies = futures::future::join_all(forged.iter().map(|token| me(&app, token))).await;
    for reply in &replies {
        reply.expect(401);
    }
    // And more, one after another, within the same 30 s.
    for token in forged.iter().take(10) {
        me(&app, token).await.expect(401);
    }
    assert_eq!(provider.key_set_fetches(), fetched + 1);
    // Known keys keep working without a fetch.
    me(&app, &provider.sign(Key::EcA, &claims))
        .await
        .expect(200);
    assert_eq!(provider.key_set_fetches(), fetched + 1);
    // A key published now is not fetched before the 30 s are over: throttled means refused.
    provider.publish(&[Key::RsaA, Key::EcA, Key::RsaB]);
    me(&app, &provider.sign(Key::RsaB, &claims))
        .await
        .expect(401);
    assert_eq!(provider.key_set_fetches(), fetched + 1);
}
provider_test!(a_flood_of_unknown_kids_causes_at_most_one_fetch);

async fn an_issuer_not_listed_is_refused_before_anything_is_fetched(
    app: TestApp,
    provider: TestProvider,
) {
    let fetched = provider.key_set_fetches();
    for iss in [
        json!("https://evil.example/realms/test"),
        json!(null),
        json!(42),
    ] {
        let claims = provider.claims(json!({ "iss": iss }));
        let token = signed_with(
            header(Algorithm::RS256, "unknown-kid"),
            &claims,
            &Key::RsaA.encoding_key(),
        );
        me(&app, &token).await.expect(401);
    }
    let evil = provider.claims(json!({"iss": "https://evil.example/realms/test"}));
    let reply = me(&app, &provider.sign(Key::RsaA, &evil)).await;
    reply.expect(401);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("not trusted")
    );
    assert_eq!(provider.key_set_fetches(), fetched);
}
provider_test!(an_issuer_not_listed_is_refused_before_anything_is_fetched);

async fn the_audience_may_be_a_list_that_must_hold_ours(app: TestApp, provider: TestProvider) {
    for aud in [
        json!("digihjelpen-api"),
        json!(["account", "digihjelpen-api"]),
    ] {
        let token = provider.sign(Key::RsaA, &provider.claims(json!({ "aud": aud })));
        me(&app, &token).await.expect(200);
    }
    for aud in [
        json!(["account", "other-api"]),
        json!("account"),
        json!([]),
        json!(null),
    ] {
        let token = provider.sign(Key::RsaA, &provider.claims(json!({ "aud": aud })));
        me(&app, &token).await.expect(401);
    }
    let other = provider.sign(Key::RsaA, &provider.claims(json!({"aud": ["account"]})));
    let reply = me(&app, &other).await;
    assert!(reply.body["detail"].as_str().unwrap().contains("audience"));
}
provider_test!(the_audience_may_be_a_list_that_must_hold_ours);

async fn keycloak_roles_are_read_from_a_nested_claim_through_the_role_map(
    app: TestApp,
    provider: TestProvider,
) {
    let staff = |roles: Value, municipality: Option<&str>| {
        let mut changes = json!({"role": null, "realm_access": {"roles": roles}});
        if let Some(m) = municipality {
            changes["kommunenummer"] = json!(m);
        }
        provider.sign(Key::RsaA, &provider.claims(changes))
    };
    let oslo = staff(
        json!(["offline_access", "Digihjelpen.Kommune", "uma_authorization"]),
        Some("0301"),
    );
    let reply = me(&app, &oslo).await;
    reply.expect(200);
    assert_eq!(reply.body["role"], "municipality");
    assert_eq!(reply.body["municipality"], "0301");
    assert_eq!(reply.body["via"], "oidc");
    // The mapped role writes as any municipality's staff.
    let created = crate::helpers::post(&app, &oslo, "/api/v1/locations", None, deichman()).await;
    created.expect(201);

    let ks = staff(json!(["Digihjelpen.KS"]), None);
    assert_eq!(me(&app, &ks).await.body["role"], "ks");

    // Two roles are refused, saying why; so are values that map to nothing.
    let locations = app.count("locations").await;
    let both = staff(
        json!(["Digihjelpen.KS", "Digihjelpen.Kommune"]),
        Some("0301"),
    );
    let reply = me(&app, &both).await;
    reply.expect(401);
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("several roles (ks, municipality)"),
        "{detail}"
    );
    crate::helpers::post(&app, &both, "/api/v1/locations", None, deichman())
        .await
        .expect(401);
    assert_eq!(app.count("locations").await, locations);
    for roles in [
        json!(["offline_access"]),
        json!("ks"),
        json!([]),
        json!({"ks": true}),
    ] {
        me(&app, &staff(roles.clone(), None)).await.expect(401);
    }
    // The plain `role` claim means nothing with this mapping.
    let plain = provider.sign(Key::RsaA, &provider.claims(json!({"role": "ks"})));
    me(&app, &plain).await.expect(401);
}
provider_test!(
    keycloak_roles_are_read_from_a_nested_claim_through_the_role_map,
    keycloak_config
);

async fn a_maskinporten_client_acts_for_the_municipality_of_its_organisation_number(
    app: TestApp,
    provider: TestProvider,
) {
    let token = provider.sign(
        Key::RsaA,
        &machine_claims(&provider, OSLO_ORGNO, &format!("other:scope {SCOPE}")),
    );
    let reply = me(&app, &token).await;
    reply.expect(200);
    assert_eq!(reply.body["via"], "maskinporten");
    assert_eq!(reply.body["role"], "municipality");
    assert_eq!(reply.body["municipality"], "0301");
    assert_eq!(reply.body["organization_number"], OSLO_ORGNO);
    assert_eq!(reply.body["sub"], OSLO_ORGNO);

    // A write by the system: the audit log names its organisation number as the actor.
    let created = crate::helpers::post(&app, &token, "/api/v1/locations", None, deichman()).await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap().to_string();
    let ks = provider.sign(Key::RsaA, &provider.claims(json!({})));
    let log = app
        .call(
            Method::GET,
            &format!("/api/v1/audit?resource_type=location&resource_id={id}"),
        )
        .bearer(&ks)
        .send()
        .await;
    log.expect(200);
    assert_eq!(field(&log, "actor_sub"), [OSLO_ORGNO]);
    assert_eq!(field(&log, "actor_role"), ["municipality"]);
    assert_eq!(field(&log, "actor_municipality"), ["0301"]);
    let by_actor = app
        .call(Method::GET, &format!("/api/v1/audit?actor={OSLO_ORGNO}"))
        .bearer(&ks)
        .send()
        .await;
    assert_eq!(field(&by_actor, "resource_id"), [id.as_str()]);

    // An organisation configured as KS acts as KS.
    let ks_system = provider.sign(Key::EcA, &machine_claims(&provider, KS_ORGNO, SCOPE));
    let reply = me(&app, &ks_system).await;
    reply.expect(200);
    assert_eq!(reply.body["role"], "ks");
    assert_eq!(reply.body["municipality"], Value::Null);
    assert_eq!(reply.body["organization_number"], KS_ORGNO);
}
provider_test!(a_maskinporten_client_acts_for_the_municipality_of_its_organisation_number);

async fn machine_tokens_without_the_scope_or_of_another_organisation_are_refused(
    app: TestApp,
    provider: TestProvider,
) {
    let locations = app.count("locations").await;
    let audits = app.count("audit_entries").await;
    let forbidden = [
        machine_claims(&provider, OSLO_ORGNO, ""),
        machine_claims(&provider, OSLO_ORGNO, "other:scope"),
        machine_claims(&provider, OSLO_ORGNO, &format!("{SCOPE}:admin")),
        provider.claims(json!({
            "sub": null, "role": null,
            "consumer": {"authority": "iso6523-actorid-upis", "ID": format!("0192:{OSLO_ORGNO}")},
        })),
        machine_claims(&provider, NOT_A_MUNICIPALITY, SCOPE),
    ];
    for claims in &forbidden {
        let token = provider.sign(Key::RsaA, claims);
        me(&app, &token).await.expect(403);
        crate::helpers::post(&app, &token, "/api/v1/locations", None, deichman())
            .await
            .expect(403);
    }
    let unknown = provider.sign(
        Key::RsaA,
        &machine_claims(&provider, NOT_A_MUNICIPALITY, SCOPE),
    );
    let detail = me(&app, &unknown).await.body["detail"].clone();
    assert!(
        detail.as_str().unwrap().contains(NOT_A_MUNICIPALITY),
        "{detail}"
    );
    let malformed = [
        machine_claims(&provider, "95893542", SCOPE),
        machine_claims(&provider, "958935421", SCOPE),
        provider.claims(json!({"consumer": "0192:958935420", "scope": SCOPE})),
        provider.claims(json!({
            "consumer": {"authority": "other", "ID": format!("0192:{OSLO_ORGNO}")},
            "scope": SCOPE,
        })),
    ];
    for claims in &malformed {
        me(&app, &provider.sign(Key::RsaA, claims))
            .await
            .expect(401);
    }
    assert_eq!(app.count("locations").await, locations);
    assert_eq!(app.count("audit_entries").await, audits);
}
provider_test!(machine_tokens_without_the_scope_or_of_another_organisation_are_refused);

async fn a_key_set_url_is_trusted_without_discovery(app: TestApp, provider: TestProvider) {
    let reply = me(&app, &provider.sign(Key::EcA, &provider.claims(json!({})))).await;
    reply.expect(200);
    assert_eq!(reply.body["via"], "oidc");
    let foreign = provider.claims(json!({"iss": "digihjelpen"}));
    me(&app, &provider.sign(Key::EcA, &foreign))
        .await
        .expect(401);
}
provider_test!(a_key_set_url_is_trusted_without_discovery, key_set_config);

async fn oauth_server_metadata_is_read_where_openid_configuration_is_missing(
    app: TestApp,
    provider: TestProvider,
) {
    let system = provider.sign(Key::EcA, &machine_claims(&provider, OSLO_ORGNO, SCOPE));
    let reply = me(&app, &system).await;
    reply.expect(200);
    assert_eq!(reply.body["via"], "maskinporten");
}
provider_test!(
    oauth_server_metadata_is_read_where_openid_configuration_is_missing,
    oauth_metadata_config
);

async fn a_provider_that_goes_down_keeps_its_cached_keys_and_shows_in_readiness(
    app: TestApp,
    provider: TestProvider,
) {
    let claims = provider.claims(json!({}));
    provider.set_down(true);
    // An unknown kid makes the verifier fetch, which fails.
    let unknown = signed_with(
        header(Algorithm::RS256, "rotated-in"),
        &claims,
        &Key::Stranger.encoding_key(),
    );
    me(&app, &unknown).await.expect(401);
    me(&app, &provider.sign(Key::RsaA, &claims))
        .await
        .expect(200);

    let ready = app.get("/health/ready").await;
    ready.expect(200);
    let status = &ready.body["identity_providers"][0];
    assert_eq!(status["reachable"], false, "{}", ready.text);
    assert_eq!(status["keys"], 2);
    assert!(
        status["last_error"].as_str().unwrap().contains("503"),
        "{status}"
    );
    let metrics = app.get("/metrics").await.text;
    let issuer = provider.issuer();
    assert!(
        metrics.contains(&format!("identity_provider_up{{issuer=\"{issuer}\"}} 0")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "identity_key_fetch_failures_total{{issuer=\"{issuer}\"}} 1"
        )),
        "{metrics}"
    );
}
provider_test!(a_provider_that_goes_down_keeps_its_cached_keys_and_shows_in_readiness);

#[tokio::test]
async fn a_provider_that_cannot_be_read_at_start_is_one_clear_error() {
    let provider = TestProvider::start(&[Key::RsaA]).await;
    provider.set_down(true);
    let err = Verifier::connect(&config(&provider)).await.err().unwrap();
    let message = err.to_string();
    assert!(
        message.contains(&provider.issuer()) && message.contains("503"),
        "{message}"
    );
    assert!(!message.contains('\n'));

    // A discovery document that names another issuer.
    provider.set_down(false);
    provider.claim_issuer("https://someone-else.example/realms/test");
    let err = Verifier::connect(&config(&provider)).await.err().unwrap();
    assert!(err.to_string().contains("someone-else"), "{err}");

    // Nobody listening at all.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let nobody = JwtConfig::new(JwtKey::Providers(vec![Provider {
        issuer: format!("http://{closed}"),
        keys: KeySource::KeySet(Url::parse(&format!("http://{closed}/keys")).unwrap()),
    }]));
    let err = Verifier::connect(&nobody).await.err().unwrap();
    assert!(err.to_string().contains("cannot be reached"), "{err}");

    // A key set without a usable key.
    let empty = TestProvider::start(&[]).await;
    let err = Verifier::connect(&config(&empty)).await.err().unwrap();
    assert!(err.to_string().contains("no RS256 or ES256"), "{err}");
}
