//! `bench`: runs the same workloads in every mode of the runtime (and, on request, on peer
//! runtimes) and prints what each does with them: one fixed-width row per workload and
//! mode, a side-by-side summary, and optionally every measurement as JSON.
//!
//! ```text
//! cargo run --release -p bench -- --mode threads
//! cargo run --release -p bench -- --mode all --quick --json run.json
//! cargo run --release -p bench -- report --out RESULTS.md run.json
//! ```
//!
//! Layout: [`cli`] parses the command line; [`workloads`] holds one file per workload,
//! each written once against [`exec::Exec`]; [`exec::ours`] runs them on this runtime and
//! [`peers`] on tokio and async-executor; [`record`] and [`table`] keep and print the
//! figures; [`results`] turns JSON runs into RESULTS.md.

// The modules with unsafe code are `peers::bare` (a bare io_uring loop) and
// `exec::hyper_io` (hyper's uninitialised read buffers); each allows it for itself.
#![deny(unsafe_code)]

mod cli;
mod driver;
mod exec;
#[allow(unsafe_code)]
mod heap;
mod machine;
mod peers;
mod pin;
mod progress;
mod record;
mod results;
mod table;
mod work;
mod workloads;

use std::process::ExitCode;

use clap::Parser;
use runtime::Mode;

use cli::{Cli, Command, RunArgs};
use driver::RunnerSpec;
use exec::ours::Ours;
use machine::Machine;
use progress::Progress;
use record::{Kind, Measurement, Metric, RunDoc, Skipped};
use workloads::{Outcome, Params, Workload};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Report(args)) => results::main(&args),
        Some(Command::EchoChild { core }) => match workloads::switch::echo_child(core) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench echo-child: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::ResourcesChild {
            what,
            n,
            runner,
            workers,
        }) => resources_child(what, n as usize, &runner, workers as usize),
        Some(Command::ResourcesSleeper { ms }) => match workloads::resources::sleeper(ms) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench resources-sleeper: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::ServeHttp { runner, workers }) => serve_http(&runner, workers),
        None => run(&cli.run),
    }
}

fn run(args: &RunArgs) -> ExitCode {
    heap::steady();
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: bench was built without optimisations: its figures are not representative \
             (use `cargo run --release -p bench`)"
        );
    }
    // Every flag is checked before anything is measured: a run of minutes must not end in
    // an error it could have given at once. `--json`'s file is opened for writing now
    // (created if missing, an existing one left as it is until the run's end).
    if let Some(path) = &args.json {
        if let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
        {
            eprintln!("error: cannot write --json {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    exec::ours::set_switch_interval(std::time::Duration::from_micros(args.switch_interval_us));
    exec::ours::set_readiness(args.io == cli::IoArg::Readiness);
    let workers = workers_or_cpus(args.workers);

    // Which modes build; an explicitly requested mode that does not is an error.
    let explicit = args.mode != cli::ModeArg::All;
    let mut runners = Vec::new();
    let mut skipped = Vec::new();
    let mut park_backend = None;
    for mode in args.mode.modes() {
        match Ours::build(mode, workers, args.pin) {
            Ok(rt) => {
                park_backend.get_or_insert_with(|| rt.park_backend());
                runners.push(RunnerSpec::Mode(mode));
            }
            Err(e) if explicit => {
                eprintln!("error: cannot run mode {mode}: {e}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("note: skipping mode {mode}: {e}");
                skipped.push(Skipped {
                    mode: mode.name().into(),
                    reason: e.to_string(),
                });
            }
        }
    }
    for peer in args.peer.iter().flat_map(|p| p.expand()) {
        if !runners.contains(&RunnerSpec::Peer(peer)) {
            runners.push(RunnerSpec::Peer(peer));
        }
    }
    let park_backend = park_backend.unwrap_or_else(|| {
        Ours::build(Mode::Single, 1, false)
            .map_or_else(|e| format!("unknown ({e})"), |rt| rt.park_backend())
    });

    let mut selected: Vec<Workload> = Vec::new();
    for w in if args.workload.is_empty() {
        Workload::all()
    } else {
        args.workload.clone()
    } {
        if !selected.contains(&w) {
            selected.push(w);
        }
    }

    let params = Params {
        quick: args.quick,
        workers,
        burn_per_ms: if selected.iter().any(|w| w.needs_calibration()) {
            work::units_per_ms()
        } else {
            1
        },
        switch_interval: std::time::Duration::from_micros(args.switch_interval_us),
        waiters: 0,
    };

    println!(
        "bench: {} on {}; {workers} workers{}{}; {}",
        selected
            .iter()
            .map(|w| w.name())
            .collect::<Vec<_>>()
            .join(","),
        runners
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(","),
        if args.quick { ", quick sizes" } else { "" },
        if args.pin { ", pinned" } else { "" },
        park_backend,
    );
    println!("{}", table::header());

    let mut notes: Vec<&str> = Vec::new();
    for r in runners
        .iter()
        .filter(|r| selected.iter().any(|&w| !r.runs(w)))
    {
        if let Some(note) = r.only().filter(|n| !notes.contains(n)) {
            eprintln!("note: {note}");
            notes.push(note);
        }
    }
    for (w, what) in [
        (Workload::CpuSweep, "cpu_sweep runs on the pools only"),
        (Workload::GilSweep, "gil_sweep runs on gil only"),
    ] {
        // Peers that run only some workloads said so above.
        if selected.contains(&w) && runners.iter().any(|r| !r.runs(w) && r.only().is_none()) {
            eprintln!("note: {what}");
        }
    }
    let steps = selected
        .iter()
        .map(|&w| runners.iter().filter(|r| r.runs(w)).count())
        .sum::<usize>()
        + usize::from(selected.contains(&Workload::Switch))
        + usize::from(selected.contains(&Workload::Resources));
    let progress = Progress::new(steps as u64);
    let mut measurements: Vec<Measurement> = Vec::new();
    let mut headlines: Vec<Measurement> = Vec::new();
    let mut failures = 0;

    'all: for &w in &selected {
        for &r in runners.iter().filter(|r| r.runs(w)) {
            progress.running(format!("{} on {}", w.name(), r.name()));
            let ran = if w == Workload::Resources {
                resources_on(r, &params)
            } else {
                driver::run_points(w, r, params, args.pin)
            };
            match ran {
                Ok((mut outcome, io_backend)) => {
                    if w == Workload::Cpu {
                        add_speedup(&mut outcome, r, &measurements);
                    }
                    let mut ms = to_measurements(r.name(), r.kind(), w, &outcome);
                    for m in &mut ms {
                        m.io_backend = io_backend.clone().unwrap_or_default();
                    }
                    progress.print(|| println!("{}", table::row(&ms[0], &outcome.detail)));
                    headlines.push(ms[0].clone());
                    measurements.extend(ms);
                }
                Err(driver::RunError::Unavailable(why)) => {
                    progress
                        .print(|| eprintln!("note: skipping {} on {}: {why}", w.name(), r.name()));
                }
                Err(e) => {
                    failures += 1;
                    progress.print(|| eprintln!("error: {} on {} failed: {e}", w.name(), r.name()));
                    if e.hung() {
                        // Its thread may still be spinning: later figures would be wrong.
                        eprintln!("error: stopping here; the figures so far are kept");
                        break 'all;
                    }
                }
            }
            progress.done();
        }
        if w == Workload::Resources {
            progress.running("resources: OS threads and processes".into());
            let (outcomes, notes) = workloads::resources::os(&params);
            let mut ms = Vec::new();
            for (name, outcome) in &outcomes {
                ms.extend(to_measurements(name, Kind::Os, w, outcome));
            }
            progress.print(|| {
                for (name, o) in &outcomes {
                    if let Some(m) = ms.iter().find(|m| m.mode == *name) {
                        println!("{}", table::row(m, &o.detail));
                    }
                }
                for note in &notes {
                    eprintln!("note: resources {note}");
                }
            });
            headlines.extend(
                outcomes
                    .iter()
                    .filter_map(|(name, _)| ms.iter().find(|m| m.mode == *name).cloned()),
            );
            measurements.extend(ms);
            progress.done();
        }
        if w == Workload::Switch {
            progress.running("switch: OS threads and processes".into());
            let os = workloads::switch::measure_os(workloads::switch::budget(&params), 3, |name| {
                progress.running(format!("switch: {name}"))
            });
            let outcome = Outcome {
                params: os.params,
                metrics: os.metrics,
                detail: String::new(),
            };
            let ms = to_measurements("os", Kind::Os, w, &outcome);
            progress.print(|| {
                for m in &ms {
                    println!("{}", table::row(m, "per switch, socket-pair ping-pong"));
                }
                for note in &os.notes {
                    eprintln!("note: switch {note}");
                }
            });
            headlines.extend(ms.iter().cloned());
            measurements.extend(ms);
            progress.done();
        }
    }
    progress.finish();

    if runners.len() > 1 {
        println!("\nside by side (headline figures):");
        print!("{}", table::side_by_side(&headlines));
        let all: Vec<&Measurement> = measurements.iter().collect();
        print!("{}", table::ratios(&record::tokio_ratios(&all)));
    }

    if let Some(path) = &args.json {
        let doc = RunDoc {
            machine: Some(Machine::collect(park_backend)),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            quick: args.quick,
            workers,
            skipped,
            measurements,
        };
        let text = serde_json::to_string_pretty(&doc).expect("measurements serialise");
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {}", path.display());
    }
    if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `resources` on runner `r`: each size in a child process of its own.
fn resources_on(r: RunnerSpec, p: &Params) -> Result<driver::Ran, driver::RunError> {
    let (outcome, notes) =
        workloads::resources::tasks(r.name(), p).map_err(driver::RunError::Failed)?;
    for note in notes {
        eprintln!("note: resources on {}: {note}", r.name());
    }
    Ok((outcome, None))
}

/// `bench resources-child`: measures one point of `resources` in this fresh process and
/// prints its figures as JSON.
fn resources_child(
    what: workloads::resources::What,
    n: usize,
    runner: &str,
    workers: usize,
) -> ExitCode {
    use workloads::resources::{self, Figures, What};
    let figures = match what {
        What::Threads => resources::threads_in_process(n),
        What::Processes => resources::processes_in_process(n),
        What::Tasks => RunnerSpec::from_name(runner).and_then(|r| {
            let p = Params::single_run(workers, n);
            let (outcome, _) =
                driver::run_one(Workload::Resources, r, p, false).map_err(|e| e.to_string())?;
            let get = |name: &str| {
                outcome
                    .metrics
                    .iter()
                    .find(|m| m.name == name)
                    .map(|m| m.value())
                    .ok_or_else(|| format!("no {name} figure"))
            };
            Ok(Figures {
                bytes: get("bytes")?,
                create_ns: get("create")?,
                rss: None,
            })
        }),
    };
    match figures {
        Ok(f) => {
            println!("{}", serde_json::to_string(&f).expect("figures serialise"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench resources-child: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--workers`, or one per CPU.
fn workers_or_cpus(workers: Option<u32>) -> usize {
    workers.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    )
}

/// `bench serve-http`: see `cli::Command::ServeHttp`.
fn serve_http(runner: &str, workers: Option<u32>) -> ExitCode {
    let r = match RunnerSpec::from_cli_name(runner) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let p = Params::single_run(workers_or_cpus(workers), 0);
    let (stop_tx, stop) = runtime::settable();
    // Standard input's end (EOF, or an error) is the signal to stop.
    let watcher = std::thread::Builder::new()
        .name("bench-stdin".into())
        .spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            let _ = stop_tx.set(());
        });
    if let Err(e) = watcher {
        eprintln!("error: cannot start the standard input watcher: {e}");
        return ExitCode::FAILURE;
    }
    let listening = |addr| {
        use std::io::Write;
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();
    };
    match driver::serve_http(r, &p, stop, listening) {
        Ok(n) => {
            println!("served {n} requests");
            ExitCode::SUCCESS
        }
        // Not a failure of the server: this machine cannot run it (monoio where
        // io_uring is refused). A distinct code, so a script can skip the runner.
        Err(driver::RunError::Unavailable(why)) => {
            eprintln!("unavailable: {runner}: {why}");
            ExitCode::from(cli::UNAVAILABLE)
        }
        Err(e) => {
            eprintln!("error: serve-http on {runner}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The cpu workload's speed-up over `single` measured earlier in this run.
fn add_speedup(outcome: &mut Outcome, r: RunnerSpec, earlier: &[Measurement]) {
    if r == RunnerSpec::Mode(Mode::Single) {
        return;
    }
    let Some(single) = earlier
        .iter()
        .find(|m| m.mode == "single" && m.workload == "cpu" && m.metric == "wall")
    else {
        return;
    };
    let runs: Vec<f64> = outcome.metrics[0]
        .runs
        .iter()
        .map(|w| single.value / w)
        .collect();
    let speedup = Metric::new("speedup", "x", runs);
    outcome.detail += &format!(", {:.2}x single", speedup.value());
    outcome.metrics.push(speedup);
}

fn to_measurements(mode: &str, kind: Kind, w: Workload, outcome: &Outcome) -> Vec<Measurement> {
    outcome
        .metrics
        .iter()
        .map(|m| Measurement {
            mode: mode.to_string(),
            kind,
            workload: w.name().to_string(),
            metric: m.name.to_string(),
            value: m.value(),
            unit: m.unit.to_string(),
            runs: m.runs.clone(),
            params: outcome.params.clone(),
            io_backend: String::new(),
        })
        .collect()
}
