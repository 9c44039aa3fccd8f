//! One module per subcommand.
pub mod decode;
pub mod demo;
pub mod extract;
pub mod inspect;
pub mod ls;
pub mod regrid;
pub mod scan;
pub mod serve;
pub mod stats;
