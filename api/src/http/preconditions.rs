//! Optimistic concurrency: every mutable resource has a `version`, sent as its `ETag`; a
//! change must carry it back in `If-Match`, so an update made from a stale read is refused
//! with 412 instead of silently overwriting someone else's change.

use sea_orm::sea_query::{Condition, IntoCondition};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};

use crate::http::error::ApiError;

/// The ETag of a version: a strong validator, e.g. `"3"`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Checks an `If-Match` header against the current version: 428 when it is missing, 412 when
/// none of its entity tags is the current one (`*` matches any).
pub fn check_if_match(if_match: Option<&str>, current_version: i32) -> Result<(), ApiError> {
    check_if_match_tag(if_match, &etag(current_version), current_version)
}

/// [`check_if_match`] for a resource whose ETag is not its bare version (a view that
/// differs by role): `current` is the tag the caller is shown now.
pub fn check_if_match_tag(
    if_match: Option<&str>,
    current: &str,
    current_version: i32,
) -> Result<(), ApiError> {
    let header = if_match
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(ApiError::PreconditionRequired)?;
    let matches = header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current);
    if matches {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed { current_version })
    }
}

/// Writes `row` to the row that `key` selects, if its version is still `version`, and raises
/// the version by one: the check and the write are one statement, so two writers that read
/// the same version cannot both succeed. When another write came first the answer is 412 with
/// the version stored now (404 when the row is gone).
pub async fn update_versioned<A>(
    conn: &impl ConnectionTrait,
    row: A,
    key: impl IntoCondition,
    version_column: <A::Entity as EntityTrait>::Column,
    version: i32,
) -> Result<(), ApiError>
where
    A: ActiveModelTrait + Send,
{
    update_versioned_if(
        conn,
        row,
        key,
        version_column,
        version,
        Condition::all(),
        || ApiError::Internal,
    )
    .await
}

/// [`update_versioned`] with a `guard` the row must also meet (e.g. room left for the
/// registrations already made); `refused` is the answer when the version is current but the
/// guard does not hold.
pub async fn update_versioned_if<A>(
    conn: &impl ConnectionTrait,
    mut row: A,
    key: impl IntoCondition,
    version_column: <A::Entity as EntityTrait>::Column,
    version: i32,
    guard: Condition,
    refused: impl FnOnce() -> ApiError,
) -> Result<(), ApiError>
where
    A: ActiveModelTrait + Send,
{
    let key = key.into_condition();
    row.set(version_column, (version + 1).into());
    let written = A::Entity::update_many()
        .set(row)
        .filter(key.clone())
        .filter(version_column.eq(version))
        .filter(guard)
        .exec(conn)
        .await?
        .rows_affected;
    if written == 1 {
        return Ok(());
    }
    match stale::<A::Entity>(conn, key, version_column).await? {
        ApiError::PreconditionFailed { current_version } if current_version == version => {
            Err(refused())
        }
        answer => Err(answer),
    }
}

/// Deletes the row that `key` selects if its version is still `version`: like
/// [`update_versioned`], the check and the delete are one statement, and a writer that came
/// first makes this a 412 with the version stored now (404 when the row is gone).
pub async fn delete_versioned<E>(
    conn: &impl ConnectionTrait,
    key: impl IntoCondition,
    version_column: E::Column,
    version: i32,
) -> Result<(), ApiError>
where
    E: EntityTrait,
{
    let key = key.into_condition();
    let deleted = E::delete_many()
        .filter(key.clone())
        .filter(version_column.eq(version))
        .exec(conn)
        .await?
        .rows_affected;
    if deleted == 1 {
        return Ok(());
    }
    Err(stale::<E>(conn, key, version_column).await?)
}

/// The answer to a versioned write that changed nothing because of the version: 412 with
/// the version stored now, or 404 when the row is gone.
async fn stale<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    key: Condition,
    version_column: E::Column,
) -> Result<ApiError, ApiError> {
    let stored: Option<i32> = E::find()
        .filter(key)
        .select_only()
        .column(version_column)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(match stored {
        None => ApiError::NotFound("the resource no longer exists".into()),
        Some(current_version) => ApiError::PreconditionFailed { current_version },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_must_name_the_current_version() {
        assert!(check_if_match(Some("\"3\""), 3).is_ok());
        assert!(check_if_match(Some("\"2\", \"3\""), 3).is_ok());
        assert!(check_if_match(Some("*"), 3).is_ok());
        assert!(matches!(
            check_if_match(Some("\"2\""), 3),
            Err(ApiError::PreconditionFailed { current_version: 3 })
        ));
        // Weak tags never match for a change (RFC 9110, strong comparison).
        assert!(check_if_match(Some("W/\"3\""), 3).is_err());
        assert!(check_if_match(Some("3"), 3).is_err());
        assert!(matches!(
            check_if_match(None, 3),
            Err(ApiError::PreconditionRequired)
        ));
        assert!(matches!(
            check_if_match(Some(" "), 3),
            Err(ApiError::PreconditionRequired)
        ));
    }
}
