//! One module per subcommand.
pub mod decode;
pub mod extract;
pub mod inspect;
pub mod scan;
