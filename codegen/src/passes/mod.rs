//! The normalization passes, one concern each, run in this order.

pub mod bodies;
pub mod collisions;
pub mod one_of;
pub mod openapi31;
pub mod operation_ids;
pub mod parameters;
pub mod references;
pub mod response_enums;
pub mod responses;
pub mod strings;
pub mod type_names;
