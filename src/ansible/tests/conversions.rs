//! Ansible's conversion table, one value at a time.

use serde_json::{json, Value};

use crate::ansible::convert::*;

#[test]
fn booleans_accept_ansibles_words_in_any_case_and_one_and_zero() {
    for yes in [
        json!("yes"),
        json!("Yes"),
        json!("TRUE"),
        json!("on"),
        json!("y"),
        json!("t"),
        json!("1"),
        json!(1),
        json!(1.0),
        json!(true),
        json!(" True "),
    ] {
        assert_eq!(to_bool(&yes), Ok(json!(true)), "{yes}");
    }
    for no in [
        json!("no"),
        json!("NO"),
        json!("false"),
        json!("Off"),
        json!("n"),
        json!("f"),
        json!("0"),
        json!(0),
        json!(0.0),
        json!(false),
    ] {
        assert_eq!(to_bool(&no), Ok(json!(false)), "{no}");
    }
}

#[test]
fn booleans_refuse_other_words_numbers_and_collections() {
    let reason = to_bool(&json!("maybe")).unwrap_err();
    assert!(
        reason.starts_with(
            "The value 'maybe' is not a valid boolean. Valid booleans include: 'y', 'yes'"
        ),
        "{reason}"
    );
    assert!(to_bool(&json!(2))
        .unwrap_err()
        .starts_with("The value '2' is not a valid boolean"));
    assert_eq!(
        to_bool(&json!([true])).unwrap_err(),
        "<class 'list'> cannot be converted to a bool"
    );
}

#[test]
fn integers_come_from_numeric_strings_and_integral_floats() {
    assert_eq!(to_int(&json!(3)), Ok(json!(3)));
    assert_eq!(to_int(&json!("42")), Ok(json!(42)));
    assert_eq!(to_int(&json!(" -7 ")), Ok(json!(-7)));
    assert_eq!(to_int(&json!(4.0)), Ok(json!(4)));
    assert_eq!(to_int(&json!("4.0")), Ok(json!(4)));
    assert_eq!(to_int(&json!("1e3")), Ok(json!(1000)));
    assert_eq!(to_int(&json!("18446744073709551615")), Ok(json!(u64::MAX)));
}

#[test]
fn integers_refuse_fractions_words_and_booleans_quoting_the_value_as_python_does() {
    assert_eq!(
        to_int(&json!("abc")).unwrap_err(),
        "\"'abc'\" cannot be converted to an int"
    );
    assert_eq!(
        to_int(&json!(1.5)).unwrap_err(),
        "\"1.5\" cannot be converted to an int"
    );
    assert_eq!(
        to_int(&json!("1.5")).unwrap_err(),
        "\"'1.5'\" cannot be converted to an int"
    );
    assert_eq!(
        to_int(&json!("inf")).unwrap_err(),
        "\"'inf'\" cannot be converted to an int"
    );
    assert_eq!(
        to_int(&json!(true)).unwrap_err(),
        "\"True\" cannot be converted to an int"
    );
    assert_eq!(
        to_int(&json!([1])).unwrap_err(),
        "\"[1]\" cannot be converted to an int"
    );
}

#[test]
fn floats_come_from_numeric_strings_and_integers() {
    assert_eq!(to_float(&json!(2)), Ok(json!(2.0)));
    assert_eq!(to_float(&json!("2.5")), Ok(json!(2.5)));
    assert_eq!(to_float(&json!(" 1e-3 ")), Ok(json!(0.001)));
    assert_eq!(
        to_float(&json!("fast")).unwrap_err(),
        "<class 'str'> cannot be converted to a float"
    );
    assert_eq!(
        to_float(&json!(false)).unwrap_err(),
        "<class 'bool'> cannot be converted to a float"
    );
}

#[test]
fn strings_come_from_numbers_and_booleans_as_python_prints_them() {
    assert_eq!(to_str(&json!("x")), Ok(json!("x")));
    assert_eq!(to_str(&json!(8080)), Ok(json!("8080")));
    assert_eq!(to_str(&json!(1.5)), Ok(json!("1.5")));
    assert_eq!(to_str(&json!(true)), Ok(json!("True")));
    assert_eq!(
        to_str(&json!(["a", 1])).unwrap_err(),
        "'['a', 1]' is not a string and conversion is not allowed"
    );
    assert_eq!(
        to_str(&json!({"k": null})).unwrap_err(),
        "'{'k': None}' is not a string and conversion is not allowed"
    );
}

#[test]
fn lists_come_from_comma_separated_strings_and_lone_scalars() {
    assert_eq!(
        to_list(&json!(["a", "b"])),
        Ok(vec![json!("a"), json!("b")])
    );
    assert_eq!(
        to_list(&json!("a,b, c")),
        Ok(vec![json!("a"), json!("b"), json!("c")])
    );
    assert_eq!(to_list(&json!("one")), Ok(vec![json!("one")]));
    assert_eq!(to_list(&json!("")), Ok(vec![]));
    assert_eq!(to_list(&json!(5)), Ok(vec![json!(5)]));
    assert_eq!(
        to_list(&json!({"a": 1})).unwrap_err(),
        "<class 'dict'> cannot be converted to a list"
    );
}

#[test]
fn dicts_come_from_json_strings_and_key_value_strings() {
    let dict = |v: Value| to_dict(&v).map(Value::Object);
    assert_eq!(dict(json!({"a": 1})), Ok(json!({"a": 1})));
    assert_eq!(dict(json!("{\"a\": [1, 2]}")), Ok(json!({"a": [1, 2]})));
    assert_eq!(dict(json!("a=1, b=two")), Ok(json!({"a": "1", "b": "two"})));
    assert_eq!(
        dict(json!("a=1 b='x y' c=\"p=q\"")),
        Ok(json!({"a": "1", "b": "x y", "c": "p=q"}))
    );
    assert_eq!(dict(json!("a=x\\,y")), Ok(json!({"a": "x,y"})));
}

#[test]
fn dicts_refuse_what_ansible_refuses_with_its_words() {
    assert_eq!(
        to_dict(&json!("{not json")).unwrap_err(),
        "unable to evaluate string as dictionary"
    );
    assert_eq!(
        to_dict(&json!("[1]")).unwrap_err(),
        "dictionary requested, could not parse JSON or key=value"
    );
    assert_eq!(
        to_dict(&json!("a=1, b")).unwrap_err(),
        "unable to evaluate string in the \"key=value\" format as dictionary"
    );
    assert_eq!(
        to_dict(&json!(3)).unwrap_err(),
        "<class 'int'> cannot be converted to a dict"
    );
}

#[test]
fn choices_match_numbers_given_as_strings_and_a_yaml_boolean_to_its_word() {
    let words = [json!("yes"), json!("no"), json!("auto")];
    assert_eq!(to_choice(&json!(true), &words), Some(json!("yes")));
    assert_eq!(to_choice(&json!(false), &words), Some(json!("no")));
    assert_eq!(to_choice(&json!("auto"), &words), Some(json!("auto")));
    assert_eq!(to_choice(&json!("Auto"), &words), None);
    let numbers = [json!(1), json!(2)];
    assert_eq!(to_choice(&json!("2"), &numbers), Some(json!(2)));
    assert_eq!(to_choice(&json!(3), &numbers), None);
    assert_eq!(to_choice(&json!(8), &[json!("8")]), Some(json!("8")));
}

#[test]
fn python_names_and_reprs_match_ansibles_messages() {
    assert_eq!(type_name(&json!("x")), "str");
    assert_eq!(type_name(&json!(1)), "int");
    assert_eq!(type_name(&json!(1.5)), "float");
    assert_eq!(type_name(&json!(null)), "NoneType");
    assert_eq!(python_repr(&json!("it's")), "\"it's\"");
    assert_eq!(
        python_repr(&json!({"a": [true, null]})),
        "{'a': [True, None]}"
    );
}
