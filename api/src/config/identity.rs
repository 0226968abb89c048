//! Who may call the API: the one kind of key that is active (an HS256 secret, a PEM public
//! key, or identity providers' key sets), the audience, how a provider's claims map to a
//! role, and which Maskinporten clients are accepted. Checked once at start-up.

use std::net::IpAddr;

use jsonwebtoken::{Algorithm, DecodingKey};
use url::{Host, Url};

use super::{ConfigError, error};
use crate::common::role::Role;

#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub key: JwtKey,
    /// The `iss` of tokens signed with the secret, the PEM key or the keys of
    /// `DIGIHJELPEN_JWKS_URL`; an OIDC issuer is its own `iss`.
    pub issuer: String,
    pub audience: String,
    pub claims: ClaimMapping,
    pub machine: MachineClients,
}

impl JwtConfig {
    /// The default issuer, audience and claim mapping around `key`.
    pub fn new(key: JwtKey) -> Self {
        Self {
            key,
            issuer: "digihjelpen".into(),
            audience: "digihjelpen-api".into(),
            claims: ClaimMapping::default(),
            machine: MachineClients::default(),
        }
    }
}

#[derive(Clone)]
pub enum JwtKey {
    /// A shared HS256 secret: tokens can be minted and verified with it.
    Secret(Vec<u8>),
    /// The PEM public key of an identity provider (RS256 or ES256): tokens are only verified.
    PublicKeyPem(Vec<u8>),
    /// Identity providers whose key sets are fetched at start and refreshed as they rotate.
    Providers(Vec<Provider>),
}

impl std::fmt::Debug for JwtKey {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("JwtKey::Secret(..)"),
            Self::PublicKeyPem(_) => f.write_str("JwtKey::PublicKeyPem(..)"),
            Self::Providers(providers) => {
                f.debug_tuple("JwtKey::Providers").field(providers).finish()
            }
        }
    }
}

/// One trusted issuer and where its keys are.
#[derive(Clone, Debug, PartialEq)]
pub struct Provider {
    /// Exactly as tokens carry it in `iss`.
    pub issuer: String,
    pub keys: KeySource,
}

#[derive(Clone, Debug, PartialEq)]
pub enum KeySource {
    /// `{issuer}/.well-known/openid-configuration` names the key set (`jwks_uri`).
    Discovery(Url),
    /// The key set itself (`DIGIHJELPEN_JWKS_URL`).
    KeySet(Url),
}

/// Where a token carries the caller's role and municipality, and what its role values mean.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimMapping {
    /// A dotted path into the claims (`role`, `roles`, `realm_access.roles`).
    pub role_claim: String,
    /// Provider values to roles; `None` takes the values `ks`, `kmd` and `municipality` as
    /// they are.
    pub role_map: Option<Vec<(String, Role)>>,
    pub municipality_claim: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            role_claim: "role".into(),
            role_map: None,
            municipality_claim: "municipality".into(),
        }
    }
}

/// Maskinporten clients: tokens with a `consumer` claim naming an organisation number.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MachineClients {
    /// The scope a machine token must carry; without it no machine token is accepted.
    pub scope: Option<String>,
    /// Organisation numbers whose systems act as KS.
    pub ks: Vec<String>,
    /// Organisation numbers whose systems act as the ministry.
    pub kmd: Vec<String>,
}

/// The variables that each make one kind of key active; at most one may be set.
const KINDS: [&str; 4] = [
    "DIGIHJELPEN_JWT_SECRET",
    "DIGIHJELPEN_JWT_PUBLIC_KEY",
    "DIGIHJELPEN_OIDC_ISSUER",
    "DIGIHJELPEN_JWKS_URL",
];

/// Which kind of key the variables make active; `None` is the development secret.
pub fn active_kind(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<&'static str>, ConfigError> {
    let set: Vec<&'static str> = KINDS
        .into_iter()
        .filter(|name| var(name).is_some_and(|v| !v.trim().is_empty()))
        .collect();
    match set.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        [first, second, ..] => Err(error(
            second,
            format!(
                "{first} is set too: exactly one kind of key is active (an HS256 secret, a PEM \
                 public key, OIDC issuers or a JWKS URL); unset all but one"
            ),
        )),
    }
}

/// Reads the identity variables; `secret` is the development secret, made only when no kind
/// is configured.
pub fn from_lookup(
    var: &impl Fn(&str) -> Option<String>,
    development_secret: impl FnOnce() -> Result<Vec<u8>, ConfigError>,
) -> Result<JwtConfig, ConfigError> {
    let value = |name: &str| {
        var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let issuer = value("DIGIHJELPEN_JWT_ISSUER").unwrap_or_else(|| "digihjelpen".into());
    let key = match active_kind(var)? {
        Some("DIGIHJELPEN_JWT_PUBLIC_KEY") => {
            let path = value("DIGIHJELPEN_JWT_PUBLIC_KEY").unwrap_or_default();
            let pem = std::fs::read(&path).map_err(|e| {
                error(
                    "DIGIHJELPEN_JWT_PUBLIC_KEY",
                    format!("cannot read {path}: {e}"),
                )
            })?;
            verifying_key(&pem).map_err(|e| error("DIGIHJELPEN_JWT_PUBLIC_KEY", e))?;
            JwtKey::PublicKeyPem(pem)
        }
        Some("DIGIHJELPEN_JWT_SECRET") => {
            // The secret is taken as written, spaces included.
            let secret = var("DIGIHJELPEN_JWT_SECRET").unwrap_or_default();
            if secret.len() < 32 {
                return Err(error(
                    "DIGIHJELPEN_JWT_SECRET",
                    "must be at least 32 characters",
                ));
            }
            JwtKey::Secret(secret.into_bytes())
        }
        Some("DIGIHJELPEN_OIDC_ISSUER") => JwtKey::Providers(oidc_issuers(
            &value("DIGIHJELPEN_OIDC_ISSUER").unwrap_or_default(),
        )?),
        Some(_) => {
            let url = value("DIGIHJELPEN_JWKS_URL").unwrap_or_default();
            let url = fetchable_url(&url).map_err(|e| error("DIGIHJELPEN_JWKS_URL", e))?;
            JwtKey::Providers(vec![Provider {
                issuer: issuer.clone(),
                keys: KeySource::KeySet(url),
            }])
        }
        None => JwtKey::Secret(development_secret()?),
    };
    Ok(JwtConfig {
        key,
        issuer,
        audience: value("DIGIHJELPEN_JWT_AUDIENCE").unwrap_or_else(|| "digihjelpen-api".into()),
        claims: ClaimMapping {
            role_claim: claim_path(
                "DIGIHJELPEN_ROLE_CLAIM",
                value("DIGIHJELPEN_ROLE_CLAIM").unwrap_or_else(|| "role".into()),
            )?,
            role_map: value("DIGIHJELPEN_ROLE_MAP")
                .map(|m| role_map(&m))
                .transpose()?,
            municipality_claim: claim_path(
                "DIGIHJELPEN_MUNICIPALITY_CLAIM",
                value("DIGIHJELPEN_MUNICIPALITY_CLAIM").unwrap_or_else(|| "municipality".into()),
            )?,
        },
        machine: machine_clients(&value)?,
    })
}

/// The decoding key and algorithm of a PEM public key (RS256 or ES256).
pub fn verifying_key(pem: &[u8]) -> Result<(DecodingKey, Algorithm), String> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        return Ok((key, Algorithm::RS256));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        return Ok((key, Algorithm::ES256));
    }
    Err("is not a PEM-encoded RSA or EC public key".into())
}

fn oidc_issuers(list: &str) -> Result<Vec<Provider>, ConfigError> {
    let fail = |m: String| error("DIGIHJELPEN_OIDC_ISSUER", m);
    let mut providers: Vec<Provider> = Vec::new();
    for issuer in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        fetchable_url(issuer).map_err(|e| fail(format!("'{issuer}' {e}")))?;
        if providers.iter().any(|p| p.issuer == issuer) {
            return Err(fail(format!("'{issuer}' is listed twice")));
        }
        let discovery = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let discovery = Url::parse(&discovery).map_err(|e| fail(format!("'{issuer}': {e}")))?;
        providers.push(Provider {
            issuer: issuer.to_string(),
            keys: KeySource::Discovery(discovery),
        });
    }
    if providers.is_empty() {
        return Err(fail("names no issuer".into()));
    }
    Ok(providers)
}

/// A URL keys may be fetched from: `https`, or `http` on a loopback address (tests, a
/// provider on the same host); no credentials, query or fragment.
pub fn fetchable_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text)
        .map_err(|_| "is not a URL such as https://idp.example/realms/x".to_string())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or a fragment".into());
    }
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err("must be an https URL (http only on a loopback address)".into()),
    }
}

fn claim_path(variable: &'static str, path: String) -> Result<String, ConfigError> {
    if path.split('.').any(|segment| segment.trim().is_empty()) || path.chars().count() > 200 {
        return Err(error(
            variable,
            format!("'{path}' is not a claim path such as roles or realm_access.roles"),
        ));
    }
    Ok(path)
}

/// `value=role,value=role`: a provider's role values (which may hold `.` and `=`; the last
/// `=` separates) to `ks`, `kmd` or `municipality`.
fn role_map(text: &str) -> Result<Vec<(String, Role)>, ConfigError> {
    let fail = |m: String| error("DIGIHJELPEN_ROLE_MAP", m);
    let mut map: Vec<(String, Role)> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((value, role)) = entry.rsplit_once('=') else {
            return Err(fail(format!("'{entry}' is not value=role")));
        };
        let value = value.trim();
        let role = Role::from_name(role.trim()).ok_or_else(|| {
            fail(format!(
                "'{entry}': the role must be ks, kmd or municipality"
            ))
        })?;
        if value.is_empty() {
            return Err(fail(format!("'{entry}' has no value")));
        }
        if map.iter().any(|(v, _)| v == value) {
            return Err(fail(format!("'{value}' is mapped twice")));
        }
        map.push((value.to_string(), role));
    }
    if map.is_empty() {
        return Err(fail("maps no value".into()));
    }
    Ok(map)
}

fn machine_clients(value: &impl Fn(&str) -> Option<String>) -> Result<MachineClients, ConfigError> {
    let scope = value("DIGIHJELPEN_MACHINE_SCOPE");
    if let Some(scope) = &scope
        && scope.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(error(
            "DIGIHJELPEN_MACHINE_SCOPE",
            "must be one scope, without spaces",
        ));
    }
    let numbers = |variable: &'static str| -> Result<Vec<String>, ConfigError> {
        value(variable)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| {
                crate::common::values::OrganizationNumber::parse(n)
                    .map(|n| n.as_str().to_string())
                    .map_err(|e| error(variable, format!("'{n}' {e}")))
            })
            .collect()
    };
    let ks = numbers("DIGIHJELPEN_KS_ORGNO")?;
    let kmd = numbers("DIGIHJELPEN_KMD_ORGNO")?;
    if let Some(both) = ks.iter().find(|n| kmd.contains(n)) {
        return Err(error(
            "DIGIHJELPEN_KMD_ORGNO",
            format!("{both} is listed for KS too: an organisation has one role"),
        ));
    }
    Ok(MachineClients { scope, ks, kmd })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<JwtConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_lookup(&|name: &str| map.get(name).cloned(), || {
            Ok(b"development".to_vec())
        })
    }

    #[test]
    fn two_kinds_of_key_at_once_are_refused_naming_both() {
        let err = read(&[
            (
                "DIGIHJELPEN_JWT_SECRET",
                "a-test-secret-that-is-long-enough-000",
            ),
            ("DIGIHJELPEN_OIDC_ISSUER", "https://idp.example/realms/x"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "DIGIHJELPEN_OIDC_ISSUER");
        assert!(err.message.contains("DIGIHJELPEN_JWT_SECRET"), "{err}");
    }

    #[test]
    fn several_issuers_are_comma_separated_and_each_is_discovered() {
        let config = read(&[(
            "DIGIHJELPEN_OIDC_ISSUER",
            "https://idp.example/realms/x, https://maskinporten.no/",
        )])
        .unwrap();
        let JwtKey::Providers(providers) = config.key else {
            panic!("providers expected")
        };
        assert_eq!(providers[0].issuer, "https://idp.example/realms/x");
        assert_eq!(
            providers[1].keys,
            KeySource::Discovery(
                Url::parse("https://maskinporten.no/.well-known/openid-configuration").unwrap()
            )
        );
    }

    #[test]
    fn key_urls_are_https_except_on_loopback() {
        for good in [
            "https://idp.example/x",
            "http://127.0.0.1:8081/realms/x",
            "http://[::1]:9000",
            "http://localhost:8080",
        ] {
            assert!(fetchable_url(good).is_ok(), "{good}");
        }
        for bad in [
            "http://idp.example/x",
            "http://10.0.0.1/x",
            "ftp://idp.example",
            "https://user:pw@idp.example",
            "https://idp.example/x?a=1",
            "idp.example",
        ] {
            assert!(fetchable_url(bad).is_err(), "{bad}");
        }
        let err = read(&[("DIGIHJELPEN_JWKS_URL", "http://idp.example/keys")]).unwrap_err();
        assert_eq!(err.variable, "DIGIHJELPEN_JWKS_URL");
    }

    #[test]
    fn the_role_map_takes_provider_values_with_dots_and_refuses_unknown_roles() {
        let config = read(&[
            ("DIGIHJELPEN_ROLE_CLAIM", "realm_access.roles"),
            (
                "DIGIHJELPEN_ROLE_MAP",
                "Digihjelpen.KS=ks, Digihjelpen.KMD=kmd,Digihjelpen.Kommune=municipality",
            ),
        ])
        .unwrap();
        assert_eq!(config.claims.role_claim, "realm_access.roles");
        assert_eq!(
            config.claims.role_map.unwrap()[2],
            ("Digihjelpen.Kommune".to_string(), Role::Municipality)
        );
        for (variable, bad) in [
            ("DIGIHJELPEN_ROLE_MAP", "Digihjelpen.KS=admin"),
            ("DIGIHJELPEN_ROLE_MAP", "Digihjelpen.KS"),
            ("DIGIHJELPEN_ROLE_MAP", "a=ks,a=kmd"),
            ("DIGIHJELPEN_ROLE_CLAIM", "realm_access..roles"),
        ] {
            assert_eq!(
                read(&[(variable, bad)]).unwrap_err().variable,
                variable,
                "{bad}"
            );
        }
    }

    #[test]
    fn machine_organisation_numbers_are_checked_and_have_one_role() {
        let config = read(&[
            ("DIGIHJELPEN_MACHINE_SCOPE", "ks:digihjelpen"),
            ("DIGIHJELPEN_KS_ORGNO", "971032146"),
            ("DIGIHJELPEN_KMD_ORGNO", "972417858"),
        ])
        .unwrap();
        assert_eq!(config.machine.scope.as_deref(), Some("ks:digihjelpen"));
        assert_eq!(config.machine.ks, ["971032146"]);
        for (variable, bad) in [
            ("DIGIHJELPEN_KS_ORGNO", "12345"),
            ("DIGIHJELPEN_MACHINE_SCOPE", "a b"),
        ] {
            assert_eq!(read(&[(variable, bad)]).unwrap_err().variable, variable);
        }
        let both = read(&[
            ("DIGIHJELPEN_KS_ORGNO", "971032146"),
            ("DIGIHJELPEN_KMD_ORGNO", "971032146"),
        ]);
        assert_eq!(both.unwrap_err().variable, "DIGIHJELPEN_KMD_ORGNO");
    }
}
