#![doc = include_str!("../README.md")]

pub mod app;
pub mod backend;
pub mod chaos;
pub mod client;
pub mod counters;
pub mod figures;
pub mod rng;
pub mod scale;
pub mod schedule;
pub mod serve;
pub mod servers;
pub mod storm;
