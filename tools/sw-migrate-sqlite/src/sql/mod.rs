//! SQLite schema SQL, read and translated: a tokenizer (`token`), the
//! PostgreSQL names given to SQLite ones (`names`), and a token-level
//! translator to PostgreSQL for the pieces that carry expressions
//! (`translate`). Whatever it cannot translate with confidence is refused
//! with a reason, never guessed.

mod names;
mod token;
mod translate;

pub use names::{NameMap, Names, shorten};
pub use token::{Tok, group, split_commas, tokenize};
pub use translate::translate;
