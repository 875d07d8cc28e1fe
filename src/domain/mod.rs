//! Domain values: newtypes parsed at the edge ("parse, don't validate").
//!
//! Nothing here does I/O or knows about HTTP. A value of one of these types has
//! been checked once, so the rest of the code can rely on it.

pub mod calendar;
pub mod classification;
pub mod free_text;
pub mod ids;
pub mod ingest;
pub mod metadata;
pub mod people;
pub mod pii;
pub mod vehicle;

pub use classification::{Category, Classification};
pub use ids::{ArchiveNo, DocumentId};
pub use people::{Branch, Level, Role};
pub use vehicle::{Plate, Vin};
