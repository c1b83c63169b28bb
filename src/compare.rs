//! `faultline compare`: two or more architectures on common random numbers, with the paired
//! difference of every metric.

use crate::execute::load_spec;
use crate::failure::Failure;
use crate::replicate::{progress_bar, replicate, thread_pool};
use reports::compare_html::{ArmLink, VariantSection, render_compare_html};
use reports::paired::{PairedDifference, paired_differences, render_comparison};
use reports::report::{FORMAT_VERSION, Tool};
use reports::sweep_plots::write_comparison_plot;
use reports::verdict::verdicts;
use reports::write_atomic;
use scenarios::sweep::split_list;
use serde::Serialize;
use sim_core::summary::MetricSummary;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub struct CompareArgs {
    pub scenarios: Vec<String>,
    pub variants: Vec<String>,
    pub sets: Vec<String>,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    pub independent: bool,
    /// `--fail-on`: verdicts that make the comparison exit 3 when they fail in any arm.
    pub fail_on: Vec<String>,
    pub out: Option<PathBuf>,
    pub threads: Option<usize>,
}

/// One side of the comparison: a scenario and the settings that make it this variant.
struct Arm {
    label: String,
    scenario: String,
    settings: Vec<String>,
}

/// The seed of arm `k` when seeds are deliberately independent: far apart in seed space (the
/// golden-ratio increment), so no two arms share a stream, and below 2^63 so the seed can be
/// written in a TOML scenario file.
fn independent_seed(seed: u64, k: usize) -> u64 {
    seed.wrapping_add((k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) & (i64::MAX as u64)
}

fn arms(args: &CompareArgs) -> Result<Vec<Arm>, Failure> {
    match (args.scenarios.len(), args.variants.is_empty()) {
        (0, _) => Err(Failure::Input(
            "compare needs at least one scenario".to_string(),
        )),
        (1, true) => Err(Failure::Input(
            "compare needs two scenarios, or one scenario and --variant settings, e.g. \
             faultline compare a.toml --variant gateway.retry.max_attempts=3"
                .to_string(),
        )),
        (1, false) => {
            let mut arms = vec![Arm {
                label: "base".to_string(),
                scenario: args.scenarios[0].clone(),
                settings: Vec::new(),
            }];
            for v in &args.variants {
                let settings =
                    split_list(v).map_err(|e| Failure::Input(format!("--variant `{v}`: {e}")))?;
                arms.push(Arm {
                    label: v.clone(),
                    scenario: args.scenarios[0].clone(),
                    settings,
                });
            }
            Ok(arms)
        }
        (_, true) => Ok(args
            .scenarios
            .iter()
            .map(|s| Arm {
                label: s.clone(),
                scenario: s.clone(),
                settings: Vec::new(),
            })
            .collect()),
        (_, false) => Err(Failure::Input(
            "give either several scenarios or one scenario with --variant settings, not both"
                .to_string(),
        )),
    }
}

#[derive(Serialize)]
struct SloJson {
    arm: String,
    slo: String,
    verdict: &'static str,
    met: usize,
    replications: usize,
    sli: f64,
}

#[derive(Serialize)]
struct CompareJson<'a> {
    format_version: u32,
    tool: Tool,
    /// `common` (the same seed for every arm) or `independent`.
    random_numbers: &'a str,
    replications: u32,
    baseline: ArmJson,
    variants: Vec<VariantJson>,
    /// Each arm's verdict on each SLO.
    slos: Vec<SloJson>,
}

#[derive(Serialize)]
struct ArmJson {
    label: String,
    seed: u64,
    report: String,
}

#[derive(Serialize)]
struct VariantJson {
    #[serde(flatten)]
    arm: ArmJson,
    differences: Vec<DifferenceJson>,
    only_in_baseline: Vec<String>,
    only_in_variant: Vec<String>,
}

#[derive(Serialize)]
struct DifferenceJson {
    metric: String,
    baseline_mean: f64,
    variant_mean: f64,
    difference: f64,
    /// The difference in percent of the baseline mean's magnitude.
    change_percent: Option<f64>,
    ci95_low: Option<f64>,
    ci95_high: Option<f64>,
    variance_reduction: Option<f64>,
    /// `better`, `worse`, `n.s.`, `same`, or empty (no direction), by the metric's direction.
    verdict: &'static str,
}

impl From<&PairedDifference> for DifferenceJson {
    fn from(d: &PairedDifference) -> Self {
        DifferenceJson {
            metric: d.name.clone(),
            baseline_mean: d.baseline_mean,
            variant_mean: d.variant_mean,
            difference: d.difference,
            change_percent: d.change_percent,
            ci95_low: d.ci95.map(|c| c.low),
            ci95_high: d.ci95.map(|c| c.high),
            variance_reduction: d.variance_reduction,
            verdict: d.judgement.word(),
        }
    }
}

fn names_missing(from: &[MetricSummary], other: &[MetricSummary]) -> Vec<String> {
    from.iter()
        .filter(|m| !other.iter().any(|o| o.name == m.name))
        .map(|m| m.name.clone())
        .collect()
}

pub fn compare(args: CompareArgs) -> Result<ExitCode, Failure> {
    if let Some(dir) = &args.out {
        crate::execute::check_out_dir(dir)?;
    }
    let arms = arms(&args)?;
    let fail_on = reports::gate::FailOn::parse_all(&args.fail_on).map_err(Failure::Input)?;
    let mut failed: Vec<String> = Vec::new();
    // Every arm runs with the first arm's seed and replication count unless told otherwise:
    // common random numbers need the same seed, and pairing needs the same count.
    let (first_source, first) = load_spec(&arms[0].scenario, &args.sets)?;
    let seed = args.seed.unwrap_or(first.scenario.seed);
    let replications = args.replications.unwrap_or(first.scenario.replications);
    let pool = thread_pool(args.threads)?;
    let dir = args.out.clone().unwrap_or_else(|| {
        Path::new("faultline-out").join(format!("{}-compare", first_source.name))
    });

    let mut results = Vec::with_capacity(arms.len());
    let bar = progress_bar(replications as u64 * arms.len() as u64, "replications");
    for (k, arm) in arms.iter().enumerate() {
        let arm_seed = if args.independent && k > 0 {
            independent_seed(seed, k)
        } else {
            seed
        };
        let mut settings = args.sets.clone();
        settings.extend(arm.settings.iter().cloned());
        settings.push(format!("seed={arm_seed}"));
        settings.push(format!("replications={replications}"));
        let (source, loaded) = load_spec(&arm.scenario, &settings).map_err(|f| match f {
            Failure::Input(m) => Failure::Input(format!("variant `{}`: {m}", arm.label)),
            other => other,
        })?;
        let simulated =
            pool.install(|| replicate(&loaded, || bar.inc(1)))
                .map_err(|f| match f {
                    Failure::Runtime(m) => {
                        Failure::Runtime(format!("variant `{}`: {m}", arm.label))
                    }
                    other => other,
                })?;
        let metrics = simulated.metrics.clone();
        let report = simulated.report(&source.name, &loaded.scenario);
        failed.extend(
            fail_on
                .failures(&report)
                .into_iter()
                .map(|f| format!("{}: {f}", arm.label)),
        );
        let rel = Path::new("variants")
            .join(k.to_string())
            .join("report.json");
        let path = dir.join(&rel);
        write_atomic(&path, report.to_json().as_bytes())
            .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", path.display())))?;
        results.push((
            ArmJson {
                label: arm.label.clone(),
                seed: arm_seed,
                report: rel.to_string_lossy().replace('\\', "/"),
            },
            metrics,
        ));
    }
    bar.finish_and_clear();

    // Verdicts first: did each arm meet its SLOs?
    let mut slos: Vec<SloJson> = Vec::new();
    for (arm, metrics) in &results {
        for v in verdicts(metrics) {
            slos.push(SloJson {
                arm: arm.label.clone(),
                slo: v.name.clone(),
                verdict: v.word(),
                met: v.met,
                replications: v.replications,
                sli: v.sli,
            });
        }
    }
    let mut results = results.into_iter();
    let (baseline, base_metrics) = results.next().expect("at least two arms");
    let mut variants = Vec::new();
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "variant",
        "metric",
        "baseline_mean",
        "variant_mean",
        "difference",
        "change_percent",
        "ci95_low",
        "ci95_high",
        "variance_reduction",
        "verdict",
    ])
    .expect("writing to memory");
    let cell = |v: Option<f64>| {
        v.filter(|x| x.is_finite())
            .map(|x| x.to_string())
            .unwrap_or_default()
    };

    let summary = format!(
        "{} arms, {replications} replications each, {} random numbers (seed {seed})",
        arms.len(),
        if args.independent {
            "independent"
        } else {
            "common"
        }
    );
    println!("{summary}");
    if slos.is_empty() {
        println!("SLOs: none defined in these scenarios");
    } else {
        println!("SLOs:");
        for s in &slos {
            println!(
                "  {:<7} {} in {} (SLI {}, met {}/{})",
                s.verdict,
                s.slo,
                s.arm,
                reports::number::format_number(s.sli),
                s.met,
                s.replications
            );
        }
    }
    let mut sections: Vec<(ArmLink, Vec<PairedDifference>, Option<String>)> = Vec::new();
    for (k, (arm, metrics)) in results.enumerate() {
        let diffs = paired_differences(&base_metrics, &metrics);
        let drawn = write_comparison_plot(&dir, k + 1, &arm.label, &diffs)
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        let chart_svg = drawn
            .then(|| std::fs::read_to_string(dir.join(format!("plots/variant-{}.svg", k + 1))).ok())
            .flatten();
        sections.push((
            ArmLink {
                label: arm.label.clone(),
                report: arm.report.clone(),
            },
            diffs.clone(),
            chart_svg,
        ));
        println!();
        println!("{}  vs  baseline {}", arm.label, baseline.label);
        print!("{}", render_comparison(&diffs));
        for d in &diffs {
            csv.write_record([
                arm.label.clone(),
                d.name.clone(),
                cell(Some(d.baseline_mean)),
                cell(Some(d.variant_mean)),
                cell(Some(d.difference)),
                cell(d.change_percent),
                cell(d.ci95.map(|c| c.low)),
                cell(d.ci95.map(|c| c.high)),
                cell(d.variance_reduction),
                d.judgement.word().to_string(),
            ])
            .expect("writing to memory");
        }
        variants.push(VariantJson {
            differences: diffs.iter().map(DifferenceJson::from).collect(),
            only_in_baseline: names_missing(&base_metrics, &metrics),
            only_in_variant: names_missing(&metrics, &base_metrics),
            arm,
        });
    }
    let slo_lines: Vec<(String, String, String)> = json_slos_lines(&slos);
    let page = render_compare_html(
        &summary,
        &ArmLink {
            label: baseline.label.clone(),
            report: baseline.report.clone(),
        },
        &slo_lines,
        &sections
            .iter()
            .map(|(arm, diffs, svg)| VariantSection {
                arm: ArmLink {
                    label: arm.label.clone(),
                    report: arm.report.clone(),
                },
                diffs,
                chart_svg: svg.clone(),
            })
            .collect::<Vec<_>>(),
    );
    let json = CompareJson {
        format_version: FORMAT_VERSION,
        tool: Tool::current(),
        random_numbers: if args.independent {
            "independent"
        } else {
            "common"
        },
        replications,
        baseline,
        variants,
        slos,
    };
    let mut text = serde_json::to_string_pretty(&json).expect("comparisons serialize");
    text.push('\n');
    for (file, bytes) in [
        ("compare.json", text.into_bytes()),
        ("compare.csv", csv.into_inner().expect("writing to memory")),
        ("compare.html", page.into_bytes()),
    ] {
        let path = dir.join(file);
        write_atomic(&path, &bytes)
            .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", path.display())))?;
    }
    println!();
    println!("VR: variance reduction from common random numbers, (Var A + Var B) / Var(B − A).");
    println!(
        "verdict: better or worse by the metric's direction, where the 95% CI excludes 0 \
         (n.s.: it does not)."
    );
    println!("comparison: {}", dir.join("compare.json").display());
    println!("html:       {}", dir.join("compare.html").display());
    println!("plots:      {}", dir.join("plots").display());
    println!(
        "rerun an arm: faultline rerun {}",
        dir.join("variants/0/report.json").display()
    );
    Ok(crate::execute::verdict_exit(&failed))
}

/// Each arm's SLO verdicts as the page lists them: `(arm, verdict, rest)`.
fn json_slos_lines(slos: &[SloJson]) -> Vec<(String, String, String)> {
    slos.iter()
        .map(|s| {
            (
                s.arm.clone(),
                s.verdict.to_string(),
                format!(
                    "{} (SLI {}, met {}/{})",
                    s.slo,
                    reports::number::format_number(s.sli),
                    s.met,
                    s.replications
                ),
            )
        })
        .collect()
}
