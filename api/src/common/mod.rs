//! Values and checks every resource shares: text fields, validated domain values, the
//! collection of invalid fields for a 422, optional fields that refuse `null`, and enums
//! stored as text. Nothing here knows a resource or HTTP beyond the error it answers.

pub mod clock;
pub mod holidays;
pub mod languages;
pub mod optional;
pub mod oslo;
pub mod role;
pub mod rows;
pub mod stored;
pub mod text;
pub mod validation;
pub mod values;
