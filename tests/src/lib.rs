//! Black-box integration tests of the Digihjelpen API live in `tests/`.
