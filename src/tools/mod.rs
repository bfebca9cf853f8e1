//! Commands beside the server: the load benchmark (`bench`) and the demo (`demo`).

pub mod bench;
pub mod demo;
