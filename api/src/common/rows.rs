//! Child rows kept as a set (a location's languages and topics, a meeting place's counties,
//! a resource's languages): replaced as a whole when the parent changes.

use sea_orm::sea_query::IntoCondition;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// Deletes the rows `parent` selects and inserts `rows` in their place, in the caller's
/// transaction (so a reader never sees the set half replaced).
pub async fn replace_children<A>(
    conn: &impl ConnectionTrait,
    parent: impl IntoCondition,
    rows: impl IntoIterator<Item = A>,
) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    A::Entity::delete_many().filter(parent).exec(conn).await?;
    let rows: Vec<A> = rows.into_iter().collect();
    if !rows.is_empty() {
        A::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(())
}
