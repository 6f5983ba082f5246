//! "Every sentence true": what `report.md`, `paired.csv` and the charts say about grids that
//! cannot answer the whole question (no hard targets, failed hard targets, only hard targets, one
//! seed, too few pairs), built from run rows and the public reporter functions.

use reporter::{
    Chart, CsvRow, EpochRow, GainHeatmap, ReliabilityBin, ReliabilityChart, ReliabilityPanel,
    ReportContext, ReportPage, RunRow, RunStatusLabel, accuracy_vs_noise_chart, areas_under_curves,
    best_epsilons, best_losses, check_epochs, check_runs, headline, paired_differences,
    read_csv_lines, report_markdown, summarise, write_csv,
};

/// A finished run with the given accuracy (the other accuracies follow it).
fn run(rate: f64, seed: u64, epsilon: f64, accuracy: f64) -> RunRow {
    RunRow {
        run_id: format!("{rate}-{seed}-{epsilon}"),
        noise_model: "symmetric".into(),
        noise_rate: rate,
        label_set: None,
        seed,
        loss: reporter::LossName::Ce,
        epsilon: Some(epsilon),
        alpha: None,
        beta: None,
        q: None,
        gamma: None,
        log_zero: None,
        status: RunStatusLabel::Finished,
        epochs_completed: 3,
        realised_noise_rate: rate,
        test_accuracy: Some(accuracy),
        best_test_accuracy: Some(accuracy),
        best_epoch: Some(3),
        val_selected_test_accuracy: Some(accuracy),
        val_selected_epoch: Some(3),
        test_nll: Some(0.5),
        test_ece: Some(0.05 + 0.01 * seed as f64),
        train_accuracy_noisy: Some(0.7),
        train_accuracy_clean: Some(0.8),
        memorised_share: (rate > 0.0).then_some(0.3),
        message: None,
    }
}

/// The same run, failed (no metrics).
fn failed(rate: f64, seed: u64, epsilon: f64) -> RunRow {
    RunRow {
        status: RunStatusLabel::Failed,
        epochs_completed: 0,
        test_accuracy: None,
        best_test_accuracy: None,
        best_epoch: None,
        val_selected_test_accuracy: None,
        val_selected_epoch: None,
        test_nll: None,
        test_ece: None,
        train_accuracy_noisy: None,
        train_accuracy_clean: None,
        memorised_share: None,
        message: Some("failure injected".into()),
        ..run(rate, seed, epsilon, 0.0)
    }
}

/// Rates 0 and 0.4, `seeds` seeds, the given ε values: accuracy 0.80 − 0.3·rate + ε/10 +
/// 0.01·seed, so every ε ≠ 0 beats hard targets by ε/10 in every seed.
fn grid(seeds: u64, epsilons: &[f64]) -> Vec<RunRow> {
    let mut runs = Vec::new();
    for rate in [0.0, 0.4] {
        for seed in 0..seeds {
            for &epsilon in epsilons {
                let accuracy = 0.80 - 0.3 * rate + epsilon / 10.0 + 0.01 * seed as f64;
                runs.push(run(rate, seed, epsilon, accuracy));
            }
        }
    }
    runs
}

/// `report.md` of `runs`, as `sweep` builds it (without charts).
fn page(runs: &[RunRow]) -> String {
    let context = ReportContext {
        name: "t".into(),
        title: "symmetric noise on blobs: MLP 8".into(),
        question: "Does ε help?".into(),
        settings: vec![(
            "resolved.optimizer".into(),
            "Sgd { learning_rate: 0.05, momentum: 0.9, nesterov: false, weight_decay: 0.0 }".into(),
        )],
        shard: None,
    };
    let summary = summarise(runs);
    let paired = paired_differences(runs);
    let best = best_epsilons(&summary, &paired);
    let losses = best_losses(&summary, &paired, &best);
    let areas = areas_under_curves(runs);
    report_markdown(&ReportPage {
        context: &context,
        runs,
        summary: &summary,
        paired: &paired,
        best: &best,
        losses: &losses,
        areas: &areas,
        charts: &[],
        missing_charts: &[],
    })
}

/// The paragraph after `**Answer.** `.
fn answer(page: &str) -> &str {
    let start = page.find("**Answer.** ").expect("an answer") + "**Answer.** ".len();
    let end = page[start..].find('\n').unwrap() + start;
    &page[start..end]
}

/// The text of section `heading` (up to the next heading).
fn section<'a>(page: &'a str, heading: &str) -> &'a str {
    let start = page
        .find(&format!("## {heading}\n"))
        .unwrap_or_else(|| panic!("no section {heading:?} in\n{page}"));
    let rest = &page[start + heading.len() + 4..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

// Case 1: grids without hard targets, with failed hard targets, with only hard targets.

#[test]
fn a_grid_without_hard_targets_says_there_is_nothing_to_compare() {
    let runs = grid(3, &[0.1, 0.3]);
    let page = page(&runs);
    assert_eq!(
        answer(&page),
        "This grid has no hard-target (ε = 0) runs, so there is nothing to compare label \
         smoothing against. At the highest noise rate run (0.4), the best ε is 0.3, with a \
         last-epoch clean test accuracy of 0.720. At rate 0, the best ε is 0.3 (0.840)."
    );
    assert!(!page.contains("beats hard targets"), "{page}");
    assert!(
        section(&page, "Paired gain over hard targets").contains(
            "No paired gains: this grid has no hard-target (ε = 0) runs to pair the ε ≠ 0 runs \
             with."
        ),
        "{page}"
    );
    assert!(
        section(&page, "Best ε per noise rate")
            .contains("– under hard targets: no finished ε = 0 run at that rate"),
        "{page}"
    );
    assert!(
        section(&page, "Area under the accuracy-versus-noise curve")
            .contains("– under area gain for ε ≠ 0: there is no hard-target (ε = 0) curve"),
        "{page}"
    );
}

#[test]
fn a_grid_whose_hard_target_runs_all_failed_says_so() {
    let runs: Vec<RunRow> = grid(3, &[0.0, 0.3])
        .into_iter()
        .map(|r| {
            if r.epsilon == Some(0.0) {
                failed(r.noise_rate, r.seed, 0.0)
            } else {
                r
            }
        })
        .collect();
    let page = page(&runs);
    assert_eq!(
        answer(&page),
        "No hard-target (ε = 0) run of this grid finished, so there is nothing to compare label \
         smoothing against. At the highest noise rate run (0.4), ε = 0.3 reaches a last-epoch \
         clean test accuracy of 0.720. At rate 0, ε = 0.3 reaches 0.840."
    );
    let paired = section(&page, "Paired gain over hard targets");
    assert!(
        paired.contains(
            "No paired gains: none of the grid's 6 hard-target (ε = 0) runs finished, so no seed \
             has finished runs at both an ε ≠ 0 and ε = 0."
        ),
        "{paired}"
    );
    assert!(
        section(&page, "Clean test accuracy").contains("– marks a cell without a finished run."),
        "{page}"
    );
    // Without a single pair, the page makes no claim about gains.
    assert!(!page.contains("Bold gains"), "{page}");

    // Hard targets failed at the highest rate only.
    let runs: Vec<RunRow> = grid(3, &[0.0, 0.3])
        .into_iter()
        .map(|r| {
            if r.epsilon == Some(0.0) && r.noise_rate == 0.4 {
                failed(r.noise_rate, r.seed, 0.0)
            } else {
                r
            }
        })
        .collect();
    let page = self::page(&runs);
    assert_eq!(
        answer(&page),
        "At the highest noise rate run (0.4), none of the 3 hard-target (ε = 0) runs finished, \
         so there is nothing to compare label smoothing against; ε = 0.3 reaches a last-epoch \
         clean test accuracy of 0.720. At rate 0, the best ε is 0.3 (0.840 against 0.810 with \
         hard targets)."
    );
    assert!(
        section(&page, "Paired gain over hard targets").contains(
            "A row with 0 pairs has no seed where both its run and the ε = 0 run finished."
        ),
        "{page}"
    );
}

#[test]
fn a_grid_of_hard_targets_only_says_there_is_no_epsilon_to_compare() {
    let runs = grid(3, &[0.0]);
    let page = page(&runs);
    assert_eq!(
        answer(&page),
        "This grid has only hard targets (ε = 0), so there is no ε ≠ 0 to compare them against. \
         At the highest noise rate run (0.4), hard targets reach a last-epoch clean test accuracy \
         of 0.690. At rate 0, hard targets reach 0.810."
    );
    assert!(
        section(&page, "Paired gain over hard targets").contains(
            "No paired gains: this grid has only hard targets (ε = 0), so there is no ε ≠ 0 to \
             compare with them."
        ),
        "{page}"
    );
    assert!(
        section(&page, "Best ε per noise rate").contains(
            "Only hard targets (ε = 0) were run, so they are best everywhere, with no gain (–)."
        ),
        "{page}"
    );
}

#[test]
fn a_grid_with_one_rate_says_why_it_has_no_areas() {
    let runs: Vec<RunRow> = grid(3, &[0.0, 0.3])
        .into_iter()
        .filter(|r| r.noise_rate == 0.4)
        .collect();
    let page = page(&runs);
    assert!(answer(&page).starts_with("At the only noise rate run (0.4), "));
    assert!(
        section(&page, "Area under the accuracy-versus-noise curve").contains(
            "No areas: this grid has a single noise rate (0.4), and a curve needs at least two."
        ),
        "{page}"
    );
    assert!(page.contains("The grid: 1 noise rate × 3 seeds × 2 ε values; 6 runs, 6 finished."));
}

#[test]
fn one_seed_is_counted_in_the_singular_and_claims_no_interval() {
    let runs = grid(1, &[0.0, 0.3]);
    let page = page(&runs);
    assert!(
        page.contains(
            "The grid: 2 noise rates × 1 seed × 2 ε values; 4 runs, 4 finished. With 1 seed \
             there are no intervals"
        ),
        "{page}"
    );
    assert!(!page.contains("Every interval is a 95%"), "{page}");
    assert!(!page.contains("1 seeds"), "{page}");
    assert_eq!(
        answer(&page),
        "At the highest noise rate run (0.4), label smoothing with ε = 0.3 reaches a last-epoch \
         clean test accuracy of 0.710 against 0.680 with hard targets: a paired gain of +0.030 \
         over 1 seed, too few seeds to tell whether it is more than chance (an interval needs \
         at least 3). At rate 0, the best ε is 0.3 (0.830 against 0.800 with hard targets)."
    );
    let paired = section(&page, "Paired gain over hard targets");
    assert!(
        paired.contains("ε ≠ 0 minus ε = 0 of the single seed; with 1 pair there is no interval"),
        "{paired}"
    );
    assert!(paired.contains("+0.030 (n/a: 1 pair)"), "{paired}");
    assert!(!paired.contains("**"), "{paired}");
    assert!(
        section(&page, "Clean test accuracy")
            .contains("Last epoch; with 1 seed, each cell is a single run."),
        "{page}"
    );
    let one_run = page_of_one_run();
    assert!(
        one_run.contains("The grid: 1 noise rate × 1 seed × 1 ε value; 1 run, 1 finished."),
        "{one_run}"
    );
}

fn page_of_one_run() -> String {
    page(&[run(0.2, 0, 0.0, 0.8)])
}

// Case 2: intervals from too few pairs, or from pairs without spread.

/// Two seeds whose gains are both exactly 0.005 after rounding: the case that used to print
/// `**+0.005 [0.005, 0.005]**` and `excludes_zero = 1`.
fn two_equal_pairs() -> Vec<RunRow> {
    vec![
        run(0.4, 0, 0.0, 0.795),
        run(0.4, 0, 0.3, 0.800),
        run(0.4, 1, 0.0, 0.895),
        run(0.4, 1, 0.3, 0.900),
    ]
}

#[test]
fn two_equal_pairs_are_too_few_to_call_significant() {
    let runs = two_equal_pairs();
    let paired = paired_differences(&runs);
    let header = reporter::PairedRow::header();
    let record = paired[0].record();
    let flag = header
        .iter()
        .position(|c| c == "test_accuracy_diff_excludes_zero")
        .unwrap();
    assert_eq!(record[flag], "", "no flag from 2 pairs");
    assert_eq!(record[flag - 3], "0.005000");
    let page = page(&runs);
    assert!(!page.contains("[0.005, 0.005]"), "{page}");
    assert!(
        section(&page, "Paired gain over hard targets").contains("| +0.005 (n/a: 2 pairs) |"),
        "{page}"
    );
    assert!(
        section(&page, "Best ε per noise rate").contains("| +0.005 (n/a: 2 pairs) |"),
        "{page}"
    );
    let text = answer(&page);
    assert!(
        text.contains(
            "a paired gain of +0.005 over 2 seeds, too few seeds to tell whether it is more than \
             chance"
        ),
        "{text}"
    );
    assert!(!text.contains("excludes 0"), "{text}");
}

#[test]
fn three_equal_pairs_have_no_spread_to_judge() {
    let mut runs = two_equal_pairs();
    runs.extend([run(0.4, 2, 0.0, 0.695), run(0.4, 2, 0.3, 0.700)]);
    let paired = paired_differences(&runs);
    let header = reporter::PairedRow::header();
    let flag = header
        .iter()
        .position(|c| c == "test_accuracy_diff_excludes_zero")
        .unwrap();
    assert_eq!(paired[0].record()[flag], "");
    let page = page(&runs);
    assert!(
        section(&page, "Paired gain over hard targets")
            .contains("| +0.005 (n/a: all 3 pairs equal) |"),
        "{page}"
    );
    assert!(
        answer(&page).contains("+0.005, the same in each of the 3 seeds, so there is no interval"),
        "{page}"
    );
}

#[test]
fn three_pairs_with_spread_are_judged() {
    let mut runs = two_equal_pairs();
    runs.extend([run(0.4, 2, 0.0, 0.695), run(0.4, 2, 0.3, 0.701)]);
    let paired = paired_differences(&runs);
    let header = reporter::PairedRow::header();
    let flag = header
        .iter()
        .position(|c| c == "test_accuracy_diff_excludes_zero")
        .unwrap();
    assert_eq!(paired[0].record()[flag], "1");
    let page = page(&runs);
    assert!(answer(&page).contains("(an interval that excludes 0) over 3 seeds"));
    assert!(
        section(&page, "Paired gain over hard targets").contains("| **+0.005 [0.004, 0.007]** |"),
        "{page}"
    );
}

#[test]
fn unjudged_gain_cells_are_muted_in_the_heatmap() {
    let paired = paired_differences(&two_equal_pairs());
    let heatmap: GainHeatmap =
        reporter::gain_heatmap(&paired, "test_accuracy", "t", "nominal noise rate");
    assert_eq!(heatmap.cells.len(), 1);
    assert!(!heatmap.cells[0].resolved());
    assert_eq!((heatmap.cells[0].low, heatmap.cells[0].high), (None, None));
}

// Case 3: the noise axis plots the nominal rate; the realised rate is in the accuracy table.

#[test]
fn the_noise_axis_is_the_nominal_rate_and_the_table_gives_the_realised_one() {
    let summary = summarise(&grid(2, &[0.0, 0.3]));
    let chart = accuracy_vs_noise_chart(&summary, "t", "nominal noise rate");
    for panel in &chart.panels {
        assert_eq!(panel.x_label, "nominal noise rate");
    }
    let heatmap = reporter::gain_heatmap(
        &paired_differences(&grid(3, &[0.0, 0.3])),
        "x",
        "t",
        "nominal noise rate",
    );
    let svg = Chart::Heatmap(GainHeatmap {
        cells: Vec::new(),
        ..heatmap
    })
    .render_svg()
    .unwrap();
    assert!(svg.contains("nominal noise rate"), "heatmap axis");
    assert!(!svg.contains("share of training labels flipped"));

    // Uniform noise at 0.5 over 10 classes flips 0.45; `none` flips nothing at any rate.
    let mut runs = Vec::new();
    for seed in 0..2 {
        for epsilon in [0.0, 0.3] {
            runs.push(RunRow {
                noise_model: "uniform".into(),
                realised_noise_rate: 0.450 + 0.002 * seed as f64,
                ..run(0.5, seed, epsilon, 0.7)
            });
        }
    }
    for seed in 0..2 {
        for epsilon in [0.0, 0.3] {
            runs.push(RunRow {
                noise_model: "none".into(),
                realised_noise_rate: 0.0,
                memorised_share: None,
                ..run(0.4, seed, epsilon, 0.9)
            });
        }
    }
    let page = page(&runs);
    let table = section(&page, "Clean test accuracy");
    assert!(
        table.contains(
            "| noise model | rate | flipped (realised) | ε = 0 (hard targets) | ε = 0.3 |"
        ),
        "{table}"
    );
    assert!(table.contains("| uniform | 0.5 | 0.451 |"), "{table}");
    assert!(table.contains("| none | 0.4 | 0.000 |"), "{table}");
    assert!(
        table.contains(
            "`rate` is the nominal noise rate of the configuration, which the charts plot"
        ),
        "{table}"
    );
}

// Case 4: the checks of the per-run tables as read back.

fn runs_csv(runs: &[RunRow]) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_csv(&mut bytes, runs).unwrap();
    bytes
}

#[test]
fn runs_a_sweep_could_not_have_written_are_refused_with_their_line() {
    let ok = |_: &RunRow| Ok(());
    let mut runs = grid(2, &[0.0, 0.3]);
    let lines = read_csv_lines::<RunRow>(runs_csv(&runs).as_slice(), "runs.csv").unwrap();
    assert_eq!(lines[0].0, 2, "the first row is on line 2");
    check_runs(&lines, "runs.csv", ok).unwrap();

    // A duplicate row.
    runs.push(runs[1].clone());
    let lines = read_csv_lines::<RunRow>(runs_csv(&runs).as_slice(), "runs.csv").unwrap();
    let error = check_runs(&lines, "runs.csv", ok).unwrap_err().to_string();
    assert!(
        error.starts_with(
            "runs.csv:10: the run with noise model symmetric, noise rate 0, seed 0 and ε = 0.3 is \
             listed again (first on line 3)"
        ),
        "{error}"
    );

    // An accuracy above 1, on a row whose message spans two lines.
    let mut runs = grid(2, &[0.0, 0.3]);
    runs[0].message = Some("two\nlines".into());
    runs[2].test_accuracy = Some(1.2);
    let lines = read_csv_lines::<RunRow>(runs_csv(&runs).as_slice(), "runs.csv").unwrap();
    let error = check_runs(&lines, "runs.csv", ok).unwrap_err().to_string();
    assert!(
        error.starts_with("runs.csv:5: column `test_accuracy`: 1.2 is outside [0, 1]"),
        "{error}"
    );

    // A row the caller's identity check rejects.
    let runs = grid(2, &[0.0, 0.3]);
    let lines = read_csv_lines::<RunRow>(runs_csv(&runs).as_slice(), "runs.csv").unwrap();
    let error = check_runs(&lines, "runs.csv", |run| {
        if run.seed == 1 {
            Err("wrong id".into())
        } else {
            Ok(())
        }
    })
    .unwrap_err()
    .to_string();
    assert_eq!(error, "runs.csv:4: wrong id");
}

#[test]
fn epochs_listed_twice_are_refused() {
    let epoch = EpochRow {
        run_id: "a".into(),
        noise_model: "symmetric".into(),
        noise_rate: 0.2,
        seed: 0,
        loss: reporter::LossName::Ce,
        epsilon: Some(0.0),
        alpha: None,
        beta: None,
        q: None,
        gamma: None,
        log_zero: None,
        epoch: 1,
        learning_rate: 0.1,
        train_loss: 1.0,
        train_accuracy_noisy: 0.5,
        train_accuracy_clean: 0.5,
        memorised_share: None,
        corrected_share: None,
        validation_accuracy: None,
        test_accuracy: 0.5,
        test_nll: 1.0,
        test_ece: 0.1,
    };
    let mut bytes = Vec::new();
    write_csv(&mut bytes, &[epoch.clone(), epoch]).unwrap();
    let lines = read_csv_lines::<EpochRow>(bytes.as_slice(), "epochs.csv").unwrap();
    let error = check_epochs(&lines, "epochs.csv").unwrap_err().to_string();
    assert!(
        error.starts_with("epochs.csv:3: epoch 1 of run `a` is listed again (first on line 2)"),
        "{error}"
    );
}

// Case 5: wording.

#[test]
fn when_hard_targets_are_best_the_same_number_is_not_quoted_twice() {
    // Hard targets best at both rates: ε = 0.3 is worse by 0.02 at rate 0.4 and ties at rate 0.
    let mut runs = Vec::new();
    for seed in 0..3 {
        let shift = 0.01 * seed as f64;
        runs.extend([
            run(0.0, seed, 0.0, 0.82 + shift),
            run(0.0, seed, 0.3, 0.82 + shift),
            run(0.4, seed, 0.0, 0.70 + shift),
            run(0.4, seed, 0.3, 0.68 + shift),
        ]);
    }
    let page = page(&runs);
    assert_eq!(
        answer(&page),
        "At the highest noise rate run (0.4), no ε ≠ 0 beats hard targets on average: they reach \
         a last-epoch clean test accuracy of 0.710, the best ε ≠ 0 (ε = 0.3) 0.690. At rate 0, \
         no ε ≠ 0 beats hard targets (ε = 0.3 ties with them at 0.830)."
    );
    assert!(!page.contains("against 0.830"), "{page}");
    let best = section(&page, "Best ε per noise rate");
    assert!(
        best.contains(
            "| symmetric | 0.4 | last epoch | 0 (hard targets) | 0.7100 | the same | – |"
        ),
        "{best}"
    );
    let summary = summarise(&runs);
    let text = headline(
        &best_epsilons(&summary, &paired_differences(&runs)),
        &reporter::NoiseLevels::default(),
    )
    .unwrap();
    assert_eq!(text, answer(&page));
}

#[test]
fn settings_show_plain_values_one_row_each() {
    let page = page(&grid(2, &[0.0, 0.3]));
    let settings = section(&page, "Settings");
    assert!(!settings.contains("Sgd {"), "{settings}");
    for row in [
        "| `resolved.optimizer` | sgd |",
        "| `resolved.optimizer.learning_rate` | 0.05 |",
        "| `resolved.optimizer.momentum` | 0.9 |",
        "| `resolved.optimizer.nesterov` | false |",
        "| `resolved.optimizer.weight_decay` | 0.0 |",
    ] {
        assert!(settings.contains(row), "{row} missing from\n{settings}");
    }
}

// Case 6: chart titles fit their chart.

/// Titles far longer than a chart: words, and a long path without spaces.
const LONG_TITLES: [&str; 2] = [
    "pair-flip noise on image-folder (data/flowers-photos-resized): CNN 16-32: reliability on \
     the clean test split, seeds pooled",
    "uniform noise on image-folder (data/flowers/photos/resized/to/thirty-two/pixels/on/each/side): \
     CNN 16-32: reliability on the clean test split, seeds pooled",
];

/// A reliability chart with `columns` panels per row and the title `title`.
fn long_titled_reliability(columns: usize, title: &str) -> Chart {
    let bins: Vec<ReliabilityBin> = (0..15)
        .map(|i| {
            let (low, high) = (i as f64 / 15.0, (i + 1) as f64 / 15.0);
            ReliabilityBin {
                low,
                high,
                count: 10,
                mean_confidence: Some((low + high) / 2.0),
                accuracy: Some(low),
            }
        })
        .collect();
    let panel = |title: &str, hard: bool| ReliabilityPanel {
        title: title.into(),
        style: if hard {
            reporter::SettingStyle::Hard
        } else {
            reporter::SettingStyle::Smoothing(0)
        },
        bins: bins.clone(),
    };
    Chart::Reliability(ReliabilityChart {
        title: title.into(),
        panels: vec![
            panel("rate 0.45, ε = 0 (hard targets), ECE 0.123", true),
            panel(
                "rate 0.45, ε = 0.35, ECE 0.045, a panel caption long enough to overflow",
                false,
            ),
        ],
        columns,
    })
}

#[test]
fn long_reliability_titles_stay_inside_the_chart() {
    for (columns, title) in [1, 2].into_iter().flat_map(|c| LONG_TITLES.map(|t| (c, t))) {
        let chart = long_titled_reliability(columns, title);
        let (width, height) = chart.size();
        let (width, height) = (width as usize, height as usize);
        let buffer = chart.render_rgb().unwrap();
        let pixel = |x: usize, y: usize| &buffer[(y * width + x) * 3..(y * width + x) * 3 + 3];
        // The title strip (the top 50 pixels) has ink, and none of it in the outer 3 pixels on
        // either side.
        let strip = 50;
        let inked = (0..strip)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .filter(|&(x, y)| pixel(x, y) != [255, 255, 255])
            .count();
        assert!(inked > 200, "{columns} columns: the title is not drawn");
        for y in 0..strip {
            for x in (0..3).chain(width - 3..width) {
                assert_eq!(
                    pixel(x, y),
                    [255, 255, 255],
                    "{columns} columns: title ink at ({x}, {y}) touches the border"
                );
            }
        }
        // The panel captions, just under the legend strip, stay inside their panels too.
        let panel_width = if columns == 1 { width } else { width / 2 };
        for y in 90..(90 + 30).min(height) {
            for x in [0, 1, panel_width - 2, panel_width - 1] {
                assert_eq!(
                    pixel(x, y),
                    [255, 255, 255],
                    "{columns} columns: caption ink at ({x}, {y}) touches the panel's border"
                );
            }
        }
        // The SVG keeps the words (shrunk or wrapped), not a clipped fragment.
        let svg = chart.render_svg().unwrap();
        assert!(svg.contains(&title[..24]), "{columns} columns: {title}");
    }
}

// Robust losses: the second question's answer is true for the grid, with one seed too.

/// A run of the robust loss `gce` (q = 0.7) with the given accuracy.
fn gce(rate: f64, seed: u64, accuracy: f64) -> RunRow {
    RunRow {
        run_id: format!("{rate}-{seed}-gce"),
        loss: reporter::LossName::Gce,
        epsilon: None,
        q: Some(0.7),
        ..run(rate, seed, 0.0, accuracy)
    }
}

/// The paragraph after `**Against the losses built for label noise** (last epoch). `.
fn robust_paragraph(page: &str) -> &str {
    let opening = "**Against the losses built for label noise** (last epoch). ";
    let start = page.find(opening).expect("a robust-loss answer") + opening.len();
    let end = page[start..].find('\n').unwrap() + start;
    &page[start..end]
}

#[test]
fn the_best_epsilon_is_judged_by_the_interval_of_the_best_robust_loss() {
    // ε = 0.3 reaches 0.83 + 0.01·seed at rate 0 and 0.71 + 0.01·seed at 0.4; GCE 0.835 + 0.01·seed
    // at rate 0 (its interval 0.845 ± 0.025 holds 0.84) and 0.60 + 0.002·seed at 0.4 (0.602 ±
    // 0.005, below 0.72).
    let mut runs = grid(3, &[0.0, 0.3]);
    for seed in 0..3 {
        runs.push(gce(0.0, seed, 0.835 + 0.01 * seed as f64));
        runs.push(gce(0.4, seed, 0.60 + 0.002 * seed as f64));
    }
    let page = page(&runs);
    assert_eq!(
        robust_paragraph(&page),
        "At rate 0, the best setting is gce q = 0.7 (0.845); the best ε (0.3, at 0.840) is \
         within the 95% interval of the best robust loss, gce q = 0.7 [0.820, 0.870]. At rate \
         0.4, the best setting is ε = 0.3 (0.720); the best ε (0.3, at 0.720) is above the 95% \
         interval of the best robust loss, gce q = 0.7 [0.597, 0.607]."
    );
    let table = section(&page, "Best loss built for label noise per noise rate");
    assert!(
        table.contains("| symmetric | 0.4 | last epoch | gce q = 0.7 | 0.6020 [0.5970, 0.6070] |"),
        "{table}"
    );
    assert!(page.contains("3 target settings (2 ε values and 1 loss built for label noise)"));
    assert!(page.contains("each seed's run of another setting minus its run with ε = 0"));

    // One seed: no interval, and the page says so instead of judging.
    let one: Vec<RunRow> = runs.into_iter().filter(|r| r.seed == 0).collect();
    let page = self::page(&one);
    assert!(
        robust_paragraph(&page).ends_with(
            "the best ε (0.3, at 0.710) cannot be judged against the best robust loss, gce q = \
             0.7 (0.600): with 1 seed it has no interval."
        ),
        "{}",
        robust_paragraph(&page)
    );
    // Without robust losses there is no such paragraph or section.
    let plain = self::page(&grid(3, &[0.0, 0.3]));
    assert!(!plain.contains("Against the losses built for label noise"));
    assert!(!plain.contains("## Best loss built for label noise"));
}

#[test]
fn a_grid_of_hard_targets_and_robust_losses_does_not_call_itself_hard_targets_only() {
    let mut runs = grid(3, &[0.0]);
    for seed in 0..3 {
        runs.push(gce(0.0, seed, 0.85 + 0.01 * seed as f64));
        runs.push(gce(0.4, seed, 0.75 + 0.01 * seed as f64));
    }
    let page = page(&runs);
    assert!(
        answer(&page).starts_with(
            "This grid has no label smoothing (ε ≠ 0) beside hard targets (ε = 0), so there is no \
             ε to compare them against; its losses built for label noise are compared with hard \
             targets in the paired-gain table."
        ),
        "{}",
        answer(&page)
    );
    assert!(!page.contains("only hard targets"), "{page}");
    assert!(robust_paragraph(&page).contains("the best ε (0, hard targets, at "));
}
