//! Calibration presets: the roofline's efficiencies fitted to one's own server by `faultline
//! calibrate`, written as a TOML file a GPU pool names (`calibration = "preset.toml"`).
//!
//! The file says what the efficiencies are and where they come from — the GPU family and the
//! runs (model, GPU, tensor-parallel degree) they were fitted on, each input's sha256, the fit's
//! loss and its per-metric errors — so a scenario that uses them can be traced to the
//! measurements behind its step times. Efficiencies are per GPU family (kernels and memory
//! systems are shared within one), so a pool may use a preset fitted on another GPU of its
//! family, another model or another TP degree, but not on another family.

use std::collections::BTreeMap;
use std::path::Path;

use models::gpu::hardware::{Efficiency, Family};
use serde::{Deserialize, Serialize};

use crate::error::line_column;

/// What the `format` key of a preset holds; another value is refused.
pub const FORMAT: &str = "faultline-calibration/1";

/// A calibration preset file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationPreset {
    pub format: String,
    pub efficiency: PresetEfficiency,
    pub fitted_on: FittedOn,
    pub inputs: Vec<InputFile>,
    pub fit: FitSummary,
}

/// The six fitted efficiencies ([`Efficiency`]'s fields, with its units).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetEfficiency {
    pub compute: f64,
    pub bandwidth: f64,
    pub kv_bandwidth: f64,
    pub step_floor_ms: f64,
    pub allreduce_us: f64,
    pub request_overhead_ms: f64,
}

/// The GPU family the efficiencies hold for, and the runs they were fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FittedOn {
    /// `ampere`, `hopper`, `ada` or `cdna3`.
    pub gpu_family: String,
    pub experiments: Vec<FittedExperiment>,
}

/// One run the fit replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FittedExperiment {
    pub id: String,
    /// The input file it came from.
    pub input: String,
    pub model: String,
    pub gpu: String,
    pub tensor_parallel: u32,
    pub max_num_seqs: u32,
    pub max_num_batched_tokens: u32,
}

/// An input file and its sha256 (hex), as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    pub path: String,
    pub sha256: String,
}

/// How the fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitSummary {
    /// Sum over runs and fitted metrics of the squared log ratio, simulated to measured.
    pub loss: f64,
    /// Nelder–Mead's budget of replays of every run.
    pub max_evaluations: u64,
    pub seed: u64,
    /// `implied` or `spec` (see `faultline fidelity --output-lengths`).
    pub output_lengths: String,
    pub prefix_caching: bool,
    /// Per metric, the mean absolute percentage error over the runs that measured it.
    pub mape: BTreeMap<String, f64>,
    /// Per run and measured metric, simulated with the fitted efficiencies against measured.
    pub errors: Vec<MetricError>,
}

/// One metric of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricError {
    pub experiment: String,
    pub metric: String,
    pub simulated_ms: f64,
    pub measured_ms: f64,
    pub error_pct: f64,
}

/// The name a preset gives a family.
pub fn family_name(f: Family) -> &'static str {
    match f {
        Family::Ampere => "ampere",
        Family::Hopper => "hopper",
        Family::Ada => "ada",
        Family::Cdna3 => "cdna3",
    }
}

impl PresetEfficiency {
    pub fn from_efficiency(e: &Efficiency) -> PresetEfficiency {
        PresetEfficiency {
            compute: e.compute,
            bandwidth: e.bandwidth,
            kv_bandwidth: e.kv_bandwidth,
            step_floor_ms: e.step_floor_ms,
            allreduce_us: e.allreduce_us,
            request_overhead_ms: e.request_overhead_ms,
        }
    }

    /// The efficiencies, if each is in range: shares in (0, 1], costs finite and 0 or more.
    /// Errors name the key (`efficiency.compute`) and what was expected.
    pub fn efficiency(&self) -> Result<Efficiency, String> {
        let share = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 && v <= 1.0 {
                Ok(v)
            } else {
                Err(format!(
                    "at `efficiency.{name}`: expected a share in (0, 1], found {v}"
                ))
            }
        };
        let cost = |name: &str, v: f64| {
            if v.is_finite() && (0.0..=3.6e6).contains(&v) {
                Ok(v)
            } else {
                Err(format!(
                    "at `efficiency.{name}`: expected a cost of 0 or more, found {v}"
                ))
            }
        };
        Ok(Efficiency {
            compute: share("compute", self.compute)?,
            bandwidth: share("bandwidth", self.bandwidth)?,
            kv_bandwidth: share("kv_bandwidth", self.kv_bandwidth)?,
            step_floor_ms: cost("step_floor_ms", self.step_floor_ms)?,
            allreduce_us: cost("allreduce_us", self.allreduce_us)?,
            request_overhead_ms: cost("request_overhead_ms", self.request_overhead_ms)?,
        })
    }
}

impl CalibrationPreset {
    /// The preset as TOML, after a comment that says what the file is and how to use it.
    pub fn to_toml(&self) -> Result<String, String> {
        let body = toml::to_string(self).map_err(|e| format!("cannot write the preset: {e}"))?;
        Ok(format!(
            "# GPU efficiencies fitted by `faultline calibrate` to measured runs (below: the runs,\n\
             # the inputs' sha256, the fit's loss and per-metric errors). A GPU pool of the same\n\
             # family uses them with `calibration = \"<this file>\"` beside `model` and `gpu`.\n\n{body}"
        ))
    }

    /// Parses a preset; errors give `LINE:COL` (TOML) or the key, and what was expected.
    pub fn parse(text: &str) -> Result<CalibrationPreset, String> {
        let preset: CalibrationPreset = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(String::new(), |s| {
                let (line, col, _) = line_column(text, s.start);
                format!("{line}:{col}: ")
            });
            format!("{at}{}", e.message().trim_end())
        })?;
        if preset.format != FORMAT {
            return Err(format!(
                "at `format`: expected \"{FORMAT}\", found \"{}\"",
                preset.format
            ));
        }
        preset.efficiency.efficiency()?;
        family(&preset.fitted_on.gpu_family)?;
        Ok(preset)
    }

    /// Reads the preset at `path`; errors begin with the path.
    pub fn read(path: &Path) -> Result<CalibrationPreset, String> {
        let shown = path.display();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        CalibrationPreset::parse(&text).map_err(|m| {
            if m.starts_with(|c: char| c.is_ascii_digit()) {
                format!("{shown}:{m}")
            } else {
                format!("{shown}: {m}")
            }
        })
    }

    /// The family the efficiencies were fitted on.
    pub fn family(&self) -> Family {
        family(&self.fitted_on.gpu_family).unwrap_or(Family::Hopper)
    }
}

fn family(name: &str) -> Result<Family, String> {
    [Family::Ampere, Family::Hopper, Family::Ada, Family::Cdna3]
        .into_iter()
        .find(|&f| family_name(f) == name)
        .ok_or_else(|| {
            format!(
                "at `fitted_on.gpu_family`: expected ampere, hopper, ada or cdna3, found \"{name}\""
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CalibrationPreset {
        CalibrationPreset {
            format: FORMAT.to_string(),
            efficiency: PresetEfficiency {
                compute: 0.6,
                bandwidth: 0.8,
                kv_bandwidth: 0.5,
                step_floor_ms: 1.5,
                allreduce_us: 4.0,
                request_overhead_ms: 7.0,
            },
            fitted_on: FittedOn {
                gpu_family: "hopper".to_string(),
                experiments: vec![FittedExperiment {
                    id: "bench".to_string(),
                    input: "bench.json".to_string(),
                    model: "llama-3.1-8b".to_string(),
                    gpu: "h100-sxm".to_string(),
                    tensor_parallel: 1,
                    max_num_seqs: 256,
                    max_num_batched_tokens: 8192,
                }],
            },
            inputs: vec![InputFile {
                path: "bench.json".to_string(),
                sha256: "00".repeat(32),
            }],
            fit: FitSummary {
                loss: 0.01,
                max_evaluations: 100,
                seed: 1,
                output_lengths: "implied".to_string(),
                prefix_caching: false,
                mape: BTreeMap::from([("ttft_mean".to_string(), 2.5)]),
                errors: vec![MetricError {
                    experiment: "bench".to_string(),
                    metric: "ttft_mean".to_string(),
                    simulated_ms: 41.0,
                    measured_ms: 40.0,
                    error_pct: 2.5,
                }],
            },
        }
    }

    #[test]
    fn a_preset_round_trips_through_its_toml() {
        let p = sample();
        let text = p.to_toml().unwrap();
        assert!(text.starts_with("# GPU efficiencies"));
        assert_eq!(CalibrationPreset::parse(&text).unwrap(), p);
        assert_eq!(p.family(), Family::Hopper);
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        let text = sample().to_toml().unwrap();
        let bad = text.replace("compute = 0.6", "compute = 1.6");
        let e = CalibrationPreset::parse(&bad).unwrap_err();
        assert!(
            e.contains("efficiency.compute") && e.contains("(0, 1]"),
            "{e}"
        );
        let bad = text.replace("allreduce_us = 4.0", "allreduce_us = -1.0");
        let e = CalibrationPreset::parse(&bad).unwrap_err();
        assert!(e.contains("efficiency.allreduce_us"), "{e}");
        let bad = text.replace("gpu_family = \"hopper\"", "gpu_family = \"volta\"");
        let e = CalibrationPreset::parse(&bad).unwrap_err();
        assert!(
            e.contains("fitted_on.gpu_family") && e.contains("volta"),
            "{e}"
        );
        let bad = text.replace(FORMAT, "faultline-calibration/9");
        let e = CalibrationPreset::parse(&bad).unwrap_err();
        assert!(e.starts_with("at `format`"), "{e}");
        // A TOML mistake gives its line and column.
        let bad = text.replace("compute = 0.6", "compute = \"fast\"");
        let line = bad.lines().position(|l| l.contains("\"fast\"")).unwrap() + 1;
        let e = CalibrationPreset::parse(&bad).unwrap_err();
        assert!(e.starts_with(&format!("{line}:11: ")), "{e}");
    }
}
