//! The robustness goals of issue 12 on a small generated set (12 originals, every
//! transform, 60 unrelated photos), expansion on, default threshold. A
//! regression in the kit's matching or expansion fails here.
//!
//! The originals are listed as the phone lists them (PDQ and the two edge cuts,
//! ADR 0410), so every goal is held on the default path, the caption bar at its
//! 90 % too (with `bar-cut-20` on the listed cuts; 75 % here before the cuts).
//! The 4 %-per-side crop meets its goal (50 %) with the query-side `uncrop-*`
//! variants, and is also held at its goal with the enrolment-side central crop.

use takedown_robustness::measure::{Config, run};
use takedown_robustness::photos::SizeRange;
use takedown_robustness::transforms::Transform;

#[test]
fn re_uploads_match_and_unrelated_photos_do_not() {
    let report = run(&Config {
        originals: 12,
        unrelated: 60,
        seed: 12,
        sizes: SizeRange::SMALL,
        enrol_crops: vec![0.9],
        edge_cuts: true,
        transforms: Transform::ALL.to_vec(),
    });
    eprintln!("{}", report.table());
    assert_eq!(report.unrelated.n, 60);
    assert_eq!(
        report.unrelated.wrong,
        [0, 0, 0],
        "false matches among unrelated photos"
    );
    for (t, c) in &report.per_transform {
        assert_eq!(c.n, 12, "{}", t.name());
        assert_eq!(
            c.wrong,
            [0, 0, 0],
            "{}: copies matched another item",
            t.name()
        );
        let on = c.on as f64 / c.n as f64;
        match t {
            Transform::Crop => {
                assert!(on >= t.goal(), "{}: {on} < {}", t.name(), t.goal());
                let with_crops = c.on_crops as f64 / c.n as f64;
                assert!(
                    with_crops >= t.goal(),
                    "{} with enrolled crop: {with_crops}",
                    t.name()
                );
            }
            _ => assert!(on >= t.goal(), "{}: {on} < {}", t.name(), t.goal()),
        }
    }
    let all = report.overall();
    // Measured 152 of 156 (97.4 %) with the edge cuts, 149 before; hold the 95 %
    // goal itself.
    assert!(
        all.on * 100 >= all.n * 95,
        "overall {} of {}",
        all.on,
        all.n
    );
}
