//! One module a page; each exports the page's component.

pub mod not_found;
pub mod overview;
