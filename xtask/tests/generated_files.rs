//! The checked-in man pages and completions must be exactly what the clap
//! definitions render today.

use std::path::Path;

const FIX: &str = "run `cargo xtask gen` and commit the result";

#[test]
fn generated_files_are_up_to_date() {
    let root = xtask::workspace_root();
    let rendered = xtask::render_all();
    let mut problems = Vec::new();
    for (path, text) in &rendered {
        match std::fs::read(root.join(path)) {
            Ok(on_disk) if on_disk == *text => {}
            Ok(_) => problems.push(format!("{} is stale", path.display())),
            Err(e) => problems.push(format!("{} cannot be read: {e}", path.display())),
        }
    }
    for path in xtask::leftovers(&root, &rendered).unwrap() {
        problems.push(format!("{} is no longer generated", path.display()));
    }
    assert!(problems.is_empty(), "{}; {FIX}", problems.join("; "));
}

#[test]
fn every_command_has_a_page_and_every_shell_a_script() {
    let rendered = xtask::render_all();
    let names: Vec<&Path> = rendered.iter().map(|(p, _)| p.as_path()).collect();
    for expected in [
        "man/roostctl.1",
        "man/roostctl-invites-api.1",
        "man/roostctl-invites-api-create.1",
        "man/roostctl-invites-api-list.1",
        "man/roostctl-invites-api-delete.1",
        "man/roostctl-shell.1",
        "man/roostd.1",
        "completions/roostctl.bash",
        "completions/_roostctl",
        "completions/roostctl.fish",
    ] {
        assert!(
            names.contains(&Path::new(expected)),
            "{expected} is not generated: {names:?}"
        );
    }
    assert!(
        !names.iter().any(|p| p.to_string_lossy().contains("help")),
        "the help subcommand gets no page: {names:?}"
    );
}

#[test]
fn pages_are_deterministic_and_document_exit_codes() {
    let first = xtask::render_all();
    assert_eq!(first, xtask::render_all());
    let (_, roostctl) = first
        .iter()
        .find(|(p, _)| p.ends_with("roostctl.1"))
        .unwrap();
    let roostctl = String::from_utf8_lossy(roostctl);
    let title = roostctl.lines().find(|l| l.starts_with(".TH")).unwrap();
    // No date: the third field of .TH stays empty.
    assert_eq!(
        title,
        format!(
            r#".TH roostctl 1  "Roost {}" "Roost Manual""#,
            env!("CARGO_PKG_VERSION")
        )
    );
    let exit_status = roostctl
        .find(".SH \"EXIT STATUS\"")
        .expect("an EXIT STATUS section");
    for (code, meaning) in roost_shell::grammar::EXIT_STATUSES {
        assert!(
            roostctl[exit_status..].contains(&format!("\\fB{code}\\fR\n{meaning}")),
            "exit status {code}"
        );
    }
    assert!(
        !roostctl.contains(".SH EXTRA"),
        "the --help epilogue is not repeated"
    );
}

#[test]
fn stale_and_leftover_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let rendered = xtask::render_all();
    std::fs::create_dir_all(dir.path().join("man")).unwrap();
    std::fs::write(dir.path().join("man/roostctl-frobnicate.1"), "old").unwrap();
    std::fs::write(dir.path().join("man/roost.toml.5"), "hand-written").unwrap();
    let leftovers = xtask::leftovers(dir.path(), &rendered).unwrap();
    assert_eq!(leftovers, vec![Path::new("man/roostctl-frobnicate.1")]);
}
