//! A verified token's claims to a caller: the role from a configurable claim (a dotted path,
//! a string or a list) through the role map, the municipality from its claim, and the bounds
//! every claim that ends up in a stored row must keep.

use serde_json::Value;

use super::{Caller, Role, Via};
use crate::common::values::MunicipalityNumber;
use crate::config::ClaimMapping;
use crate::http::error::ApiError;

/// The longest `sub` or `name` a token may carry.
const MAX_CLAIM_CHARS: usize = 255;

pub fn unauthorized(why: &str) -> ApiError {
    ApiError::Unauthorized(format!("the bearer token is invalid: {why}"))
}

/// The claim at a dotted path (`realm_access.roles`).
pub fn at_path<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(claims, |value, segment| value.get(segment))
}

/// The caller a person's token names (a staff member of KS, the ministry or a municipality).
pub fn staff(claims: &Value, mapping: &ClaimMapping, via: Via) -> Result<Caller, ApiError> {
    let sub = match claims.get("sub") {
        Some(Value::String(sub)) if !sub.trim().is_empty() => sub.clone(),
        Some(Value::String(_)) => return Err(unauthorized("sub is empty")),
        _ => {
            return Err(unauthorized(
                "a required claim (sub, iss, aud, exp) is missing",
            ));
        }
    };
    let name = match claims.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err(unauthorized("name must be a string")),
    };
    // Claims end up in stored rows (the audit log's actor): bounded like any text field.
    if !is_claim_text(&sub) || name.as_deref().is_some_and(|n| !is_claim_text(n)) {
        return Err(unauthorized(
            "sub and name must be at most 255 characters, without control characters",
        ));
    }
    let expires_at = expiry(claims)?;
    let role = role(claims, mapping)?;
    let municipality = match at_path(claims, &mapping.municipality_claim) {
        None | Some(Value::Null) => None,
        Some(Value::String(number)) => Some(number.as_str()),
        Some(_) => return Err(unauthorized("the municipality claim must be a string")),
    };
    let municipality = match (role, municipality) {
        (Role::Municipality, Some(number)) => Some(
            MunicipalityNumber::parse(number)
                .map_err(|_| unauthorized("the municipality claim is not a municipality number"))?,
        ),
        (Role::Municipality, None) => {
            return Err(unauthorized(
                "the municipality role needs a municipality claim",
            ));
        }
        (_, Some(_)) => {
            return Err(unauthorized(
                "only the municipality role carries a municipality claim",
            ));
        }
        (_, None) => None,
    };
    Ok(Caller {
        sub,
        role,
        municipality,
        name,
        expires_at,
        via,
        organization_number: None,
    })
}

/// `exp` as whole seconds, within the instants the database keeps.
pub fn expiry(claims: &Value) -> Result<i64, ApiError> {
    let exp = claims
        .get("exp")
        .and_then(Value::as_f64)
        .filter(|exp| exp.is_finite())
        .map(|exp| exp.floor() as i64);
    let in_range = exp
        .and_then(|exp| chrono::DateTime::from_timestamp(exp, 0))
        .is_some_and(|exp| crate::http::bounds::instant_in_range(&exp));
    match exp {
        Some(exp) if in_range => Ok(exp),
        _ => Err(unauthorized("exp must be an instant before the year 2201")),
    }
}

/// The one role the role claim maps to. Values the map does not name are ignored (a
/// provider puts roles of other applications there too); two different roles are refused,
/// never resolved to the stronger one.
fn role(claims: &Value, mapping: &ClaimMapping) -> Result<Role, ApiError> {
    let path = &mapping.role_claim;
    let values: Vec<&str> = match at_path(claims, path) {
        Some(Value::String(value)) => vec![value.as_str()],
        Some(Value::Array(values)) if values.iter().all(Value::is_string) => {
            values.iter().filter_map(Value::as_str).collect()
        }
        None | Some(Value::Null) => {
            return Err(unauthorized(&format!("the role claim `{path}` is missing")));
        }
        Some(_) => {
            return Err(unauthorized(&format!(
                "the role claim `{path}` must be a string or a list of strings"
            )));
        }
    };
    let mut roles: Vec<Role> = values
        .into_iter()
        .filter_map(|value| match &mapping.role_map {
            None => Role::from_name(value),
            Some(map) => map.iter().find(|(v, _)| v == value).map(|(_, role)| *role),
        })
        .collect();
    roles.sort();
    roles.dedup();
    match roles.as_slice() {
        [role] => Ok(*role),
        [] => Err(unauthorized(&format!(
            "the role claim `{path}` names no role of this API (ks, kmd or municipality{})",
            if mapping.role_map.is_some() {
                ", through the role map"
            } else {
                ""
            }
        ))),
        several => Err(unauthorized(&format!(
            "the role claim `{path}` maps to several roles ({}): a token must carry exactly one",
            several
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub fn is_claim_text(value: &str) -> bool {
    value.chars().count() <= MAX_CLAIM_CHARS && !value.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(role: Value, municipality: Option<&str>) -> Value {
        let mut claims = json!({"sub": "kari", "role": role, "exp": 2_000_000_000});
        if let Some(m) = municipality {
            claims["municipality"] = json!(m);
        }
        claims
    }

    fn caller(claims: &Value) -> Result<Caller, ApiError> {
        staff(claims, &ClaimMapping::default(), Via::Secret)
    }

    fn keycloak() -> ClaimMapping {
        ClaimMapping {
            role_claim: "realm_access.roles".into(),
            role_map: Some(vec![
                ("Digihjelpen.KS".into(), Role::Ks),
                ("Digihjelpen.KMD".into(), Role::Kmd),
                ("Digihjelpen.Kommune".into(), Role::Municipality),
            ]),
            municipality_claim: "kommunenummer".into(),
        }
    }

    #[test]
    fn the_municipality_claim_belongs_to_the_municipality_role_only() {
        assert!(caller(&claims(json!("municipality"), Some("0301"))).is_ok());
        assert!(caller(&claims(json!("municipality"), None)).is_err());
        assert!(caller(&claims(json!("municipality"), Some("oslo"))).is_err());
        assert!(caller(&claims(json!("ks"), Some("0301"))).is_err());
        assert!(caller(&claims(json!("kmd"), None)).is_ok());
    }

    #[test]
    fn unknown_roles_are_refused() {
        for role in [
            json!("admin"),
            json!("KS"),
            json!(""),
            json!(7),
            json!(["ks", 1]),
        ] {
            assert!(caller(&claims(role.clone(), None)).is_err(), "{role}");
        }
    }

    #[test]
    fn a_role_claim_path_reads_nested_lists_through_the_map_ignoring_other_values() {
        let token = json!({
            "sub": "kari", "exp": 2_000_000_000, "kommunenummer": "0301",
            "realm_access": {"roles": ["offline_access", "Digihjelpen.Kommune", "uma_authorization"]},
        });
        let caller = staff(&token, &keycloak(), Via::Oidc).unwrap();
        assert_eq!(caller.role, Role::Municipality);
        assert_eq!(caller.municipality.unwrap().as_str(), "0301");
        // Without the map, the provider's values are no role of this API.
        let mapping = ClaimMapping {
            role_map: None,
            ..keycloak()
        };
        assert!(staff(&token, &mapping, Via::Oidc).is_err());
    }

    #[test]
    fn two_roles_are_refused_saying_why_and_one_role_twice_is_one_role() {
        let token = json!({
            "sub": "kari", "exp": 2_000_000_000,
            "realm_access": {"roles": ["Digihjelpen.KS", "Digihjelpen.KMD"]},
        });
        let err = staff(&token, &keycloak(), Via::Oidc).unwrap_err();
        assert!(err.to_string().contains("several roles (ks, kmd)"), "{err}");
        assert!(caller(&claims(json!(["ks", "ks"]), None)).is_ok());
    }

    #[test]
    fn sub_name_and_exp_are_bounded() {
        let mut token = claims(json!("ks"), None);
        token["sub"] = json!("x".repeat(256));
        assert!(caller(&token).is_err());
        let mut token = claims(json!("ks"), None);
        token["name"] = json!("a\u{0}b");
        assert!(caller(&token).is_err());
        let mut token = claims(json!("ks"), None);
        token["exp"] = json!(1e300);
        assert!(caller(&token).is_err());
        let mut token = claims(json!("ks"), None);
        token["sub"] = json!(42);
        assert!(caller(&token).is_err());
    }
}
