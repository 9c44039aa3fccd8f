//! One module per subcommand.
pub mod decode;
pub mod inspect;
pub mod scan;
