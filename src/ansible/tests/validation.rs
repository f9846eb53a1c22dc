//! Option checks against the test module's schema (and a few hand-written schemas): each of
//! Ansible's rules and its message.

use serde_json::{json, Map, Value};

use super::*;

fn errors(params: Value) -> Vec<String> {
    let validation = check(params);
    validation
        .unsupported
        .into_iter()
        .chain(validation.errors)
        .collect()
}

fn only_error(params: Value) -> String {
    let all = errors(params);
    assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
    all[0].clone()
}

#[test]
fn minimal_options_get_every_default_filled_in() {
    let validation = check(minimal());
    assert_eq!(validation.message(), None);
    assert_eq!(
        Value::Object(validation.params),
        json!({
            "name": "web", "cluster": "devcluster", "state": "present", "instances": 1,
            "timeout": 30.0, "wait": false, "labels": [], "metadata": {}, "processes": [],
            "validate_certs": true
        })
    );
}

#[test]
fn unknown_option_is_rejected_listing_the_supported_ones() {
    assert_eq!(
        only_error(with(json!({"bogus": 1}))),
        "Unsupported parameters for (aurora.scheduler.deploy) module: bogus. Supported parameters \
         include: behavior, ca_path, cluster, container, instances, labels, metadata, name, \
         ordering, password, priority, processes, resources, scheduler_url, state, tier, \
         timeout, validate_certs, wait."
    );
}

#[test]
fn unknown_option_inside_a_nested_dict_is_named_with_its_path() {
    assert_eq!(
        only_error(with(json!({"resources": {"cpu": 1, "ram": 64, "gpu": 1}}))),
        "Unsupported parameters for (aurora.scheduler.deploy) module: resources.gpu. Supported \
         parameters include: cpu, disk, ram."
    );
    assert_eq!(
        only_error(with(json!({"processes": [
            {"name": "a", "cmdline": "x"},
            {"name": "b", "cmdline": "y", "restart": true}
        ]}))),
        "Unsupported parameters for (aurora.scheduler.deploy) module: processes[1].restart. \
         Supported parameters include: cmdline, daemon, name."
    );
}

#[test]
fn internal_ansible_keys_never_reach_the_validator_but_look_unknown_if_they_do() {
    // The protocol strips `_ansible_*` keys before validating (see protocol tests).
    assert!(only_error(with(json!({"_ansible_check_mode": false}))).contains("_ansible_check_mode"));
}

#[test]
fn missing_required_options_are_listed_sorted_with_their_path() {
    assert_eq!(
        only_error(json!({"cluster": "c"})),
        "missing required arguments: name"
    );
    assert_eq!(
        only_error(with(json!({"processes": [{"name": "a"}]}))),
        "missing required arguments: cmdline found in processes[0]"
    );
    assert_eq!(
        only_error(with(json!({"resources": {}}))),
        "missing required arguments: cpu, ram found in resources"
    );
}

#[test]
fn a_null_option_counts_as_not_given() {
    assert_eq!(
        only_error(json!({"name": null, "cluster": "c"})),
        "missing required arguments: name"
    );
    let validation = check(with(json!({"instances": null})));
    assert_eq!(validation.params["instances"], json!(1));
}

#[test]
fn a_value_outside_the_choices_is_refused_naming_the_choices() {
    assert_eq!(
        only_error(with(json!({"state": "prsent"}))),
        "value of state must be one of: present, absent, got: prsent"
    );
    assert_eq!(
        only_error(with(json!({"tier": "gold", "priority": 1}))),
        "value of tier must be one of: preemptible, preferred, got: gold"
    );
}

#[test]
fn type_errors_say_what_was_given_and_what_was_wanted() {
    assert_eq!(
        only_error(with(json!({"instances": "many"}))),
        "argument 'instances' is of type str and we were unable to convert to int: \"'many'\" \
         cannot be converted to an int"
    );
    assert_eq!(
        only_error(with(json!({"resources": {"cpu": "fast", "ram": 1}}))),
        "argument 'cpu' is of type str and we were unable to convert to float: <class 'str'> \
         cannot be converted to a float found in resources"
    );
    assert_eq!(
        only_error(with(json!({"name": ["a"]}))),
        "argument 'name' is of type list and we were unable to convert to str: '['a']' is not a \
         string and conversion is not allowed"
    );
}

#[test]
fn list_elements_are_converted_one_by_one() {
    let validation = check(with(json!({"labels": [1, true, "x"]})));
    assert_eq!(validation.params["labels"], json!(["1", "True", "x"]));
    assert_eq!(
        only_error(with(json!({"processes": ["sleep"]}))),
        "Elements value for option 'processes' is of type str and we were unable to convert to \
         dict: dictionary requested, could not parse JSON or key=value"
    );
}

#[test]
fn ansible_conversions_apply_to_every_option_type() {
    let validation = check(with(json!({
        "instances": "3", "wait": "yes", "timeout": "2.5", "labels": "a, b",
        "metadata": "team=ml, cost=12", "validate_certs": "off", "priority": 2.0, "tier": "preferred",
        "resources": "{\"cpu\": \"0.5\", \"ram\": \"512MiB\"}",
    })));
    assert_eq!(validation.message(), None);
    let p = &validation.params;
    assert_eq!(p["instances"], json!(3));
    assert_eq!(p["wait"], json!(true));
    assert_eq!(p["timeout"], json!(2.5));
    assert_eq!(p["labels"], json!(["a", "b"]));
    assert_eq!(p["metadata"], json!({"team": "ml", "cost": "12"}));
    assert_eq!(p["validate_certs"], json!(false));
    assert_eq!(p["priority"], json!(2));
    assert_eq!(p["resources"], json!({"cpu": 0.5, "ram": "512MiB"}));
}

#[test]
fn sizes_pass_through_for_their_own_deserializer() {
    let validation = check(with(
        json!({"resources": {"cpu": 1, "ram": 1024, "disk": "2GiB"}}),
    ));
    assert_eq!(
        validation.params["resources"],
        json!({"cpu": 1.0, "ram": 1024, "disk": "2GiB"})
    );
    assert_eq!(
        only_error(with(json!({"resources": {"cpu": 1, "ram": [1]}}))),
        "argument 'ram' is of type list and we were unable to convert to bytes: a size is a \
         number of bytes or a string such as 512MiB, not a list found in resources"
    );
}

#[test]
fn a_malformed_size_is_refused_with_its_option_path() {
    assert_eq!(
        only_error(with(json!({"resources": {"cpu": 1, "ram": "lots"}}))),
        "argument 'ram' is of type str and we were unable to convert to bytes: \"lots\" is not \
         a size: it does not start with a number; write bytes (1073741824) or a number with a \
         unit such as 512MiB, 2GiB or 1.5G found in resources"
    );
}

#[test]
fn numbers_below_the_types_minimum_are_refused() {
    assert_eq!(
        only_error(with(json!({"instances": -1}))),
        "value of instances must be at least 0, got: -1"
    );
}

#[test]
fn environment_variable_fills_an_option_not_given() {
    let from_env = check_in(
        json!({"name": "web"}),
        &[("TEST_SCHEDULER_URL", "http://127.0.0.1:1")],
    );
    assert_eq!(from_env.message(), None);
    assert_eq!(
        from_env.params["scheduler_url"],
        json!("http://127.0.0.1:1")
    );

    let given = check_in(
        json!({"name": "web", "scheduler_url": "http://given"}),
        &[("TEST_SCHEDULER_URL", "http://127.0.0.1:1")],
    );
    assert_eq!(given.params["scheduler_url"], json!("http://given"));

    let empty = check_in(
        json!({"name": "web", "cluster": "c"}),
        &[("TEST_SCHEDULER_URL", "")],
    );
    assert_eq!(empty.message(), None);
    assert!(!empty.params.contains_key("scheduler_url"));
}

#[test]
fn an_option_given_wins_over_the_environment_fallback_of_an_exclusive_one() {
    // `cluster` given, AURORA_SCHEDULER_URL exported: the task's choice is the one used.
    let validation = check_in(minimal(), &[("TEST_SCHEDULER_URL", "http://x")]);
    assert_eq!(validation.message(), None);
    assert_eq!(validation.params["cluster"], json!("devcluster"));
    assert!(!validation.params.contains_key("scheduler_url"));
    // Neither given: the environment fills in.
    let from_env = check_in(
        json!({"name": "web"}),
        &[("TEST_SCHEDULER_URL", "http://x")],
    );
    assert_eq!(from_env.params["scheduler_url"], json!("http://x"));
    assert!(!from_env.params.contains_key("cluster"));
    // Both given: an error, whatever the environment says.
    assert_eq!(
        check_in(
            with(json!({"scheduler_url": "http://given"})),
            &[("TEST_SCHEDULER_URL", "http://x")]
        )
        .message()
        .as_deref(),
        Some("parameters are mutually exclusive: scheduler_url|cluster")
    );
}

#[test]
fn a_password_written_into_a_url_option_is_a_secret() {
    let in_env: &'static [(&str, &str)] = &[("TEST_SCHEDULER_URL", "https://u:pw-in-url@h")];
    for (given, env) in [
        (
            json!({"name": "web", "scheduler_url": "https://u:pw-in-url@h"}),
            &[][..],
        ),
        (json!({"name": "web"}), in_env),
    ] {
        let validation = check_in(given, env);
        assert!(validation.secrets.contains("pw-in-url"), "{env:?}");
    }
}

#[test]
fn mutually_exclusive_options_from_a_flattened_struct_are_refused_together() {
    assert_eq!(
        only_error(with(json!({"scheduler_url": "http://x"}))),
        "parameters are mutually exclusive: scheduler_url|cluster"
    );
}

#[test]
fn one_of_a_required_group_must_be_given() {
    assert_eq!(
        only_error(json!({"name": "web"})),
        "one of the following is required: scheduler_url, cluster"
    );
}

#[test]
fn options_required_together_are_refused_alone() {
    assert_eq!(
        only_error(with(json!({"tier": "preferred"}))),
        "parameters are required together: tier, priority"
    );
}

#[test]
fn every_error_is_reported_not_only_the_first() {
    let validation =
        check(json!({"bogus": 1, "state": "gone", "instances": "x", "resources": {"cpu": 1}}));
    assert_eq!(
        validation.message().unwrap_or_default(),
        "Unsupported parameters for (aurora.scheduler.deploy) module: bogus. Supported parameters \
         include: behavior, ca_path, cluster, container, instances, labels, metadata, name, \
         ordering, password, priority, processes, resources, scheduler_url, state, tier, \
         timeout, validate_certs, wait.; \
         missing required arguments: name; \
         one of the following is required: scheduler_url, cluster; \
         argument 'instances' is of type str and we were unable to convert to int: \"'x'\" cannot \
         be converted to an int; \
         missing required arguments: ram found in resources; \
         value of state must be one of: present, absent, got: gone"
    );
}

#[test]
fn secrets_are_collected_as_given_from_env_and_nested() {
    let given = check(with(json!({"password": 1234})));
    assert!(given.secrets.contains("1234"));
    let from_env = check_in(minimal(), &[("TEST_PASSWORD", "hunter2")]);
    assert!(from_env.secrets.contains("hunter2"));
    assert_eq!(from_env.params["password"], json!("hunter2"));
    let nested = check(with(
        json!({"container": {"docker": {"image": "x", "registry": {"username": "u", "password": "s3cret"}}}}),
    ));
    assert_eq!(nested.secrets.iter().collect::<Vec<_>>(), ["s3cret"]);
}

#[test]
fn an_enum_with_fields_takes_exactly_one_of_its_variants() {
    let docker = check(with(json!({"container": {"docker": {"image": "nginx"}}})));
    assert_eq!(docker.message(), None);
    assert_eq!(
        docker.params["container"],
        json!({"docker": {"image": "nginx"}})
    );
    assert_eq!(
        only_error(with(
            json!({"container": {"docker": {"image": "a"}, "mesos": {"image": "b"}}})
        )),
        "parameters are mutually exclusive: docker|mesos found in container"
    );
    assert_eq!(
        only_error(with(json!({"container": {}}))),
        "one of the following is required: docker, mesos found in container"
    );
    assert_eq!(
        only_error(with(
            json!({"container": {"docker": {"image": "a", "tag": "1"}}})
        )),
        "Unsupported parameters for (aurora.scheduler.deploy) module: container.docker.tag. \
         Supported parameters include: image, registry."
    );
}

#[test]
fn an_untagged_enum_takes_the_shape_the_value_has() {
    let chain = check(with(json!({"ordering": ["a", "b"]})));
    assert_eq!(chain.params["ordering"], json!(["a", "b"]));
    let chains = check(with(json!({"ordering": [["a"], ["b", "c"]]})));
    assert_eq!(chains.message(), None);
    assert_eq!(chains.params["ordering"], json!([["a"], ["b", "c"]]));
    let text = check(with(json!({"ordering": "a,b"})));
    assert_eq!(text.params["ordering"], json!(["a", "b"]));
}

#[test]
fn a_path_option_expands_the_home_directory() {
    let validation = check_in(
        with(json!({"ca_path": "~/ca.pem"})),
        &[("HOME", "/home/ops")],
    );
    assert_eq!(validation.params["ca_path"], json!("/home/ops/ca.pem"));
}

fn check_schema(schema: Value, params: Value) -> Validation {
    let params: Map<String, Value> = serde_json::from_value(params).expect("object");
    validate_options(&schema, &params, "aurora.scheduler.t", &env_of(&[]))
}

#[test]
fn a_list_of_choices_names_every_item_that_matches_none() {
    let schema = json!({"type": "object", "properties": {
        "tiers": {"type": "array", "items": {"$ref": "#/$defs/Tier"}}
    }, "$defs": {"Tier": {"type": "string", "enum": ["a", "b"]}}});
    assert_eq!(
        check_schema(schema.clone(), json!({"tiers": "a,c,d"}))
            .message()
            .as_deref(),
        Some("value of tiers must be one or more of: a, b. Got no match for: c, d")
    );
    assert_eq!(
        check_schema(schema, json!({"tiers": "b,a"})).params["tiers"],
        json!(["b", "a"])
    );
}

#[test]
fn a_free_dict_takes_any_key_and_converts_values_to_its_value_type() {
    let schema = json!({"type": "object", "properties": {
        "limits": {"type": "object", "additionalProperties": {"type": "integer"}},
        "extra": true
    }});
    let validation = check_schema(
        schema,
        json!({"limits": {"a": "1", "b": 2}, "extra": {"x": [1]}}),
    );
    assert_eq!(validation.message(), None);
    assert_eq!(
        Value::Object(validation.params),
        json!({"limits": {"a": 1, "b": 2}, "extra": {"x": [1]}})
    );
}

#[test]
fn a_flattened_enum_with_an_internal_tag_picks_the_variant_by_its_tag() {
    // What schemars writes for `#[serde(flatten)] sla: Sla` with `#[serde(tag = "kind")]`.
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}},
    "required": ["name"],
    "oneOf": [
        {"type": "object", "properties": {"kind": {"type": "string", "const": "count"}, "count": {"type": "integer"}}, "required": ["kind", "count"]},
        {"type": "object", "properties": {"kind": {"type": "string", "const": "percentage"}, "percentage": {"type": "number"}}, "required": ["kind", "percentage"]}
    ]});
    let count = check_schema(
        schema.clone(),
        json!({"name": "n", "kind": "count", "count": "3"}),
    );
    assert_eq!(count.message(), None);
    assert_eq!(
        Value::Object(count.params),
        json!({"name": "n", "kind": "count", "count": 3})
    );
    let wrong = check_schema(
        schema.clone(),
        json!({"name": "n", "kind": "count", "percentage": 5}),
    );
    assert_eq!(
        wrong.message().as_deref(),
        Some(
            "Unsupported parameters for (aurora.scheduler.t) module: percentage. Supported \
              parameters include: count, kind, name.; missing required arguments: count"
        )
    );
    let unknown = check_schema(schema.clone(), json!({"name": "n", "kind": "ratio"}));
    assert_eq!(
        unknown.message().as_deref(),
        Some("value of kind must be one of: count, percentage, got: ratio")
    );
    let missing = check_schema(schema, json!({"name": "n", "count": 1}));
    assert_eq!(
        missing.message().as_deref(),
        Some("missing required arguments: kind")
    );
}

#[test]
fn a_number_beyond_its_rust_integer_type_is_refused_naming_the_option() {
    // Issue 18: these reached serde, whose message named no option.
    assert_eq!(
        only_error(with(
            json!({"tier": "preferred", "priority": 3_000_000_000u64})
        )),
        "value of priority must be at most 2147483647, got: 3000000000"
    );
    assert_eq!(
        only_error(with(
            json!({"tier": "preferred", "priority": "-2147483649"})
        )),
        "value of priority must be at least -2147483648, got: -2147483649"
    );
    assert_eq!(
        only_error(with(json!({"instances": 5e9}))),
        "value of instances must be at most 4294967295, got: 5000000000"
    );
    assert!(errors(with(
        json!({"tier": "preferred", "priority": 2_147_483_647})
    ))
    .is_empty());
}

#[test]
fn a_number_beyond_its_type_inside_a_list_is_named_with_its_path() {
    let schema = json!({
        "type": "object",
        "properties": {"task": {"type": "object", "properties": {
            "processes": {"type": "array", "items": {"type": "object", "properties": {
                "max_failures": {"type": "integer", "format": "int32"}
            }}}
        }}}
    });
    let params = json!({"task": {"processes": [{"max_failures": 1}, {"max_failures": 1e10}]}});
    let validation = validate_options(
        &schema,
        params.as_object().unwrap(),
        "aurora.scheduler.deploy",
        &env_of(&[]),
    );
    assert_eq!(
        validation.errors,
        [
            "value of max_failures must be at most 2147483647, got: 10000000000 found in task -> \
          processes[1]"
        ]
    );
}
