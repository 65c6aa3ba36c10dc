//! Nothing to use: this crate holds `benches/actix_paths.rs`, which compares
//! the tiered-sessions actix-web middleware with actix-session 0.11. See the
//! README beside it.
