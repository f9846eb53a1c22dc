//! The report files software_inventory writes into `report_dir`, one job at a time as the jobs
//! are read, so that a large cluster's rows never all sit in memory: software-inventory.json
//! (the jobs, as the module returns them without `report_dir`), .csv (a row per instance and
//! per cron template, RFC 4180 by the csv crate) and .html (report.html, self-contained, with
//! the inventory embedded as JSON and rendered by its script). Each file is written beside its
//! final name (tempfile) and renamed over it only once whole: a reader never sees half a report.

use std::fs::{self, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tempfile::NamedTempFile;

use crate::ansible::Failure;

use super::{Deviation, InventoryRow};

pub const JSON_FILE: &str = "software-inventory.json";
pub const CSV_FILE: &str = "software-inventory.csv";
pub const HTML_FILE: &str = "software-inventory.html";

/// The page, with `{{scheduler_url}}`, `{{read_at}}`, `{{scope}}` and `{{inventory}}` to fill.
const PAGE: &str = include_str!("report.html");
const INVENTORY_MARK: &str = "{{inventory}}";

const CSV_HEADER: [&str; 11] = [
    "job",
    "kind",
    "project",
    "instance",
    "status",
    "host",
    "version",
    "version_source",
    "fingerprint",
    "mixed_versions",
    "deviations",
];

/// What the page's heading says besides the inventory.
pub struct PageHeading<'a> {
    pub scheduler_url: &'a str,
    /// When the jobs were read, `YYYY-MM-DD HH:MM:SS` (UTC).
    pub read_at: &'a str,
    /// The roles reported; every role when empty.
    pub roles: &'a [String],
}

/// Where the files went.
#[derive(Debug, Serialize)]
pub struct ReportPaths {
    pub json: PathBuf,
    pub csv: PathBuf,
    pub html: PathBuf,
}

impl ReportPaths {
    /// The files' paths in `dir`.
    pub fn in_dir(dir: &Path) -> ReportPaths {
        ReportPaths {
            json: dir.join(JSON_FILE),
            csv: dir.join(CSV_FILE),
            html: dir.join(HTML_FILE),
        }
    }
}

/// The three files being written; `finish` puts them in place.
pub struct Report {
    json: Staged,
    csv: csv::Writer<Staged>,
    html: Staged,
    html_tail: &'static str,
    rows: usize,
    /// One row serialised, reused.
    buffer: Vec<u8>,
}

impl Report {
    /// Creates `dir` when missing and starts the three files beside their final names.
    pub fn start(dir: &Path, heading: &PageHeading) -> Result<Report, Failure> {
        fs::create_dir_all(dir).map_err(|e| {
            Failure::new(format!("report_dir: cannot create {}: {e}", dir.display()))
        })?;
        let mut json = Staged::new(dir, JSON_FILE)?;
        let csv_file = Staged::new(dir, CSV_FILE)?;
        let mut html = Staged::new(dir, HTML_FILE)?;
        // report.html has the mark (a test says so).
        let (head, tail) = PAGE.split_once(INVENTORY_MARK).unwrap_or((PAGE, ""));
        let scope = if heading.roles.is_empty() {
            "every role".to_string()
        } else {
            format!("roles {}", heading.roles.join(", "))
        };
        let head = head
            .replace("{{scheduler_url}}", &html_text(heading.scheduler_url))
            .replace("{{read_at}}", &html_text(heading.read_at))
            .replace("{{scope}}", &html_text(&scope));
        html.put(head.as_bytes())?;
        html.put(b"[")?;
        json.put(b"[")?;
        let mut csv = csv::Writer::from_writer(csv_file);
        csv.write_record(CSV_HEADER)
            .map_err(|e| write_error(CSV_FILE, e))?;
        Ok(Report {
            json,
            csv,
            html,
            html_tail: tail,
            rows: 0,
            buffer: Vec::new(),
        })
    }

    /// Adds one job to the three files.
    pub fn add(&mut self, row: &InventoryRow) -> Result<(), Failure> {
        let separator: &[u8] = if self.rows == 0 { b"\n  " } else { b",\n  " };
        self.rows += 1;

        // Pretty, each row indented as an element of the top-level list: JSON text has no raw
        // line break inside a string, so every line break is the formatter's.
        self.buffer.clear();
        serde_json::to_writer_pretty(&mut self.buffer, row)
            .map_err(|e| write_error(JSON_FILE, e))?;
        self.json.put(separator)?;
        for (at, line) in self.buffer.split(|b| *b == b'\n').enumerate() {
            if at > 0 {
                self.json.put(b"\n  ")?;
            }
            self.json.put(line)?;
        }

        // Compact in the page, `<` escaped so that no text in it can close the script element.
        self.buffer.clear();
        serde_json::to_writer(&mut self.buffer, row).map_err(|e| write_error(HTML_FILE, e))?;
        if self.rows > 1 {
            self.html.put(b",")?;
        }
        for (at, part) in self.buffer.split(|b| *b == b'<').enumerate() {
            if at > 0 {
                self.html.put(b"\\u003c")?;
            }
            self.html.put(part)?;
        }

        write_csv(&mut self.csv, row).map_err(|e| write_error(CSV_FILE, e))
    }

    /// Ends the three files and renames each over its final name.
    pub fn finish(mut self) -> Result<ReportPaths, Failure> {
        let end: &[u8] = if self.rows == 0 { b"]\n" } else { b"\n]\n" };
        self.json.put(end)?;
        self.html.put(b"]")?;
        self.html.put(self.html_tail.as_bytes())?;
        let csv = self
            .csv
            .into_inner()
            .map_err(|e| write_error(CSV_FILE, e.into_error()))?;
        Ok(ReportPaths {
            json: self.json.commit()?,
            csv: csv.commit()?,
            html: self.html.commit()?,
        })
    }
}

/// The CSV rows of one job: one per active instance, then one for a cron job's template (its
/// instance `template`, its status `TEMPLATE`); a job with neither has one row without an
/// instance. Each row names the deviations of its instance, `rule: detail; ...`.
fn write_csv<W: Write>(out: &mut csv::Writer<W>, row: &InventoryRow) -> csv::Result<()> {
    let deviations = |of: &dyn Fn(&Deviation) -> bool| {
        row.deviations
            .iter()
            .filter(|d| of(d))
            .map(|d| format!("{}: {}", d.rule, d.detail))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mixed = if row.mixed_versions { "true" } else { "false" };
    let mut record = |instance: &str,
                      status: &str,
                      host: Option<&str>,
                      version: &str,
                      source: &str,
                      fingerprint: &str,
                      broken: &str| {
        out.write_record([
            row.job.as_str(),
            row.kind,
            row.project.as_str(),
            instance,
            status,
            host.unwrap_or_default(),
            version,
            source,
            fingerprint,
            mixed,
            broken,
        ])
    };
    for instance in &row.instances {
        let broken = if row.deviations.is_empty() {
            String::new()
        } else {
            deviations(&|d| !d.template && d.instances.contains(&instance.id))
        };
        record(
            &instance.id.to_string(),
            instance.status.name().unwrap_or_default(),
            instance.host,
            instance.version,
            instance.version_source.as_str(),
            instance.fingerprint,
            &broken,
        )?;
    }
    if let Some(template) = &row.template {
        record(
            "template",
            "TEMPLATE",
            None,
            &template.version,
            template.version_source.as_str(),
            &template.fingerprint,
            &deviations(&|d| d.template),
        )?;
    }
    if row.instances.is_empty() && row.template.is_none() {
        record("", "", None, "", "", "", "")?;
    }
    Ok(())
}

/// Text for HTML, its markup characters escaped.
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn write_error(file: &str, error: impl std::fmt::Display) -> Failure {
    Failure::new(format!("report_dir: cannot write {file}: {error}"))
}

/// A file being written beside its final name.
struct Staged {
    out: BufWriter<NamedTempFile>,
    target: PathBuf,
}

impl Staged {
    fn new(dir: &Path, name: &str) -> Result<Staged, Failure> {
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .tempfile_in(dir)
            .map_err(|e| {
                Failure::new(format!(
                    "report_dir: cannot write into {}: {e}",
                    dir.display()
                ))
            })?;
        Ok(Staged {
            out: BufWriter::with_capacity(1 << 16, file),
            target: dir.join(name),
        })
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.out.write_all(bytes).map_err(|e| self.error(e))
    }

    fn error(&self, error: io::Error) -> Failure {
        Failure::new(format!(
            "report_dir: cannot write {}: {error}",
            self.target.display()
        ))
    }

    /// Flushed, synced, readable by all (as the files Ansible's copy writes), renamed over the
    /// final name.
    fn commit(self) -> Result<PathBuf, Failure> {
        let target = self.target;
        let failed = |e: io::Error| {
            Failure::new(format!(
                "report_dir: cannot write {}: {e}",
                target.display()
            ))
        };
        let file = self.out.into_inner().map_err(|e| failed(e.into_error()))?;
        file.as_file()
            .set_permissions(Permissions::from_mode(0o644))
            .map_err(failed)?;
        file.as_file().sync_all().map_err(failed)?;
        file.persist(&target).map_err(|e| failed(e.error))?;
        Ok(target)
    }
}

impl Write for Staged {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.out.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{json, Value};

    use super::super::tests::{config, cron_job, running};
    use super::super::{inventory_row, running_job};
    use super::*;
    use crate::api::types::{JobConfiguration, JobKey, JobSummary};
    use crate::modules::job_info::ListedJob;
    use crate::modules::software_inventory::{check, Policy};

    const HEADING: PageHeading = PageHeading {
        scheduler_url: "http://aurora.example.com:8081/?a=1&b=<2>",
        read_at: "2026-12-05 03:00:00",
        roles: &[],
    };

    /// Writes a report of the cron job of the module's tests (its newer instance deviating
    /// from a policy that requires team metadata) and of a job with nothing running; returns
    /// the rows as JSON.
    fn write_report(dir: &Path) -> Vec<Value> {
        let policy = Policy::from_option(
            &serde_json::from_value(json!({"required_metadata": ["team"]})).unwrap(),
        )
        .unwrap();
        let (key, summary, tasks) = cron_job();
        let idle_key = JobKey::new("ml", "devel", "idle</script>");
        let idle_summary = JobSummary {
            job: Some(JobConfiguration {
                key: Some(idle_key.clone()),
                ..JobConfiguration::default()
            }),
            ..JobSummary::default()
        };
        let pending = BTreeMap::new();
        let jobs = [
            ListedJob::of(&key, &summary, tasks, &pending),
            ListedJob::of(&idle_key, &idle_summary, Vec::new(), &pending),
        ];
        let mut report = Report::start(dir, &HEADING).unwrap();
        let mut rows = Vec::new();
        for job in &jobs {
            let template = job.template();
            let running = running_job(job, template.as_ref());
            let found = check(&policy, &running);
            let row = inventory_row(job, template, &running, found);
            report.add(&row).unwrap();
            rows.push(serde_json::to_value(&row).unwrap());
        }
        let paths = report.finish().unwrap();
        assert_eq!(paths.json, dir.join(JSON_FILE));
        rows
    }

    #[test]
    fn the_json_file_lists_the_rows_the_module_would_return() {
        let dir = tempfile::tempdir().unwrap();
        let rows = write_report(dir.path());
        let text = fs::read_to_string(dir.path().join(JSON_FILE)).unwrap();
        let listed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(listed, Value::Array(rows));
        assert!(
            text.starts_with("[\n  {\n    \"job\": \"fraud/prod/retrain\""),
            "{text}"
        );
    }

    #[test]
    fn the_csv_file_has_a_row_per_instance_and_template_with_their_deviations() {
        let dir = tempfile::tempdir().unwrap();
        write_report(dir.path());
        let mut reader = csv::Reader::from_path(dir.path().join(CSV_FILE)).unwrap();
        assert_eq!(reader.headers().unwrap(), CSV_HEADER.as_slice());
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        let fields = |at: usize, picked: &[usize]| -> Vec<&str> {
            picked.iter().map(|p| rows[at][*p].as_str()).collect()
        };
        assert_eq!(rows.len(), 4);
        // job, instance, status, host, version, mixed, deviations
        let picked = [0, 3, 4, 5, 6, 9, 10];
        assert_eq!(
            fields(0, &picked),
            [
                "fraud/prod/retrain",
                "0",
                "RUNNING",
                "h1",
                "1.0.0",
                "true",
                ""
            ]
        );
        assert_eq!(
            fields(1, &picked),
            [
                "fraud/prod/retrain",
                "1",
                "RUNNING",
                "h2",
                "1.1.0",
                "true",
                "missing_metadata: missing metadata: team"
            ]
        );
        assert_eq!(
            fields(2, &picked),
            [
                "fraud/prod/retrain",
                "template",
                "TEMPLATE",
                "",
                "1.1.0",
                "true",
                "missing_metadata: missing metadata: team"
            ]
        );
        assert_eq!(
            fields(3, &picked),
            ["ml/devel/idle</script>", "", "", "", "", "false", ""]
        );
    }

    #[test]
    fn the_page_embeds_the_rows_and_escapes_what_could_end_its_script() {
        let dir = tempfile::tempdir().unwrap();
        let rows = write_report(dir.path());
        let page = fs::read_to_string(dir.path().join(HTML_FILE)).unwrap();
        let start = r#"<script id="inventory" type="application/json">"#;
        let embedded = page.split(start).nth(1).unwrap();
        let embedded = &embedded[..embedded.find("</script>").unwrap()];
        let parsed: Value = serde_json::from_str(embedded).unwrap();
        assert_eq!(parsed, Value::Array(rows));
        assert!(embedded.contains(r"idle\u003c/script>"), "{embedded}");
        assert!(page.contains(
            "<code>http://aurora.example.com:8081/?a=1&amp;b=&lt;2&gt;</code>, read \
             2026-12-05 03:00:00 UTC, every role."
        ));
        assert!(!page.contains("{{"), "a placeholder is left");
        assert!(page.trim_end().ends_with("</html>"));
    }

    #[test]
    fn files_are_replaced_only_when_whole_and_nothing_else_is_left() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(JSON_FILE), "old").unwrap();
        let key = JobKey::new("ml", "prod", "scorer");
        let summary = JobSummary {
            job: Some(JobConfiguration {
                key: Some(key.clone()),
                ..JobConfiguration::default()
            }),
            ..JobSummary::default()
        };
        let pending = BTreeMap::new();
        let tasks = vec![running(&config(&key, &[("version", "2.0")]), 0, "h1")];
        let job = ListedJob::of(&key, &summary, tasks, &pending);
        let running = running_job(&job, None);
        let mut report = Report::start(dir.path(), &HEADING).unwrap();
        report
            .add(&inventory_row(&job, None, &running, Vec::new()))
            .unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join(JSON_FILE)).unwrap(),
            "old"
        );
        assert!(!dir.path().join(CSV_FILE).exists());
        report.finish().unwrap();
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [CSV_FILE, HTML_FILE, JSON_FILE]);
        let mode = fs::metadata(dir.path().join(HTML_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn a_report_dir_that_cannot_be_made_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("file");
        fs::write(&blocked, "").unwrap();
        let failure = Report::start(&blocked.join("report"), &HEADING)
            .err()
            .unwrap();
        assert!(
            failure.msg().starts_with("report_dir: cannot create"),
            "{}",
            failure.msg()
        );
    }

    #[test]
    fn an_empty_inventory_is_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        Report::start(dir.path(), &HEADING)
            .unwrap()
            .finish()
            .unwrap();
        let text = fs::read_to_string(dir.path().join(JSON_FILE)).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!([]));
        let page = fs::read_to_string(dir.path().join(HTML_FILE)).unwrap();
        assert!(page.contains(r#"type="application/json">[]</script>"#));
    }

    #[test]
    fn the_page_has_the_place_of_the_inventory_once() {
        assert_eq!(PAGE.matches(INVENTORY_MARK).count(), 1);
    }
}
