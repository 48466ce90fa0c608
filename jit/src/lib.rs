//! Placeholder crate for the Cranelift translator (issue 6); nothing is compiled yet.
