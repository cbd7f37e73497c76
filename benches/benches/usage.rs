//! `trackgate usage` throughput: statements analysed per second on one core, for 100,000 query
//! lines over a 50,000-event plan and 150 jobs (dwd → dws → ads views, 50 domains).
//!
//! Two logs: every line a different text (the cache never hits: the parser and resolver on every
//! line), and a realistic one where 10,000 distinct texts repeat (dashboards refreshing). Only
//! `Analysis::add_queries` is timed; the lineage is built in the setup.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use trackgate_usage::analysis::{Analysis, Window};
use trackgate_usage::events::Universe;
use trackgate_usage::lineage::{Catalog, Lineage};
use trackgate_usage::time::parse_timestamp;

const DOMAINS: usize = 50;
const PER_DOMAIN: usize = 1_000;
const QUERIES: usize = 100_000;

struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound as u64) as usize
    }
}

fn names() -> Vec<String> {
    (0..DOMAINS).flat_map(|d| (0..PER_DOMAIN).map(move |e| format!("d{d}.e{e}"))).collect()
}

fn jobs() -> Vec<(String, String)> {
    (0..DOMAINS)
        .map(|d| {
            let view: Vec<String> = (0..10).map(|e| format!("'d{d}.e{}'", e * 7)).collect();
            let text = format!(
                "INSERT OVERWRITE TABLE dwd.d{d} SELECT app, event AS ev, user_id FROM ods.app_log WHERE event LIKE 'd{d}.%';\n\
                 INSERT OVERWRITE TABLE dws.d{d} SELECT ev AS event_name, count(*) AS n FROM dwd.d{d} WHERE ev NOT IN ('d{d}.e0') GROUP BY ev;\n\
                 CREATE VIEW ads.d{d} AS SELECT * FROM dws.d{d} WHERE event_name IN ({});\n",
                view.join(", ")
            );
            (format!("d{d}.sql"), text)
        })
        .collect()
}

fn query(rng: &mut Rng) -> String {
    let d = rng.below(DOMAINS);
    let (a, b, day) = (rng.below(PER_DOMAIN), rng.below(PER_DOMAIN), 1 + rng.below(28));
    match rng.below(3) {
        0 => format!(
            "SELECT event_name, sum(n) FROM dws.d{d} WHERE event_name IN ('d{d}.e{a}', 'd{d}.e{b}') AND dt = '2026-08-{day:02}' GROUP BY event_name"
        ),
        1 => format!(
            "SELECT count(*) FROM dwd.d{d} d JOIN dim.user u ON d.user_id = u.id WHERE d.ev = 'd{d}.e{a}' AND u.country = 'c{b}'"
        ),
        _ => format!("WITH x AS (SELECT * FROM ads.d{d}) SELECT * FROM x WHERE event_name LIKE 'd{d}.e{a}%' LIMIT {b}"),
    }
}

fn log(distinct: usize) -> String {
    let mut rng = Rng(0x5eed);
    let texts: Vec<String> = (0..distinct).map(|_| query(&mut rng)).collect();
    let mut lines = String::new();
    for index in 0..QUERIES {
        let sql = &texts[if distinct == QUERIES { index } else { rng.below(distinct) }];
        let line = serde_json::json!({"ts": 1_788_000_000_000_i64 + index as i64, "user": format!("u{}", index % 500), "sql": sql});
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    lines
}

fn bench(criterion: &mut Criterion) {
    let names = names();
    let universe = Universe::new([("shop", names.iter().map(String::as_str).collect())]);
    let catalog: Catalog = serde_json::from_str(
        r#"{"tables": [{"name": "ods.app_log", "event_column": "event", "app_column": "app"}], "dimensions": ["dim.user"]}"#,
    )
    .expect("catalog");
    let jobs = jobs();
    let end_ms = parse_timestamp("2026-09-01").expect("date");
    let mut group = criterion.benchmark_group("usage");
    group.sample_size(10);
    group.throughput(Throughput::Elements(QUERIES as u64));
    for (label, distinct) in [("queries_all_distinct", QUERIES), ("queries_10k_distinct", 10_000)] {
        let text = log(distinct);
        group.bench_function(label, |bencher| {
            bencher.iter_batched(
                || {
                    let mut lineage = Lineage::new(&universe, &catalog);
                    lineage.add_jobs(&jobs);
                    Analysis::new(lineage, Window { days: 90, end_ms })
                },
                |mut analysis| {
                    analysis.add_queries("q.ndjson", &text);
                    black_box(analysis.coverage().distinct_queries)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
