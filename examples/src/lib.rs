//! Runnable airssys examples; see the `rt/` folder and `README.md`.
