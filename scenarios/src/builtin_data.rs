//! Data embedded in the binary, named `builtin:PATH` in scenarios (PATH as in the repository's
//! `data/` folder), so the built-in examples that replay a trace run from any directory and from
//! an installed binary. Provenance and licences: `data/README.md`.

/// The prefix that marks a path as embedded data rather than a file.
pub const PREFIX: &str = "builtin:";

/// Every embedded file, by its path under `data/`.
pub const FILES: &[(&str, &[u8])] = &[
    (
        "traces/AzureLLMInferenceTrace_code.csv",
        include_bytes!("../../data/traces/AzureLLMInferenceTrace_code.csv"),
    ),
    (
        "sim-to-real/vllm_h100_measurements.json",
        include_bytes!("../../data/sim-to-real/vllm_h100_measurements.json"),
    ),
];

/// The bytes of `builtin:NAME`, or a message listing what is embedded.
pub fn read(name: &str) -> Result<&'static [u8], String> {
    FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
        .ok_or_else(|| {
            let known: Vec<String> = FILES.iter().map(|(n, _)| format!("{PREFIX}{n}")).collect();
            format!(
                "no embedded data named `{PREFIX}{name}`; embedded: {}",
                known.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_are_the_vendored_files() {
        for (name, bytes) in FILES {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/").to_string() + name;
            assert_eq!(std::fs::read(&path).unwrap(), *bytes, "{name}");
        }
    }

    #[test]
    fn unknown_names_list_the_embedded_files() {
        let e = read("traces/nope.csv").unwrap_err();
        assert!(e.contains("builtin:traces/nope.csv"), "{e}");
        assert!(
            e.contains("builtin:traces/AzureLLMInferenceTrace_code.csv"),
            "{e}"
        );
        assert!(
            read("traces/AzureLLMInferenceTrace_code.csv")
                .unwrap()
                .len()
                > 300_000
        );
    }
}
