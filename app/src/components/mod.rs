//! Building blocks shared by the pages.

pub mod layout;
