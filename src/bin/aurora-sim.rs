//! The `aurora-sim` executable: a simulated Aurora scheduler on a virtual clock.
//!
//! Prints the URL it serves on its first stdout line, logs to stderr, stops cleanly on SIGTERM/SIGINT.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use aurora_ansible::sim::announcer::AnnouncerFlags;
use aurora_ansible::sim::auth::Users;
use aurora_ansible::sim::clock::Clock;
use aurora_ansible::sim::config::{
    parse_duration, ClusterSpec, HostResources, SchedulerFlags, SimConfig,
};
use aurora_ansible::sim::election::{Election, ElectionConfig, DEFAULT_SESSION_TIMEOUT};
use aurora_ansible::sim::scheduler::Scheduler;
use aurora_ansible::sim::server::{
    serve_recorded, serve_seat, Leadership, Leading, Seat, ServerOptions,
};
use aurora_ansible::sim::state_dir::StateDir;

#[derive(Parser, Debug)]
#[command(
    name = "aurora-sim",
    version,
    about = "A simulator of the Apache Aurora scheduler that speaks its real wire protocol."
)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: String,
    /// Number of simulated hosts (named host-001...), with attributes `host` and `rack`.
    #[arg(long, default_value_t = 3, conflicts_with = "cluster_file")]
    hosts: usize,
    /// Number of racks the hosts are spread over (r1...rN, in contiguous blocks).
    #[arg(long, default_value_t = 1, conflicts_with = "cluster_file")]
    racks: usize,
    /// CPUs per generated host.
    #[arg(long, default_value_t = 8.0)]
    host_cpus: f64,
    /// RAM per generated host, MiB.
    #[arg(long, default_value_t = 16384)]
    host_ram_mb: i64,
    /// Disk per generated host, MiB.
    #[arg(long, default_value_t = 102400)]
    host_disk_mb: i64,
    /// Port range per generated host.
    #[arg(long, default_value = "31000-31999")]
    host_ports: String,
    /// YAML file naming the hosts, their resources and attributes (instead of --hosts/--racks).
    #[arg(long)]
    cluster_file: Option<PathBuf>,
    /// Seconds of scheduler time per real second.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// -cluster_name, reported in every reply.
    #[arg(long, default_value = "devcluster")]
    cluster_name: String,
    /// Act as a non-leading scheduler: answer 307 towards this leader URL.
    #[arg(long, conflicts_with = "no_leader")]
    redirect_to: Option<String>,
    /// Act as a scheduler with no known leader: answer 503.
    #[arg(long)]
    no_leader: bool,
    /// ZooKeeper ensemble, HOST:PORT[,HOST:PORT...] (-zk_endpoints): take part in the leader
    /// election under --zk-path; the leader advertises itself there, followers redirect to it.
    #[arg(long, requires = "zk_path", conflicts_with_all = ["redirect_to", "no_leader"])]
    zk: Option<String>,
    /// The scheduler's ServerSet path in ZooKeeper (-serverset_path), e.g. /aurora/scheduler.
    #[arg(long, requires = "zk")]
    zk_path: Option<String>,
    /// -zk_session_timeout (e.g. 4s); Aurora's default is 15s.
    #[arg(long, requires = "zk", value_parser = parse_duration)]
    zk_session_timeout: Option<Duration>,
    /// Shiro INI file of users and roles: turns on HTTP basic auth.
    #[arg(long)]
    users: Option<PathBuf>,
    /// -min_required_instances_for_sla_check.
    #[arg(long, default_value_t = 20)]
    min_required_instances_for_sla_check: i32,
    /// -sla_aware_kill_non_prod.
    #[arg(long)]
    sla_aware_kill_non_prod: bool,
    /// -max_sla_duration_secs.
    #[arg(long, default_value_t = 7200)]
    max_sla_duration_secs: i64,
    /// -max_tasks_per_job.
    #[arg(long, default_value_t = 4000)]
    max_tasks_per_job: i32,
    /// -max_update_instance_failures.
    #[arg(long, default_value_t = 20000)]
    max_update_instance_failures: i32,
    /// -allowed_job_environments.
    #[arg(long, default_value = r"^(prod|devel|test|staging\d*)$")]
    allowed_job_environments: String,
    /// Add DOCKER to -allowed_container_types.
    #[arg(long)]
    allow_docker: bool,
    /// -allow_docker_parameters.
    #[arg(long)]
    allow_docker_parameters: bool,
    /// -allow_gpu_resource.
    #[arg(long)]
    allow_gpu_resource: bool,
    /// -enable_mesos_fetcher.
    #[arg(long)]
    enable_mesos_fetcher: bool,
    /// -allow_container_volumes.
    #[arg(long)]
    allow_container_volumes: bool,
    /// -host_maintenance_polling_interval, in virtual time (e.g. 1m, 60s, 5s).
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    host_maintenance_polling_interval: Duration,
    /// -sla_coordinator_timeout, in real time (e.g. 1m, 10s).
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    sla_coordinator_timeout: Duration,
    /// Keep the scheduler's state in this directory (a log of accepted writes, replayed on
    /// start) so that it survives a restart; start with the same cluster options each time.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// The executors' announcer, as Aurora's thermos_executor flags of the same names:
    /// `--announcer-ensemble HOST:PORT,...` announces every RUNNING task with `announce` there.
    #[command(flatten)]
    announcer: AnnouncerArgs,
}

/// Aurora's thermos_executor `--announcer-*` flags, for every simulated host.
#[derive(clap::Args, Debug)]
struct AnnouncerArgs {
    /// The ensemble to which the announcer registers ServerSets (off when not given).
    #[arg(long)]
    announcer_ensemble: Option<String>,
    /// The root under which ServerSets are announced, as ROOT/ROLE/ENVIRONMENT/JOB.
    #[arg(long, default_value = "/aurora", requires = "announcer_ensemble")]
    announcer_serverset_path: String,
    /// Honour a job's announce.zk_path instead of the path above.
    #[arg(long, requires = "announcer_ensemble")]
    announcer_allow_custom_serverset_path: bool,
    /// The host name announced instead of each agent's.
    #[arg(long, requires = "announcer_ensemble")]
    announcer_hostname: Option<String>,
}

impl AnnouncerArgs {
    fn flags(&self) -> anyhow::Result<Option<AnnouncerFlags>> {
        let Some(ensemble) = &self.announcer_ensemble else {
            return Ok(None);
        };
        if !self.announcer_serverset_path.starts_with('/') {
            anyhow::bail!("--announcer-serverset-path must be an absolute ZooKeeper path");
        }
        Ok(Some(AnnouncerFlags {
            ensemble: ensemble.clone(),
            serverset_path: self.announcer_serverset_path.clone(),
            allow_custom_serverset_path: self.announcer_allow_custom_serverset_path,
            hostname: self.announcer_hostname.clone(),
        }))
    }
}

impl Args {
    fn config(&self) -> anyhow::Result<SimConfig> {
        if !(self.time_scale > 0.0 && self.time_scale.is_finite()) {
            anyhow::bail!("--time-scale must be a positive number");
        }
        if self.host_maintenance_polling_interval.is_zero() {
            anyhow::bail!("--host-maintenance-polling-interval must be longer than 0");
        }
        if self.sla_coordinator_timeout.is_zero() {
            anyhow::bail!("--sla-coordinator-timeout must be longer than 0");
        }
        regex::Regex::new(&self.allowed_job_environments)
            .map_err(|e| anyhow::anyhow!("--allowed-job-environments is not a valid regex: {e}"))?;
        let cluster = match &self.cluster_file {
            Some(path) => ClusterSpec::load(path)?,
            None => ClusterSpec::generated(
                self.hosts,
                self.racks,
                &HostResources {
                    cpus: self.host_cpus,
                    ram_mb: self.host_ram_mb,
                    disk_mb: self.host_disk_mb,
                    gpus: 0,
                    ports: self.host_ports.clone(),
                },
            )?,
        };
        let mut config = SimConfig::new(cluster);
        config.cluster_name = self.cluster_name.clone();
        config.flags = SchedulerFlags {
            max_tasks_per_job: self.max_tasks_per_job,
            allowed_job_environments: self.allowed_job_environments.clone(),
            allow_docker: self.allow_docker,
            allow_docker_parameters: self.allow_docker_parameters,
            allow_gpu_resource: self.allow_gpu_resource,
            enable_mesos_fetcher: self.enable_mesos_fetcher,
            allow_container_volumes: self.allow_container_volumes,
            min_required_instances_for_sla_check: self.min_required_instances_for_sla_check,
            sla_aware_kill_non_prod: self.sla_aware_kill_non_prod,
            max_sla_duration_secs: self.max_sla_duration_secs,
            max_update_instance_failures: self.max_update_instance_failures,
            host_maintenance_polling_interval: self.host_maintenance_polling_interval,
            sla_coordinator_timeout: self.sla_coordinator_timeout,
        };
        Ok(config)
    }

    fn options(&self) -> anyhow::Result<ServerOptions> {
        let leadership = match (&self.redirect_to, self.no_leader) {
            (Some(url), _) => Leadership::RedirectTo(url.clone()),
            (None, true) => Leadership::NoLeader,
            (None, false) => Leadership::Leader,
        };
        let users = self.users.as_deref().map(Users::load).transpose()?;
        Ok(ServerOptions {
            leadership,
            users,
            announcer: self.announcer.flags()?,
        })
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aurora-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let config = args.config()?;
    let options = args.options()?;
    if let Some(zk) = &args.zk {
        return run_in_zookeeper(args, zk, config, options);
    }
    let Leading {
        scheduler,
        clock,
        state_dir,
    } = recover(
        args.state_dir.as_deref(),
        &config,
        args.time_scale,
        Duration::ZERO,
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (listener, addr) = listen(&args.listen).await?;
        eprintln!(
            "aurora-sim: cluster {} with {} hosts, {}x virtual time, serving on http://{addr}",
            config.cluster_name,
            config.cluster.hosts.len(),
            args.time_scale
        );
        serve_recorded(
            listener,
            scheduler,
            clock,
            options,
            state_dir,
            shutdown_signal(),
        )
        .await?;
        eprintln!("aurora-sim: stopped");
        Ok(())
    })
}

// --- aurora-sim in ZooKeeper (--zk): leadership from the election, sim::election.

/// Serves as a candidate in ZooKeeper until SIGTERM/SIGINT (it leaves the election first) or until
/// it loses leadership, when it stops with a failure as Aurora's scheduler does.
fn run_in_zookeeper(
    args: &Args,
    zk: &str,
    config: SimConfig,
    options: ServerOptions,
) -> anyhow::Result<()> {
    let path = args.zk_path.clone().unwrap_or_default();
    if !path.starts_with('/') || path.len() < 2 {
        anyhow::bail!("--zk-path must be an absolute ZooKeeper path such as /aurora/scheduler");
    }
    let session_timeout = args.zk_session_timeout.unwrap_or(DEFAULT_SESSION_TIMEOUT);
    if session_timeout.is_zero() {
        anyhow::bail!("--zk-session-timeout must be longer than 0");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (listener, addr) = listen(&args.listen).await?;
        eprintln!(
            "aurora-sim: cluster {} with {} hosts, {}x virtual time, serving on http://{addr}, \
             a candidate in ZooKeeper {zk} at {path}",
            config.cluster_name,
            config.cluster.hosts.len(),
            args.time_scale
        );
        let seat = Seat::new(Leadership::NoLeader, None, Clock::new(args.time_scale));
        let election = Election::new(
            ElectionConfig {
                connect: zk.to_string(),
                path,
                session_timeout,
                host: addr.ip().to_string(),
                port: addr.port(),
            },
            seat.clone(),
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let server = tokio::spawn({
            let mut stopped = stopped.clone();
            serve_seat(
                listener,
                seat,
                options.users,
                options.announcer,
                async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                },
            )
        });
        let signalled = tokio::spawn({
            let stop = stop.clone();
            async move {
                shutdown_signal().await;
                let _ = stop.send(true);
            }
        });
        // A previous leader lets go of the log when it stops, at the latest when its session
        // expires and it notices; a frozen one may take longer, and then this one gives up.
        let lock_wait = session_timeout * 3;
        let recover_leading = || {
            recover(
                args.state_dir.as_deref(),
                &config,
                args.time_scale,
                lock_wait,
            )
        };
        let outcome = election.run(recover_leading, stopped).await;
        let _ = stop.send(true);
        signalled.abort();
        server.await??;
        outcome?;
        eprintln!("aurora-sim: stopped");
        Ok(())
    })
}

/// What this process serves once it leads: a fresh scheduler without `--state-dir`; else the
/// scheduler kept in `dir`, with a clock that resumes no earlier than its last record. In
/// ZooKeeper the candidates share one state dir, standing for Aurora's replicated log: a new
/// leader waits up to `lock_wait` for the previous one to let go of it.
fn recover(
    dir: Option<&std::path::Path>,
    config: &SimConfig,
    time_scale: f64,
    lock_wait: Duration,
) -> anyhow::Result<Leading> {
    let Some(dir) = dir else {
        return Ok(Leading {
            scheduler: Scheduler::new(config)?,
            clock: Clock::new(time_scale),
            state_dir: None,
        });
    };
    let started = std::time::Instant::now();
    let mut state_dir = StateDir::open_waiting(dir, lock_wait)?;
    if let Some(torn) = state_dir.torn_tail() {
        eprintln!(
            "aurora-sim: {} ended with a torn record (a write cut short by a crash, never \
             acknowledged): cut off its {} bytes at byte offset {}",
            state_dir.log_path().display(),
            torn.bytes,
            torn.offset
        );
    }
    let clock = Clock::resuming(state_dir.last_ms(), time_scale);
    let records = state_dir.records();
    let scheduler = state_dir.recover(config, clock.now_ms())?;
    eprintln!(
        "aurora-sim: state dir {}: replayed {records} records in {} ms",
        dir.display(),
        started.elapsed().as_millis()
    );
    Ok(Leading {
        scheduler,
        clock,
        state_dir: Some(state_dir),
    })
}

/// Listens on `address` and prints the URL served on the first stdout line (what the tests and
/// scripts read to find a simulator started on port 0).
async fn listen(address: &str) -> anyhow::Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
    let addr = listener.local_addr()?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "http://{addr}")?;
    stdout.flush()?;
    Ok((listener, addr))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
