//! Pieces shared by the pages.

pub mod confirm;
pub mod layout;
pub mod live;
