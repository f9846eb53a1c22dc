//! The sidecar YAML of the test module: pinned as a snapshot, readable as YAML with the parts
//! ansible-doc needs, and compared with a committed copy the way each module's test does.

use serde_json::json;

use super::*;
use crate::ansible::yaml::scalar_text;

fn sidecar() -> String {
    render_sidecar(&Deploy).expect("the test module's docs render")
}

#[test]
fn the_test_modules_sidecar_is_pinned() {
    insta::assert_snapshot!(sidecar());
}

#[test]
fn the_sidecar_is_yaml_with_the_three_parts_ansible_doc_reads() {
    let text = sidecar();
    assert!(
        text.starts_with("# Copyright: (c) 2026, aurora-ansible developers\n# Apache License 2.0")
    );
    let parsed: serde_json::Value = serde_yaml_ng::from_str(&text).expect("the sidecar is YAML");
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
    let parsed: serde_json::Value = serde_yaml_ng::from_str(&sidecar()).expect("YAML");
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
fn a_committed_sidecar_matches_until_the_code_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = check_sidecar(&Deploy, dir.path()).expect_err("no file yet");
    assert!(
        missing.to_string().contains("the file is missing"),
        "{missing}"
    );

    let written = write_sidecars(TEST_MODULES, dir.path()).expect("write");
    assert_eq!(
        written,
        [
            dir.path().join("deploy.yml"),
            dir.path().join("restart.yml")
        ]
    );
    check_sidecar(&Deploy, dir.path()).expect("fresh file matches");
    assert!(
        write_sidecars(TEST_MODULES, dir.path())
            .expect("rewrite")
            .is_empty(),
        "nothing to rewrite"
    );
    assert!(stale_sidecars(TEST_MODULES, dir.path())
        .expect("check")
        .is_empty());

    let path = dir.path().join("deploy.yml");
    let edited = sidecar().replace("Number of instances.", "How many.");
    std::fs::write(&path, edited).expect("edit");
    let stale = check_sidecar(&Deploy, dir.path()).expect_err("edited file differs");
    let message = stale.to_string();
    assert!(
        message.contains("deploy.yml is not what the code generates (line "),
        "{message}"
    );
    assert!(
        message
            .contains("\"        - How many.\", the code gives \"        - Number of instances.\""),
        "{message}"
    );
    assert!(
        message.ends_with("run `aurora-ansible docs` to regenerate it"),
        "{message}"
    );
    assert_eq!(
        stale_sidecars(TEST_MODULES, dir.path())
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
    let error = render_sidecar(&BadDocs).expect_err("RETURN is a list");
    assert_eq!(
        error.to_string(),
        "module bad: RETURN must be a YAML mapping of return values"
    );
}

#[test]
fn empty_examples_and_return_still_make_valid_yaml() {
    let text = render_sidecar(&Restart).expect("render");
    assert!(text.contains("EXAMPLES: ''\nRETURN: {}\n"), "{text}");
    assert!(
        text.contains("    check_mode:\n      support: none\n"),
        "{text}"
    );
    let parsed: serde_json::Value = serde_yaml_ng::from_str(&text).expect("YAML");
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
fn floats_keep_a_dot_and_a_signed_exponent_for_pyyaml() {
    assert_eq!(scalar_text(&json!(30.0)), "30.0");
    assert_eq!(scalar_text(&json!(0.5)), "0.5");
    assert_eq!(scalar_text(&json!(1e20)), "1.0e+20");
    assert_eq!(scalar_text(&json!(1.5e-7)), "1.5e-7");
}
