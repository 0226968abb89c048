//! Maskinporten machine clients: a token whose `consumer` claim names an organisation
//! (`{"authority": "iso6523-actorid-upis", "ID": "0192:<organisation number>"}`) and whose
//! `scope` holds the configured scope acts for that organisation: the municipality with that
//! organisation number in the reference data, or KS or the ministry when configured so.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;

use super::claims::{expiry, unauthorized};
use super::{Caller, Role, Via};
use crate::common::values::{MunicipalityNumber, OrganizationNumber};
use crate::config::MachineClients;
use crate::http::error::ApiError;

/// The ISO 6523 scheme of Norwegian organisation numbers in a `consumer` claim.
const AUTHORITY: &str = "iso6523-actorid-upis";
const ORGNO_PREFIX: &str = "0192:";

/// Whether a token is a machine client's (it has a `consumer` claim).
pub fn is_machine(claims: &Value) -> bool {
    claims.get("consumer").is_some()
}

/// The organisation number of a machine token that carries the configured scope: 401 for a
/// malformed `consumer`, 403 without the scope (or when no scope is configured).
pub fn organization(claims: &Value, machine: &MachineClients) -> Result<String, ApiError> {
    let consumer = claims.get("consumer");
    let authority = consumer
        .and_then(|c| c.get("authority"))
        .and_then(Value::as_str);
    let id = consumer.and_then(|c| c.get("ID")).and_then(Value::as_str);
    let number = match (authority, id.and_then(|id| id.strip_prefix(ORGNO_PREFIX))) {
        (Some(AUTHORITY), Some(number)) => OrganizationNumber::parse(number)
            .map_err(|_| unauthorized("the consumer claim does not name an organisation number"))?,
        _ => {
            return Err(unauthorized(
                "the consumer claim must be {\"authority\": \"iso6523-actorid-upis\", \"ID\": \"0192:<organisation number>\"}",
            ));
        }
    };
    let Some(required) = &machine.scope else {
        return Err(ApiError::Forbidden(
            "machine clients are not accepted: no scope is configured for them".into(),
        ));
    };
    let scopes = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !scopes.split(' ').any(|scope| scope == required) {
        return Err(ApiError::Forbidden(format!(
            "the token does not carry the scope {required}"
        )));
    }
    Ok(number.as_str().to_string())
}

/// The role an organisation number configured for KS or the ministry has.
pub fn configured_role(number: &str, machine: &MachineClients) -> Option<Role> {
    if machine.ks.iter().any(|n| n == number) {
        Some(Role::Ks)
    } else if machine.kmd.iter().any(|n| n == number) {
        Some(Role::Kmd)
    } else {
        None
    }
}

/// The caller a machine token names: KS or the ministry by configuration, else the
/// municipality whose organisation number it is; any other organisation is 403.
pub async fn caller(
    claims: &Value,
    machine: &MachineClients,
    db: &DatabaseConnection,
) -> Result<Caller, ApiError> {
    let number = organization(claims, machine)?;
    let expires_at = expiry(claims)?;
    let (role, municipality, name) = match configured_role(&number, machine) {
        Some(role) => (role, None, None),
        None => {
            let found = entity::municipality::Entity::find()
                .filter(entity::municipality::Column::OrganizationNumber.eq(number.as_str()))
                .one(db)
                .await?
                .ok_or_else(|| {
                    ApiError::Forbidden(format!(
                        "the organisation {number} is no municipality and is not configured as KS or the ministry"
                    ))
                })?;
            let municipality = MunicipalityNumber::parse(&found.number).map_err(|_| {
                tracing::error!(number = %found.number, "a stored municipality number is malformed");
                ApiError::Internal
            })?;
            (Role::Municipality, Some(municipality), Some(found.name))
        }
    };
    Ok(Caller {
        sub: number.clone(),
        role,
        municipality,
        name,
        expires_at,
        via: Via::Maskinporten,
        organization_number: Some(number),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn machine() -> MachineClients {
        MachineClients {
            scope: Some("ks:digihjelpen".into()),
            ks: vec!["971032146".into()],
            kmd: vec!["972417858".into()],
        }
    }

    fn token(id: &str, scope: &str) -> Value {
        json!({
            "consumer": {"authority": "iso6523-actorid-upis", "ID": id},
            "scope": scope, "exp": 2_000_000_000,
        })
    }

    #[test]
    fn the_organisation_number_comes_from_the_consumer_claim_with_the_scope() {
        let number = organization(&token("0192:974760673", "other ks:digihjelpen"), &machine());
        assert_eq!(number.unwrap(), "974760673");
    }

    #[test]
    fn a_token_without_the_scope_is_forbidden() {
        for scope in ["", "other", "ks:digihjelpen2", "ks:digihjelpen:x"] {
            let err = organization(&token("0192:974760673", scope), &machine()).unwrap_err();
            assert!(matches!(err, ApiError::Forbidden(_)), "{scope}");
        }
        let unconfigured = MachineClients::default();
        let err = organization(&token("0192:974760673", "ks:digihjelpen"), &unconfigured);
        assert!(matches!(err, Err(ApiError::Forbidden(_))));
    }

    #[test]
    fn a_malformed_consumer_is_unauthorized() {
        for id in [
            "974760673",
            "0192:97476067",
            "0192:974760674",
            "9908:974760673",
        ] {
            let err = organization(&token(id, "ks:digihjelpen"), &machine()).unwrap_err();
            assert!(matches!(err, ApiError::Unauthorized(_)), "{id}");
        }
        let wrong_authority = json!({"consumer": {"authority": "x", "ID": "0192:974760673"}, "scope": "ks:digihjelpen"});
        assert!(matches!(
            organization(&wrong_authority, &machine()),
            Err(ApiError::Unauthorized(_))
        ));
    }

    #[test]
    fn configured_organisations_act_as_ks_or_the_ministry() {
        assert_eq!(configured_role("971032146", &machine()), Some(Role::Ks));
        assert_eq!(configured_role("972417858", &machine()), Some(Role::Kmd));
        assert_eq!(configured_role("974760673", &machine()), None);
    }
}
