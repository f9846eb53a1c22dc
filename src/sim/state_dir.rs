//! aurora-sim's `--state-dir`: the scheduler's state kept across a restart or a failover, as
//! Aurora's leader recovers its state from the replicated log.
//!
//! The simulator's state follows entirely from the calls it accepted, the coordinator answers it
//! applied and virtual time (`Scheduler::advance` gives the same history whatever the spacing of
//! its calls), so the directory holds a log of those inputs rather than a snapshot of the
//! structures: `calls.log`, a start record (the seed of the scheduler's ids and the virtual time
//! it started at) then one record per write call as received (its Thrift body, the user and
//! its virtual time), per coordinator answer, and per time mark (virtual time reached, so that a
//! restarted clock never goes backwards). Each record is appended and fsynced before the reply
//! is sent: an acknowledged write is never lost. Reads are not logged.
//!
//! A record is framed as `len: u32 LE | crc32(len bytes): u32 LE | crc32(payload): u32 LE |
//! payload`. Only the last append can be torn by a crash (each append is synced before the
//! next); a frame that is short, or whose checksum fails with nothing after it, or a tail of
//! zeros (what some file systems leave of unsynced blocks) is such a torn tail: it is cut off and
//! reported, and the start goes on. Any other bad frame is corruption: opening fails naming the
//! file and the byte offset, and nothing is written. The file is locked while a simulator uses it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::api::codec::{self, Encoding, Incoming};
use crate::api::methods::{Call, Effect, EFFECTS};
use crate::sim::config::SimConfig;
use crate::sim::ids::Ids;
use crate::sim::scheduler::{CoordinatorAnswer, Scheduler};

/// The log's file name inside the state dir.
pub const LOG_FILE: &str = "calls.log";
const FRAME_HEADER_BYTES: usize = 12;
/// Above any call the server accepts (16 MiB bodies) with its user and time.
const MAX_PAYLOAD_BYTES: u32 = 32 * 1024 * 1024;

const START: u8 = 0;
const CALL: u8 = 1;
const ANSWER: u8 = 2;
const TIME: u8 = 3;

/// One logged input, with the virtual time it was applied at.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// The first record: the ids' seed and the virtual time the scheduler started at.
    Start { seed: u64, at_ms: i64 },
    /// A write call as received.
    Call {
        at_ms: i64,
        user: String,
        encoding: Encoding,
        body: Vec<u8>,
    },
    /// A coordinator's answer about draining a task.
    Answer(CoordinatorAnswer),
    /// Virtual time reached, with nothing else to record.
    Time { at_ms: i64 },
}

impl Record {
    pub fn at_ms(&self) -> i64 {
        match self {
            Record::Start { at_ms, .. } | Record::Call { at_ms, .. } | Record::Time { at_ms } => {
                *at_ms
            }
            Record::Answer(answer) => answer.at_ms,
        }
    }

    fn payload(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let kind = match self {
            Record::Start { .. } => START,
            Record::Call { .. } => CALL,
            Record::Answer(_) => ANSWER,
            Record::Time { .. } => TIME,
        };
        out.push(kind);
        out.extend_from_slice(&self.at_ms().to_le_bytes());
        match self {
            Record::Start { seed, .. } => out.extend_from_slice(&seed.to_le_bytes()),
            Record::Call {
                user,
                encoding,
                body,
                ..
            } => {
                out.push(match encoding {
                    Encoding::Json => 0,
                    Encoding::Binary => 1,
                });
                out.extend_from_slice(&(user.len() as u32).to_le_bytes());
                out.extend_from_slice(user.as_bytes());
                out.extend_from_slice(body);
            }
            Record::Answer(answer) => {
                out.push(u8::from(answer.allows));
                out.extend_from_slice(answer.task_id.as_bytes());
            }
            Record::Time { .. } => {}
        }
        out
    }

    fn parse(payload: &[u8]) -> Result<Record, String> {
        let mut r = Reader(payload);
        let kind = r.take(1)?[0];
        let at_ms = i64::from_le_bytes(r.array()?);
        let record = match kind {
            START => Record::Start {
                seed: u64::from_le_bytes(r.array()?),
                at_ms,
            },
            CALL => {
                let encoding = match r.take(1)?[0] {
                    0 => Encoding::Json,
                    1 => Encoding::Binary,
                    other => return Err(format!("unknown encoding {other}")),
                };
                let user_len = u32::from_le_bytes(r.array()?) as usize;
                let user = String::from_utf8(r.take(user_len)?.to_vec())
                    .map_err(|_| "the user is not UTF-8".to_string())?;
                Record::Call {
                    at_ms,
                    user,
                    encoding,
                    body: r.rest().to_vec(),
                }
            }
            ANSWER => {
                let allows = r.take(1)?[0] != 0;
                let task_id = String::from_utf8(r.rest().to_vec())
                    .map_err(|_| "the task id is not UTF-8".to_string())?;
                Record::Answer(CoordinatorAnswer {
                    at_ms,
                    task_id,
                    allows,
                })
            }
            TIME => Record::Time { at_ms },
            other => return Err(format!("unknown record kind {other}")),
        };
        if !r.0.is_empty() {
            return Err(format!("{} bytes after the record", r.0.len()));
        }
        Ok(record)
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("the record ends early".into());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

/// A record framed for the log.
pub fn frame(record: &Record) -> Vec<u8> {
    let payload = record.payload();
    let len = (payload.len() as u32).to_le_bytes();
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc32fast::hash(&len).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// What reading a log found.
#[derive(Debug, PartialEq)]
pub struct Parsed {
    /// Each whole record with its byte offset.
    pub records: Vec<(u64, Record)>,
    /// Where a torn last record starts, if there is one; every byte from there on is dropped.
    pub torn_at: Option<u64>,
}

/// Reads framed records; `Err` names the offset of a corrupt record (one with more after it).
pub fn parse_log(bytes: &[u8]) -> Result<Parsed, (u64, String)> {
    let mut records = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        match read_frame(&bytes[offset..]) {
            Frame::Whole { payload, size } => {
                let record = Record::parse(payload).map_err(|e| (offset as u64, e))?;
                records.push((offset as u64, record));
                offset += size;
            }
            Frame::Torn => {
                return Ok(Parsed {
                    records,
                    torn_at: Some(offset as u64),
                })
            }
            Frame::Corrupt(why) => return Err((offset as u64, why)),
        }
    }
    Ok(Parsed {
        records,
        torn_at: None,
    })
}

enum Frame<'a> {
    Whole { payload: &'a [u8], size: usize },
    Torn,
    Corrupt(String),
}

/// The frame at the start of `rest` (which runs to the end of the log).
fn read_frame(rest: &[u8]) -> Frame<'_> {
    if rest.len() < FRAME_HEADER_BYTES {
        return Frame::Torn;
    }
    let word = |i: usize| {
        let mut w = [0; 4];
        w.copy_from_slice(&rest[i..i + 4]);
        w
    };
    let len_bytes = word(0);
    if u32::from_le_bytes(word(4)) != crc32fast::hash(&len_bytes) {
        if rest.iter().all(|b| *b == 0) {
            return Frame::Torn;
        }
        return Frame::Corrupt("the record's length is damaged".into());
    }
    let len = u32::from_le_bytes(len_bytes);
    if len > MAX_PAYLOAD_BYTES {
        return Frame::Corrupt(format!("the record claims {len} bytes"));
    }
    let size = FRAME_HEADER_BYTES + len as usize;
    if rest.len() < size {
        return Frame::Torn;
    }
    let payload = &rest[FRAME_HEADER_BYTES..size];
    if u32::from_le_bytes(word(8)) != crc32fast::hash(payload) {
        if rest.len() == size {
            return Frame::Torn;
        }
        return Frame::Corrupt("the record's checksum does not match".into());
    }
    Frame::Whole { payload, size }
}

/// Whether a call changes the scheduler's state, and so is logged (api::methods's table).
pub fn is_logged(call: &Call) -> bool {
    EFFECTS
        .iter()
        .any(|(name, effect)| *name == call.name() && *effect == Effect::Write)
}

/// A torn last record that opening cut off.
#[derive(Clone, Debug, PartialEq)]
pub struct TornTail {
    pub offset: u64,
    pub bytes: u64,
}

/// An open, locked state dir.
#[derive(Debug)]
pub struct StateDir {
    log_path: PathBuf,
    file: File,
    /// Records read at open, until `recover` replays them.
    unreplayed: Vec<(u64, Record)>,
    torn: Option<TornTail>,
    last_ms: Option<i64>,
}

impl StateDir {
    /// Opens (creating) `dir`, locks its log and reads it; a torn last record is cut off (see
    /// `torn_tail`), a corrupt one fails naming the file and the offset.
    pub fn open(dir: &Path) -> anyhow::Result<StateDir> {
        Self::open_waiting(dir, std::time::Duration::ZERO)
    }

    /// [`StateDir::open`], waiting up to `wait` for another simulator to let go of the log: a
    /// new leader in ZooKeeper takes over the log of the one that stopped.
    pub fn open_waiting(dir: &Path, wait: std::time::Duration) -> anyhow::Result<StateDir> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the state dir {}", dir.display()))?;
        let log_path = dir.join(LOG_FILE);
        let existed = log_path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let deadline = std::time::Instant::now() + wait;
        while file.try_lock().is_err() {
            if std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(100));
                continue;
            }
            bail!(
                "{} is in use by another aurora-sim: give each simulator its own --state-dir",
                log_path.display()
            );
        }
        if !existed {
            // The new file's name is durable too.
            File::open(dir).and_then(|d| d.sync_all())?;
        }
        let bytes = std::fs::read(&log_path)
            .with_context(|| format!("cannot read {}", log_path.display()))?;
        let parsed = parse_log(&bytes).map_err(|(offset, why)| {
            anyhow::anyhow!(
                "{} is corrupt at byte offset {offset}: {why}; it was left as it is (move it away to start afresh)",
                log_path.display()
            )
        })?;
        let torn = parsed.torn_at.map(|offset| TornTail {
            offset,
            bytes: bytes.len() as u64 - offset,
        });
        if let Some(t) = &torn {
            file.set_len(t.offset)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot cut the torn tail of {}", log_path.display()))?;
        }
        let last_ms = parsed.records.iter().map(|(_, r)| r.at_ms()).max();
        file.flush()?;
        Ok(StateDir {
            log_path,
            file,
            unreplayed: parsed.records,
            torn,
            last_ms,
        })
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The torn last record cut off at open, if any.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn.as_ref()
    }

    /// The latest virtual time recorded: a restarted clock starts no earlier.
    pub fn last_ms(&self) -> Option<i64> {
        self.last_ms
    }

    /// How many records open found.
    pub fn records(&self) -> usize {
        self.unreplayed.len()
    }

    /// The scheduler the log describes, run up to `now_ms`; an empty log is started at `now_ms`
    /// with a fresh seed.
    pub fn recover(&mut self, config: &SimConfig, now_ms: i64) -> anyhow::Result<Scheduler> {
        let records = std::mem::take(&mut self.unreplayed);
        let Some((_, Record::Start { seed, at_ms })) = records.first().cloned() else {
            if let Some((offset, _)) = records.first() {
                bail!(
                    "{} does not begin with a start record (byte offset {offset})",
                    self.log_path.display()
                );
            }
            let seed = Ids::fresh_seed();
            self.append(&Record::Start {
                seed,
                at_ms: now_ms,
            })?;
            let mut scheduler = Scheduler::seeded(config, seed)?;
            scheduler.advance(now_ms);
            return Ok(scheduler);
        };
        let mut scheduler = Scheduler::seeded(config, seed)?;
        scheduler.set_replaying(true);
        scheduler.advance(at_ms);
        for (offset, record) in &records[1..] {
            let bad = |why: String| {
                anyhow::anyhow!("{} at byte offset {offset}: {why}", self.log_path.display())
            };
            match record {
                Record::Start { .. } => return Err(bad("a second start record".into())),
                Record::Call {
                    at_ms,
                    user,
                    encoding,
                    body,
                } => match codec::decode_call(*encoding, body) {
                    Ok(Incoming::Call { call, .. }) => {
                        scheduler.handle(*call, user, *at_ms);
                    }
                    Ok(Incoming::Refused { error, .. }) => {
                        return Err(bad(format!("the call cannot be read: {}", error.message)))
                    }
                    Err(e) => {
                        return Err(bad(format!(
                            "the call cannot be read: {}",
                            codec::describe(&e)
                        )))
                    }
                },
                Record::Answer(answer) => scheduler.replay_coordinator_answer(answer),
                Record::Time { at_ms } => scheduler.advance(*at_ms),
            }
        }
        scheduler.set_replaying(false);
        scheduler.advance(now_ms);
        Ok(scheduler)
    }

    /// Appends a write call the scheduler has just accepted at `at_ms` (see `is_logged`), and
    /// syncs it.
    pub fn record_call(
        &mut self,
        at_ms: i64,
        user: &str,
        encoding: Encoding,
        body: &[u8],
    ) -> std::io::Result<()> {
        self.append(&Record::Call {
            at_ms,
            user: user.to_string(),
            encoding,
            body: body.to_vec(),
        })
    }

    /// Appends the coordinator answers the scheduler applied, and syncs them.
    pub fn record_answers(&mut self, answers: Vec<CoordinatorAnswer>) -> std::io::Result<()> {
        for answer in answers {
            self.append(&Record::Answer(answer))?;
        }
        Ok(())
    }

    /// Records that virtual time reached `at_ms`.
    pub fn record_time(&mut self, at_ms: i64) -> std::io::Result<()> {
        self.append(&Record::Time { at_ms })
    }

    fn append(&mut self, record: &Record) -> std::io::Result<()> {
        self.file.write_all(&frame(record))?;
        self.file.sync_data()?;
        self.last_ms = Some(self.last_ms.unwrap_or(i64::MIN).max(record.at_ms()));
        Ok(())
    }
}
