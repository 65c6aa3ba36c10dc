//! Why postcard encodes session values: the candidates, on a typical value set
//! (a user record and a list of recent ids), in one run. `cargo bench --bench
//! value_formats`. postcard is compact, non-self-describing and maintained;
//! JSON and MessagePack describe types (larger, slower) — see the figures.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone)]
struct User {
    id: u64,
    email: String,
    roles: Vec<String>,
    verified: bool,
}

#[derive(Serialize, Deserialize, Clone)]
struct Value {
    user: User,
    recent: Vec<u32>,
    theme: String,
}

fn sample() -> Value {
    Value {
        user: User {
            id: 1_234_567,
            email: "alice@example.com".into(),
            roles: vec!["admin".into(), "editor".into()],
            verified: true,
        },
        recent: (0..32).map(|i| i * 7919).collect(),
        theme: "dark".into(),
    }
}

fn bench(c: &mut Criterion) {
    let v = sample();
    let pc = postcard::to_stdvec(&v).expect("postcard");
    let js = serde_json::to_vec(&v).expect("json");
    let mp = rmp_serde::to_vec(&v).expect("msgpack");
    eprintln!(
        "encoded sizes: postcard {} B, json {} B, msgpack {} B",
        pc.len(),
        js.len(),
        mp.len()
    );
    let mut g = c.benchmark_group("value_formats");
    g.bench_function("postcard/encode", |b| {
        b.iter(|| postcard::to_stdvec(black_box(&v)))
    });
    g.bench_function("json/encode", |b| {
        b.iter(|| serde_json::to_vec(black_box(&v)))
    });
    g.bench_function("msgpack/encode", |b| {
        b.iter(|| rmp_serde::to_vec(black_box(&v)))
    });
    g.bench_function("postcard/decode", |b| {
        b.iter(|| postcard::from_bytes::<Value>(black_box(&pc)))
    });
    g.bench_function("json/decode", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&js)))
    });
    g.bench_function("msgpack/decode", |b| {
        b.iter(|| rmp_serde::from_slice::<Value>(black_box(&mp)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
