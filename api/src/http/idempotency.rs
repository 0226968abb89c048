//! `Idempotency-Key` for creating requests: a retry with the same key and body gets the first
//! response again instead of creating a second resource; the same key with another body is
//! 409. Keys live in the database (so every replica sees them) for 24 hours, scoped to the
//! whole principal (role, municipality and `sub`: one person acting for two municipalities
//! is two callers) and the operation.

use chrono::{Duration, Utc};
use poem_openapi::types::{ParseFromJSON, ToJSON};
use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, Set, SqlErr};
use sha2::{Digest, Sha256};

use entity::idempotency_key;

use crate::auth::Caller;
use crate::http::error::{ApiError, ProblemCode};
use crate::state::Db;

const KEPT_FOR_HOURS: i64 = 24;

/// Runs `work` in one write transaction, at most once per (principal, operation, key).
///
/// The key is claimed by inserting its row before the work starts, in the same transaction:
/// a concurrent request with the same key waits on that row (PostgreSQL) or on the write lock
/// (SQLite) and then replays the stored result. If the work fails, the claim is rolled back
/// with it, so the client may retry with the same key.
pub async fn create_once<T>(
    db: &Db,
    caller: &Caller,
    operation: &str,
    key: Option<&str>,
    request: &impl ToJSON,
    work: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T, ApiError>,
) -> Result<T, ApiError>
where
    T: ToJSON + ParseFromJSON,
{
    let Some(key) = key else {
        let tx = db.begin_write().await?;
        let created = work(&tx).await?;
        tx.commit().await?;
        return Ok(created);
    };
    validate_key(key)?;
    let id = key_id(caller, operation, key);
    let request_hash = digest(&[operation, &request.to_json_string()]);

    let tx = db.begin_write().await?;
    if let Some(stored) = idempotency_key::Entity::find_by_id(id.as_str())
        .one(&tx)
        .await?
    {
        if stored.created_at > Utc::now() - Duration::hours(KEPT_FOR_HOURS) {
            return replay(stored, &request_hash);
        }
        idempotency_key::Entity::delete_by_id(id.as_str())
            .exec(&tx)
            .await?;
    }
    let claim = idempotency_key::ActiveModel {
        id: Set(id.clone()),
        request_hash: Set(request_hash.clone()),
        response_body: Set(None),
        created_at: Set(Utc::now()),
    };
    if let Err(err) = claim.insert(&tx).await {
        drop(tx);
        return match err.sql_err() {
            // Another request with this key committed first.
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                let stored = idempotency_key::Entity::find_by_id(id.as_str())
                    .one(db.conn())
                    .await?
                    .ok_or(ApiError::Internal)?;
                replay(stored, &request_hash)
            }
            _ => Err(err.into()),
        };
    }

    let created = work(&tx).await?;
    idempotency_key::ActiveModel {
        id: Set(id),
        response_body: Set(Some(created.to_json_string())),
        ..Default::default()
    }
    .update(&tx)
    .await?;
    tx.commit().await?;
    Ok(created)
}

fn replay<T: ParseFromJSON>(
    stored: idempotency_key::Model,
    request_hash: &str,
) -> Result<T, ApiError> {
    if stored.request_hash != request_hash {
        return Err(ApiError::Conflict(
            ProblemCode::IdempotencyKeyReused,
            "this Idempotency-Key was already used with a different request".into(),
        ));
    }
    let body = stored.response_body.ok_or_else(|| {
        ApiError::Conflict(
            ProblemCode::RequestInProgress,
            "a request with this Idempotency-Key is still in progress".into(),
        )
    })?;
    T::parse_from_json_string(&body).map_err(|e| {
        tracing::error!(error = %e.message(), "stored idempotent response does not parse");
        ApiError::Internal
    })
}

fn validate_key(key: &str) -> Result<(), ApiError> {
    if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. a UUID".into(),
        ))
    }
}

/// The stored id of a key: the principal, the operation and the key, digested.
fn key_id(caller: &Caller, operation: &str, key: &str) -> String {
    digest(&[
        caller.role.as_str(),
        caller.municipality.as_ref().map_or("", |m| m.as_str()),
        &caller.sub,
        operation,
        key,
    ])
}

fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::common::values::MunicipalityNumber;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(validate_key("4f1c2d9e-2b7a-4c1e-9a53-0c6f0b1f5a10").is_ok());
        assert!(validate_key("").is_err());
        assert!(validate_key("has space").is_err());
        assert!(validate_key("nøkkel").is_err());
        assert!(validate_key(&"k".repeat(256)).is_err());
    }

    #[test]
    fn a_key_belongs_to_the_whole_principal() {
        let caller = |role, municipality: Option<&str>| Caller {
            sub: "kari".into(),
            role,
            municipality: municipality.map(|m| MunicipalityNumber::parse(m).unwrap()),
            name: None,
            expires_at: 0,
            via: crate::auth::Via::Secret,
            organization_number: None,
        };
        let oslo = key_id(
            &caller(Role::Municipality, Some("0301")),
            "create_ticket",
            "k",
        );
        let bergen = key_id(
            &caller(Role::Municipality, Some("4601")),
            "create_ticket",
            "k",
        );
        let ks = key_id(&caller(Role::Ks, None), "create_ticket", "k");
        assert_ne!(oslo, bergen);
        assert_ne!(oslo, ks);
        assert_eq!(
            oslo,
            key_id(
                &caller(Role::Municipality, Some("0301")),
                "create_ticket",
                "k"
            )
        );
    }

    #[test]
    fn digests_separate_their_parts() {
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
        assert_eq!(digest(&["a"]).len(), 64);
    }
}
