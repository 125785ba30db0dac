//! Cost of one capability check on a typical set: a few file grants, a few host patterns and a
//! few topic patterns, for allowed and denied cases (criterion; no async runtime involved, the
//! checks are synchronous and run on the bench thread).

use std::hint::black_box;
use std::path::Path;

use airssys_wasm_security::{CapabilitySet, FileAccess};
use criterion::{Criterion, criterion_group, criterion_main};

fn typical_set() -> Result<CapabilitySet, airssys_wasm_security::CapabilityError> {
    CapabilitySet::builder()
        .read_dir("/srv/app/config")
        .read_dir("/data/in")
        .read_write_dir("/data/out")
        .read_write_dir("/var/tmp/app")
        .connect("api.example.com:443")
        .connect("*.cdn.example.net:443")
        .connect("*.example.com:8000-8080")
        .connect("10.0.0.0/8:5432")
        .send_to("logger")
        .send_to("stage-*")
        .request_from("db")
        .publish("metrics.app")
        .publish("events.*")
        .subscribe("commands.>")
        .build()
}

fn security_check(c: &mut Criterion) {
    let Ok(caps) = typical_set() else {
        return;
    };
    let mut group = c.benchmark_group("security_check");
    let allowed_path = Path::new("/data/out/2025/01/report.csv");
    let denied_path = Path::new("/data/output/2025/01/report.csv");
    group.bench_function("file_allowed", |b| {
        b.iter(|| caps.check_file(black_box(allowed_path), black_box(FileAccess::Write)))
    });
    group.bench_function("file_denied", |b| {
        b.iter(|| caps.check_file(black_box(denied_path), black_box(FileAccess::Write)))
    });
    group.bench_function("net_allowed", |b| {
        b.iter(|| caps.check_connect(black_box("eu.api.example.com"), black_box(8080)))
    });
    group.bench_function("net_denied", |b| {
        b.iter(|| caps.check_connect(black_box("eu.api.evilexample.com"), black_box(8080)))
    });
    group.bench_function("topic_allowed", |b| {
        b.iter(|| caps.check_publish(black_box("events.user_created")))
    });
    group.bench_function("topic_denied", |b| {
        b.iter(|| caps.check_publish(black_box("admin.shutdown.now")))
    });
    group.finish();
}

criterion_group!(benches, security_check);
criterion_main!(benches);
