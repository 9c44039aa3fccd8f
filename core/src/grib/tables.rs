//! Parameter and level tables generated from ecCodes' definitions.
//! (Placeholder: being written.)
