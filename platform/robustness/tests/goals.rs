//! The robustness goals of issue 12 on a small generated set (12 originals, every
//! transform, 60 unrelated photos), expansion on, default threshold. A
//! regression in the kit's matching or expansion fails here.
//!
//! One goal is NOT met (see `docs/adr/0407-robustness-results.md`): the caption
//! bar (75 % here with the `bar-filled` variant, 58 % without; goal 90 %). The
//! test holds its measured level less one copy, so it cannot silently drop. The
//! 4 %-per-side crop meets its goal (50 %) with the query-side `uncrop-*`
//! variants (67 % here), and is also held at its goal with the enrolment-side
//! central crop. The enrolment-side edge cuts (20 % off the top, off the
//! bottom, with the `bar-cut` query) take the caption bar to its goal (12 of 12
//! here) and are held at it.

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
        edge_cuts: vec![20],
        transforms: Transform::ALL.to_vec(),
    });
    eprintln!("{}", report.table());
    assert_eq!(report.unrelated.n, 60);
    assert_eq!(
        report.unrelated.wrong,
        [0, 0, 0, 0],
        "false matches among unrelated photos"
    );
    for (t, c) in &report.per_transform {
        assert_eq!(c.n, 12, "{}", t.name());
        assert_eq!(
            c.wrong,
            [0, 0, 0, 0],
            "{}: copies matched another item",
            t.name()
        );
        let on = c.on as f64 / c.n as f64;
        match t {
            // Known miss (ADR 0407): hold the measured level (9 of 12) less one copy.
            Transform::CaptionBar => {
                assert!(on >= 8.0 / 12.0 - 1e-9, "{}: {on}", t.name());
                // Enrolment-side 20 % edge cuts with the `bar-cut` query (ADR 0407,
                // measured 12 of 12): hold its goal.
                let with_cuts = c.on_cuts as f64 / c.n as f64;
                assert!(
                    with_cuts >= t.goal(),
                    "{} with edge cuts: {with_cuts}",
                    t.name()
                );
            }
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
    // Measured 149 of 156 (95.5 %, the goal is 95 %); hold 94 %, one copy of slack.
    assert!(
        all.on * 100 >= all.n * 94,
        "overall {} of {}",
        all.on,
        all.n
    );
}
