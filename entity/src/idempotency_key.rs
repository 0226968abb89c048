//! The first response to a creating request sent with an `Idempotency-Key`, kept in the
//! database so that every replica answers a retry the same way.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    /// A digest of the caller, the operation and the key the caller chose.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// A digest of the request target and body: a retry must send the same.
    pub request_hash: String,
    /// The JSON body of the first response; written in the transaction that created it.
    pub response_body: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
