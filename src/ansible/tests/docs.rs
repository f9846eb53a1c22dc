//! The documentation file of the test module: pinned as a snapshot, its three texts readable as
//! the YAML ansible-doc needs, and compared with a committed copy the way each module's test does.

use serde_json::json;

use super::*;
use crate::ansible::yaml::{scalar_text, Yaml};

fn doc_file() -> String {
    render_doc_file(&Deploy).expect("the test module's docs render")
}

/// The three texts of a module's documentation, each parsed as YAML, as ansible-doc reads them.
fn parsed(module: &dyn AnyModule) -> serde_json::Value {
    let texts = render_doc_texts(module).expect("docs render");
    let yaml = |text: &str| -> serde_json::Value {
        serde_yaml_ng::from_str(text).expect("each text is YAML")
    };
    json!({
        "DOCUMENTATION": yaml(&texts.documentation),
        "EXAMPLES": texts.examples,
        "RETURN": yaml(&texts.returns),
    })
}

#[test]
fn the_test_modules_doc_file_is_pinned() {
    insta::assert_snapshot!(doc_file());
}

#[test]
fn the_doc_file_is_python_holding_only_the_three_texts_under_a_gpl_header() {
    let text = doc_file();
    assert!(text.starts_with(
        "# -*- coding: utf-8 -*-\n# Copyright: (c) 2026, aurora-ansible developers\n\
         # GNU General Public License v3.0+"
    ));
    let texts = render_doc_texts(&Deploy).expect("render");
    for (name, body) in [
        ("DOCUMENTATION", &texts.documentation),
        ("EXAMPLES", &texts.examples),
        ("RETURN", &texts.returns),
    ] {
        assert!(
            text.contains(&format!("\n{name} = r\"\"\"\n{body}\"\"\"\n")),
            "{name} in {text}"
        );
    }
    // Only docs and the __future__ import: validate-modules reads such a file as documentation.
    let imports: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("import ") || l.starts_with("from "))
        .collect();
    assert_eq!(imports, ["from __future__ import annotations"]);
}

#[test]
fn the_action_file_runs_the_shared_executable_action() {
    let text = render_action_file(&Deploy);
    assert!(text.contains(
        "from ansible_collections.aurora.scheduler.plugins.plugin_utils.executable import ExecutableAction\n"
    ));
    assert!(text.contains("\nclass ActionModule(ExecutableAction):\n"));
    assert!(text.contains("aurora.scheduler.deploy"));
}

#[test]
fn the_documentation_has_the_three_parts_ansible_doc_reads() {
    let parsed = parsed(&Deploy);
    let documentation = &parsed["DOCUMENTATION"];
    assert_eq!(documentation["module"], json!("deploy"));
    assert_eq!(
        documentation["version_added"],
        json!(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        documentation["attributes"]["check_mode"]["support"],
        json!("full")
    );
    assert_eq!(
        documentation["attributes"]["diff_mode"]["support"],
        json!("partial")
    );
    assert_eq!(
        documentation["attributes"]["platform"]["platforms"],
        json!("posix")
    );
    assert_eq!(parsed["RETURN"]["instances"]["type"], json!("int"));
    let examples: serde_json::Value =
        serde_yaml_ng::from_str(parsed["EXAMPLES"].as_str().expect("EXAMPLES is a string"))
            .expect("YAML");
    assert_eq!(
        examples[0]["aurora.scheduler.deploy"]["instances"],
        json!(2)
    );
}

#[test]
fn options_are_documented_from_the_schema() {
    let parsed = parsed(&Deploy);
    let options = &parsed["DOCUMENTATION"]["options"];
    let names: Vec<&String> = options.as_object().expect("options").keys().collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "options are sorted by name");
    assert_eq!(
        options["name"],
        json!({
            "description": ["Job name.", "Letters, digits, C(-) and C(_)."],
            "type": "str", "required": true
        })
    );
    assert_eq!(options["state"]["choices"], json!(["present", "absent"]));
    assert_eq!(options["state"]["default"], json!("present"));
    assert_eq!(options["labels"]["elements"], json!("str"));
    assert_eq!(
        options["processes"]["suboptions"]["daemon"]["default"],
        json!(false)
    );
    assert_eq!(
        options["resources"]["suboptions"]["ram"]["type"],
        json!("str")
    );
    assert_eq!(options["ca_path"]["type"], json!("path"));
    let password = options["password"]["description"].to_string();
    assert!(
        password.contains("E(TEST_PASSWORD)") && password.contains("never shown"),
        "{password}"
    );
    let cluster = options["cluster"]["description"].to_string();
    assert!(
        cluster.contains("Mutually exclusive with O(scheduler_url)."),
        "{cluster}"
    );
}

#[test]
fn committed_files_match_until_the_code_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = check_doc_files(&Deploy, dir.path()).expect_err("no file yet");
    assert!(
        missing.to_string().contains("the file is missing"),
        "{missing}"
    );

    let written = write_doc_files(TEST_MODULES, dir.path()).expect("write");
    assert_eq!(
        written,
        [
            dir.path().join("modules/deploy.py"),
            dir.path().join("action/deploy.py"),
            dir.path().join("modules/restart.py"),
            dir.path().join("action/restart.py"),
        ]
    );
    check_doc_files(&Deploy, dir.path()).expect("fresh files match");
    assert!(
        write_doc_files(TEST_MODULES, dir.path())
            .expect("rewrite")
            .is_empty(),
        "nothing to rewrite"
    );
    assert!(stale_doc_files(TEST_MODULES, dir.path())
        .expect("check")
        .is_empty());

    let path = dir.path().join("modules/deploy.py");
    let edited = doc_file().replace("Number of instances.", "How many.");
    std::fs::write(&path, edited).expect("edit");
    let stale = check_doc_files(&Deploy, dir.path()).expect_err("edited file differs");
    let message = stale.to_string();
    assert!(
        message.contains("deploy.py is not what the code generates (line "),
        "{message}"
    );
    assert!(
        message.contains("\"      - How many.\", the code gives \"      - Number of instances.\""),
        "{message}"
    );
    assert!(
        message.ends_with("run `aurora-ansible docs` to regenerate it"),
        "{message}"
    );
    assert_eq!(
        stale_doc_files(TEST_MODULES, dir.path())
            .expect("check")
            .len(),
        1
    );
}

struct BadDocs;

impl Module for BadDocs {
    const NAME: &'static str = "bad";
    type Options = NoOptions;

    fn documentation() -> Documentation {
        Documentation::new("Broken docs").returns("- a list, not a mapping\n")
    }

    fn run(_: NoOptions, _: &mut Context) -> Result<Outcome, Failure> {
        Ok(Outcome::unchanged())
    }
}

#[test]
fn a_return_text_that_is_not_a_mapping_is_refused_naming_the_module() {
    let error = render_doc_file(&BadDocs).expect_err("RETURN is a list");
    assert_eq!(
        error.to_string(),
        "module bad: RETURN must be a YAML mapping of return values"
    );
}

#[test]
fn empty_examples_and_return_still_make_valid_yaml() {
    let text = render_doc_file(&Restart).expect("render");
    assert!(
        text.contains("EXAMPLES = r\"\"\"\n\"\"\"\n\nRETURN = r\"\"\"\n{}\n\"\"\"\n"),
        "{text}"
    );
    assert!(
        text.contains("  check_mode:\n    support: none\n"),
        "{text}"
    );
    let parsed = parsed(&Restart);
    assert_eq!(parsed["DOCUMENTATION"]["options"], json!({}));
    assert_eq!(
        parsed["DOCUMENTATION"]["description"],
        json!(["Restart everything"])
    );
}

#[test]
fn strings_that_yaml_1_1_would_misread_are_quoted() {
    for tricky in [
        "yes",
        "No",
        "on",
        "OFF",
        "y",
        "null",
        "~",
        "1_000",
        "0.1.0",
        "2001-12-14",
        "12:30",
        "a: b",
        "x #y",
        "- item",
        "",
        " lead",
        "@x",
        "[a]",
        "{a}",
        "'q'",
        "trailing:",
    ] {
        let text = scalar_text(&json!(tricky));
        assert!(text.starts_with('"'), "{tricky:?} was written {text}");
        let back: String = serde_yaml_ng::from_str(&text).expect("YAML");
        assert_eq!(back, tricky);
    }
    for plain in [
        "plain text",
        "C(state=present) and V(x)",
        "http://127.0.0.1:8081",
        "it's",
        "(a)",
    ] {
        assert_eq!(scalar_text(&json!(plain)), plain);
    }
}

#[test]
fn long_strings_are_folded_within_the_width_and_read_back_unchanged() {
    let long =
        "A description of many words, with a colon: here, a # mark and C(code), long enough \
                to need folding over several lines of the documentation file, so that no line is \
                longer than the width ansible-test's pep8 check allows in a Python file."
            .to_owned();
    let short = "Short: stays on one line.".to_owned();
    let entries = vec![
        (
            "description".to_owned(),
            Yaml::strs(&[long.clone(), short.clone()]),
        ),
        ("summary".to_owned(), Yaml::str(long.clone())),
    ];
    let mut text = String::new();
    crate::ansible::yaml::write_map(&mut text, &entries, 2);
    assert!(text.lines().all(|l| l.len() <= 100), "{text}");
    assert!(text.contains("  - >-\n      A description"), "{text}");
    assert!(
        text.contains("  - \"Short: stays on one line.\"\n"),
        "{text}"
    );
    let back: serde_json::Value = serde_yaml_ng::from_str(&text).expect("YAML");
    assert_eq!(back, json!({"description": [long, short], "summary": long}));
}

#[test]
fn a_size_default_is_written_with_its_unit() {
    assert_eq!(crate::ansible::docs::size_text(104_857_600), "100MiB");
    assert_eq!(crate::ansible::docs::size_text(3 << 30), "3GiB");
    assert_eq!(crate::ansible::docs::size_text(1000), "1000");
}

#[test]
fn floats_keep_a_dot_and_a_signed_exponent_for_pyyaml() {
    assert_eq!(scalar_text(&json!(30.0)), "30.0");
    assert_eq!(scalar_text(&json!(0.5)), "0.5");
    assert_eq!(scalar_text(&json!(1e20)), "1.0e+20");
    assert_eq!(scalar_text(&json!(1.5e-7)), "1.5e-7");
}
