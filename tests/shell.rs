//! `faultline completions SHELL` and `faultline man`: generated from the command-line definition,
//! so they name every subcommand the binary takes.

mod common;
use common::faultline;

/// The subcommands `faultline --help` lists (without `help`).
fn subcommands() -> Vec<String> {
    let out = faultline(&["--help"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(String::from)
        .collect();
    assert!(names.len() >= 12, "subcommands found: {names:?}");
    names
}

#[test]
fn every_shells_script_mentions_every_subcommand() {
    let names = subcommands();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = faultline(&["completions", shell]);
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.len() > 1000,
            "{shell}: a script of {} bytes",
            script.len()
        );
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell}: no `{name}`");
        }
        // Flags of subcommands are completed too.
        assert!(
            script.contains("replications"),
            "{shell}: no --replications"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = faultline(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bash"));
}

#[test]
fn the_man_page_is_roff_with_every_subcommand() {
    let out = faultline(&["man"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.contains(".TH faultline 1"),
        "{}",
        &page[..page.len().min(300)]
    );
    assert!(page.contains(".SH SYNOPSIS"));
    assert!(page.contains(".SH COMMANDS"));
    for name in subcommands() {
        assert!(
            page.contains(&format!(".SS \\fBfaultline {name}\\fR")),
            "no section for `{name}` in the man page"
        );
    }
    // Each command's options and examples are on the page, escaped for roff.
    assert!(page.contains("\\fB\\-\\-replications R\\fR"));
    assert!(page.contains("faultline run example:mm1"));
    assert!(
        !page
            .lines()
            .any(|l| l.starts_with('\'') || l.starts_with(".SS .")),
        "no text line reads as a roff request"
    );
    assert!(
        page.is_ascii(),
        "roff input is ASCII; other characters are escaped"
    );
    assert!(
        page.contains("\\[u2192]"),
        "the → of `import litellm --help` is escaped"
    );
}
