//! Shared helpers for the airssys criterion benchmarks.
