//! No input may panic the loader: random text, and random damage to a valid scenario, in both
//! formats and with overrides, must load or fail with an error.

use proptest::prelude::*;
use scenarios::{Format, Override, Source, load};

const VALID: &str = include_str!("../examples/quickstart.toml");

fn try_load(text: String, format: Format, overrides: &[Override]) {
    let source = Source::from_text("fuzz", "fuzz", text, format);
    if let Err(e) = load(&source, overrides) {
        // Rendering the error must not panic either, and must say where.
        let shown = e.to_string();
        assert!(!shown.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_text_never_panics(text in ".{0,200}") {
        try_load(text.clone(), Format::Toml, &[]);
        try_load(text, Format::Json, &[]);
    }

    #[test]
    fn damaged_scenarios_never_panic(cut in 0usize..VALID.len(), len in 0usize..40, insert in ".{0,8}") {
        let mut text = VALID.to_string();
        let start = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let end = (start + len).min(text.len());
        let end = (end..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
        text.replace_range(start..end, &insert);
        try_load(text, Format::Toml, &[]);
    }

    #[test]
    fn random_overrides_never_panic(path in "[a-z_.0-9]{1,30}", value in ".{0,20}") {
        if let Ok(o) = Override::parse(&format!("{path}={value}")) {
            try_load(VALID.to_string(), Format::Toml, &[o]);
        }
    }
}

#[test]
fn every_example_loads() {
    for e in scenarios::examples::ALL {
        let source = Source::example(e.name).unwrap();
        let loaded = load(&source, &[]).unwrap_or_else(|err| panic!("{}: {err}", e.name));
        assert!(
            !loaded.scenario.description.is_empty(),
            "{} has a description",
            e.name
        );
    }
}

#[test]
fn the_canonical_form_reads_back_to_the_same_scenario() {
    for e in scenarios::examples::ALL {
        let loaded = load(&Source::example(e.name).unwrap(), &[]).unwrap();
        let json = serde_json::to_string(&scenarios::canonical_json(&loaded.scenario)).unwrap();
        let again = load(
            &Source::from_text("canonical", e.name, json, Format::Json),
            &[],
        )
        .unwrap();
        assert_eq!(again.scenario, loaded.scenario, "{}", e.name);
        assert_eq!(again.world, loaded.world, "{}", e.name);
    }
}
