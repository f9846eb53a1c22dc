//! Each framework's load: given, or read from its `load_url` (an HTTP GET answering JSON, read
//! at `load_field`), the URLs asked at the same time, each within `load_timeout`. A load that
//! cannot be read is an answer too (why), never an error: that framework keeps its count.

use std::time::Duration;

use serde_json::Value;

use super::options::{FrameworkSettings, LoadSource};
use crate::modules::support::web::web_client;

/// URLs asked at once, at most.
const PARALLEL: usize = 16;

/// The load of each framework, in order: the figure, or why it could not be read.
pub fn read_loads(frameworks: &[FrameworkSettings], timeout: Duration) -> Vec<Result<f64, String>> {
    let mut loads: Vec<Result<f64, String>> = frameworks
        .iter()
        .map(|f| match &f.load {
            LoadSource::Given(load) => Ok(*load),
            LoadSource::Url { .. } => Err(String::new()),
        })
        .collect();
    let asked: Vec<(usize, &str, &str)> = frameworks
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match &f.load {
            LoadSource::Url { url, field } => Some((i, url.as_str(), field.as_str())),
            LoadSource::Given(_) => None,
        })
        .collect();
    if asked.is_empty() {
        return loads;
    }
    let http = match web_client("load_url", timeout) {
        Ok(http) => http,
        Err(failure) => {
            for (i, _, _) in asked {
                loads[i] = Err(failure.msg().to_string());
            }
            return loads;
        }
    };
    for chunk in asked.chunks(PARALLEL) {
        let answers: Vec<(usize, Result<f64, String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|&(i, url, field)| {
                    let http = &http;
                    scope.spawn(move || (i, read_one(http, url, field)))
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for (i, answer) in answers {
            loads[i] = answer;
        }
    }
    loads
}

fn read_one(http: &reqwest::blocking::Client, url: &str, field: &str) -> Result<f64, String> {
    let reply = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .map_err(|e| format!("{url} could not be reached: {}", error_chain(&e)))?;
    let status = reply.status();
    if !status.is_success() {
        return Err(format!("{url} answered HTTP {}", status.as_u16()));
    }
    let body = reply
        .text()
        .map_err(|e| format!("{url}: the answer could not be read: {}", error_chain(&e)))?;
    let document: Value =
        serde_json::from_str(&body).map_err(|e| format!("{url} did not answer JSON ({e})"))?;
    load_at(&document, field).map_err(|why| format!("{url}: {why}"))
}

/// The load at `field` (dots reach into nested objects): a number of 0 or more, or a string
/// holding one.
pub fn load_at(document: &Value, field: &str) -> Result<f64, String> {
    let mut value = document;
    for part in field.split('.') {
        value = value
            .get(part)
            .ok_or_else(|| format!("the answer has no field {field:?}"))?;
    }
    let load = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match load {
        Some(load) if load.is_finite() && load >= 0.0 => Ok(load),
        _ => Err(format!(
            "field {field:?} is {value}, not a load of 0 or more"
        )),
    }
}

/// reqwest's message and its causes (a timeout, a refused connection), without repeats.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_load_is_read_at_a_dotted_field() {
        let document = json!({"pending": 42, "queue": {"pending": "7.5"}, "bad": -1, "text": "x"});
        assert_eq!(load_at(&document, "pending"), Ok(42.0));
        assert_eq!(load_at(&document, "queue.pending"), Ok(7.5));
        for (field, why) in [
            ("missing", "has no field \"missing\""),
            ("queue.missing", "has no field"),
            ("bad", "-1, not a load"),
            ("text", "not a load"),
            ("queue", "not a load"),
        ] {
            let error = load_at(&document, field).unwrap_err();
            assert!(error.contains(why), "{field}: {error}");
        }
    }
}
