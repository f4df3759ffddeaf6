//! One module per page.

pub mod login;
pub mod new_order;
pub mod not_found;
pub mod overview;
pub mod pending;
pub mod services;
pub mod workflow;
pub mod workflows;
