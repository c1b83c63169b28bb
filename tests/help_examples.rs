//! Every example command line in `faultline --help` and `faultline SUBCOMMAND --help` runs as
//! printed and exits 0.
//!
//! The examples are read from the help text at run time: the lines that start with `faultline `
//! after a line starting with "Example" (with `\` continuation lines joined and `# comments`
//! dropped, as a shell would). They run in order (the top-level help first, then each
//! subcommand in the order `faultline --help` lists them) in one empty directory, so an example
//! may use a file an earlier one wrote (`faultline examples quickstart > my.toml`, then
//! `faultline run my.toml`). `> FILE` is done by the test: standard output goes to FILE.
//! Nothing else is substituted.

mod common;

use common::scratch_dir;
use std::path::Path;
use std::process::{Command, Output};

fn faultline_in(dir: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the faultline binary runs")
}

fn help(dir: &Path, command: Option<&str>) -> String {
    let mut args: Vec<String> = command.into_iter().map(String::from).collect();
    args.push("--help".into());
    let out = faultline_in(dir, &args);
    assert!(out.status.success(), "faultline {args:?} exits 0");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands `faultline --help` lists, in its order (without `help`).
fn subcommands(top: &str) -> Vec<String> {
    top.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(String::from)
        .collect()
}

/// The example command lines of a help text, continuation lines joined.
fn examples(help: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_examples = false;
    let mut lines = help.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("Example") {
            in_examples = true;
            continue;
        }
        let trimmed = line.trim_start();
        if !in_examples || !trimmed.starts_with("faultline ") {
            continue;
        }
        let mut command = trimmed.trim_end().to_string();
        while command.ends_with('\\') {
            command.pop();
            command.truncate(command.trim_end().len());
            let next = lines.next().expect("a continuation line after `\\`");
            command.push(' ');
            command.push_str(next.trim());
        }
        found.push(command);
    }
    found
}

/// Splits a command line as a POSIX shell would for the forms the examples use: words, single
/// and double quotes, backslash escapes outside single quotes, a `#` comment at the start of a
/// word, and `> FILE`. Returns the words and the file standard output goes to.
fn shell_words(line: &str) -> (Vec<String>, Option<String>) {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let mut redirect = false;
    let mut stdout_to = None;
    let mut finish = |word: &mut String, in_word: &mut bool, redirect: &mut bool| {
        if *in_word {
            if *redirect {
                stdout_to = Some(std::mem::take(word));
                *redirect = false;
            } else {
                words.push(std::mem::take(word));
            }
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => finish(&mut word, &mut in_word, &mut redirect),
            '#' if !in_word => break,
            '>' if !in_word => redirect = true,
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => word.push(chars.next().unwrap_or('\\')),
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next().unwrap_or('\\'));
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    finish(&mut word, &mut in_word, &mut redirect);
    assert!(!redirect, "`>` without a file in `{line}`");
    (words, stdout_to)
}

#[test]
fn the_shell_splitting_matches_a_shell() {
    let (words, out) = shell_words(
        "faultline sweep my.toml --constraint 'success_ratio>=0.99' --set \"a b\"   # then: x",
    );
    assert_eq!(
        words,
        [
            "faultline",
            "sweep",
            "my.toml",
            "--constraint",
            "success_ratio>=0.99",
            "--set",
            "a b"
        ]
    );
    assert_eq!(out, None);
    let (words, out) = shell_words("faultline examples mmc > mmc.toml");
    assert_eq!(words, ["faultline", "examples", "mmc"]);
    assert_eq!(out.as_deref(), Some("mmc.toml"));
    assert_eq!(
        examples("Usage\n\nExamples:\n  faultline a \\\n      --b c\n  not this\n  faultline d\n"),
        ["faultline a --b c", "faultline d"]
    );
}

#[test]
fn every_help_example_runs_as_printed() {
    let dir = scratch_dir("help-examples");
    let top = help(&dir, None);
    let commands = subcommands(&top);
    assert!(
        commands.len() >= 8,
        "faultline --help lists its subcommands: {commands:?}"
    );
    let mut pages = vec![("faultline --help".to_string(), top.clone())];
    for command in &commands {
        pages.push((
            format!("faultline {command} --help"),
            help(&dir, Some(command)),
        ));
    }

    let mut ran = 0;
    let mut failures = Vec::new();
    for (page, text) in &pages {
        let lines = examples(text);
        if lines.is_empty() {
            failures.push(format!("{page} shows no example"));
        }
        for line in lines {
            let (words, stdout_to) = shell_words(&line);
            assert_eq!(words[0], "faultline", "{line}");
            let started = std::time::Instant::now();
            let out = faultline_in(&dir, &words[1..]);
            ran += 1;
            eprintln!(
                "{:>5.2} s  exit {}  {line}",
                started.elapsed().as_secs_f64(),
                out.status.code().unwrap_or(-1)
            );
            if let Some(file) = &stdout_to {
                assert!(
                    !out.stdout.is_empty(),
                    "`{line}` printed nothing into {file}"
                );
                std::fs::write(dir.join(file), &out.stdout).unwrap();
            }
            if !out.status.success() {
                failures.push(format!(
                    "{page}: `{line}` exits {:?}:\n{}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(ran >= 15, "only {ran} examples found");
    assert!(
        failures.is_empty(),
        "{} of {ran} help examples fail (run in {}):\n{}",
        failures.len(),
        dir.display(),
        failures.join("\n")
    );
}
