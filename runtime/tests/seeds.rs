//! Every seed example in `runtime/examples/`, run in-process: each example's `run` prints
//! through a recorder that stamps every line with the loop's clock, so these tests check
//! the exact output order and, on `Clock::Virtual`, the exact virtual timing that asyncio
//! would give. Examples with real threads or signals use counts and orderings instead.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use runtime::{Clock, Runtime, SettableError};

#[allow(dead_code)]
#[path = "../examples/await_chain.rs"]
mod await_chain;
#[allow(dead_code)]
#[path = "../examples/cancel_all_on_ctrl_c.rs"]
mod cancel_all_on_ctrl_c;
#[allow(dead_code)]
#[path = "../examples/cancel_and_timeout.rs"]
mod cancel_and_timeout;
#[allow(dead_code)]
#[path = "../examples/concurrent_fetch.rs"]
mod concurrent_fetch;
#[allow(dead_code)]
#[path = "../examples/cooking_rice.rs"]
mod cooking_rice;
#[allow(dead_code)]
#[path = "../examples/coroutine_returns.rs"]
mod coroutine_returns;
#[allow(dead_code)]
#[path = "../examples/create_task_await.rs"]
mod create_task_await;
#[allow(dead_code)]
#[path = "../examples/create_task_runs_at_once.rs"]
mod create_task_runs_at_once;
#[allow(dead_code)]
#[path = "../examples/done_callback.rs"]
mod done_callback;
#[allow(dead_code)]
#[path = "../examples/fetch_json.rs"]
mod fetch_json;
#[allow(dead_code)]
#[path = "../examples/gather_count.rs"]
mod gather_count;
#[allow(dead_code)]
#[path = "../examples/gather_group_cancel.rs"]
mod gather_group_cancel;
#[allow(dead_code)]
#[path = "../examples/gather_results.rs"]
mod gather_results;
#[allow(dead_code)]
#[path = "../examples/gather_two_tasks.rs"]
mod gather_two_tasks;
#[allow(dead_code)]
#[path = "../examples/loop_callbacks.rs"]
mod loop_callbacks;
#[allow(dead_code)]
#[path = "../examples/manual_loop.rs"]
mod manual_loop;
#[allow(dead_code)]
#[path = "../examples/sequential_vs_tasks.rs"]
mod sequential_vs_tasks;
#[allow(dead_code)]
#[path = "../examples/settable_future.rs"]
mod settable_future;
#[allow(dead_code)]
#[path = "../examples/single_fetch.rs"]
mod single_fetch;
#[allow(dead_code)]
#[path = "../examples/task_result.rs"]
mod task_result;
#[allow(dead_code)]
#[path = "../examples/thread_pool_submit.rs"]
mod thread_pool_submit;
#[allow(dead_code)]
#[path = "../examples/wait_vs_gather.rs"]
mod wait_vs_gather;
#[allow(dead_code)]
#[path = "../examples/web_requests.rs"]
mod web_requests;

/// The sink every example prints to (the same type as each example's `Out`).
type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// The lines an example printed, each with the loop time since the recorder was made.
#[derive(Clone, Default)]
struct Recording {
    lines: Arc<Mutex<Vec<(Duration, String)>>>,
}

impl Recording {
    fn timed(&self) -> Vec<(Duration, String)> {
        self.lines.lock().unwrap().clone()
    }

    fn lines(&self) -> Vec<String> {
        self.timed().into_iter().map(|(_, l)| l).collect()
    }

    fn count(&self, line: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, l)| l == line)
            .count()
    }
}

/// A sink that records, stamping each line with `rt`'s clock.
fn record(rt: &Runtime) -> (Out, Recording) {
    let rec = Recording::default();
    let (lines, handle, start) = (rec.lines.clone(), rt.handle(), rt.time());
    let out: Out = Arc::new(move |line: &str| {
        let at = handle.time() - start;
        lines.lock().unwrap().push((at, line.to_string()));
    });
    (out, rec)
}

fn virtual_rt() -> Runtime {
    Runtime::builder().clock(Clock::Virtual).build().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `(loop time in ms, line)`, to write expected recordings.
fn at(millis: u64, line: &str) -> (Duration, String) {
    (ms(millis), line.to_string())
}

/// `n` copies of `line` at `millis`.
fn times(n: usize, millis: u64, line: &str) -> Vec<(Duration, String)> {
    vec![at(millis, line); n]
}

#[test]
fn single_fetch_takes_one_and_a_half_seconds() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(single_fetch::run(&rt, &out), ms(1500));
    assert_eq!(
        rec.timed(),
        [
            at(0, "fetch init"),
            at(1500, "fetch done"),
            at(1500, "1.500s")
        ]
    );
}

#[test]
fn eight_concurrent_fetches_take_one_and_a_half_seconds_in_all() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(concurrent_fetch::run(&rt, &out), (ms(1500), 8));
    let mut expected = times(8, 0, "fetch init");
    expected.extend(times(8, 1500, "fetch done"));
    expected.push(at(1500, "1.500s"));
    assert_eq!(rec.timed(), expected);
}

#[test]
fn task_results_are_read_after_each_run() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    let (first, second) = task_result::run(&rt, &out);
    assert_eq!(
        (first.as_str(), second.as_str()),
        ("result-server1", "result-server2")
    );
    assert_eq!(
        rec.timed(),
        [
            at(0, "fetch start"),
            at(800, "fetch end"),
            at(800, "result-server1"),
            at(800, "fetch start"),
            at(1600, "fetch end"),
            at(1600, "result-server2"),
        ]
    );
}

#[test]
fn done_callback_runs_before_the_result_is_printed() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(done_callback::run(&rt, &out), "result-server1");
    assert_eq!(
        rec.timed(),
        [
            at(0, "fetch start"),
            at(800, "fetch end"),
            at(800, "Notification for server1"),
            at(800, "result-server1"),
        ]
    );
}

fn site_b_pages() -> Vec<String> {
    (0..4).map(|i| format!("SITEB/{i}")).collect()
}

#[test]
fn cancelled_gather_group_never_starts_and_the_other_finishes() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    let results = gather_group_cancel::run(&rt, &out);
    assert!(results[0].as_ref().unwrap_err().is_cancelled());
    assert_eq!(results[1].as_ref().unwrap(), &site_b_pages());
    let mut expected: Vec<_> = (0..4).map(|i| at(0, &format!("start siteB/{i}"))).collect();
    expected.extend((0..4).map(|i| at(1200, &format!("end siteB/{i}"))));
    expected.push(at(1200, "g1: cancelled"));
    expected.push(at(
        1200,
        r#"g2: ["SITEB/0", "SITEB/1", "SITEB/2", "SITEB/3"]"#,
    ));
    assert_eq!(rec.timed(), expected);
}

#[test]
fn gather_group_cancelled_midway_starts_but_never_ends() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    let results = gather_group_cancel::run_cancel_midway(&rt, &out);
    assert!(results[0].as_ref().unwrap_err().is_cancelled());
    assert_eq!(results[1].as_ref().unwrap(), &site_b_pages());
    let mut expected: Vec<_> = (0..4).map(|i| at(0, &format!("start siteA/{i}"))).collect();
    expected.extend((0..4).map(|i| at(0, &format!("start siteB/{i}"))));
    expected.extend((0..4).map(|i| at(1200, &format!("end siteB/{i}"))));
    expected.push(at(1200, "g1: cancelled"));
    expected.push(at(
        1200,
        r#"g2: ["SITEB/0", "SITEB/1", "SITEB/2", "SITEB/3"]"#,
    ));
    assert_eq!(rec.timed(), expected);
}

/// SIGINT is process-wide: the two Ctrl-C tests must not overlap, or one's signal would
/// interrupt the other's run.
static SIGNAL: Mutex<()> = Mutex::new(());

fn signal_lock() -> MutexGuard<'static, ()> {
    SIGNAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn delayed_tasks_complete_without_ctrl_c() {
    let _serial = signal_lock();
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    let report = cancel_all_on_ctrl_c::run(&rt, &out, &cancel_all_on_ctrl_c::SEED_DELAYS);
    assert!(!report.interrupted);
    assert_eq!(report.outcomes.len(), 3);
    assert!(report.outcomes.iter().all(Result::is_ok));
    let mut expected = times(3, 0, "awaiting");
    expected.push(at(2000, "completed after 2s"));
    expected.extend(times(2, 3000, "completed after 3s"));
    assert_eq!(rec.timed(), expected);
}

#[test]
fn ctrl_c_cancels_every_task_and_gathers_them() {
    let _serial = signal_lock();
    // Install the handler before anything can raise SIGINT, or the signal kills the
    // process (`run` installs it too, first thing).
    drop(runtime::signal::ctrl_c());
    // A real clock: on the virtual one the sleeps would end at once, before the signal.
    // Long delays: the signal comes long before any task could finish, and if it were
    // lost the run would end normally and fail the assertions below.
    let delays = [20, 30, 30].map(Duration::from_secs);
    let rt = Runtime::builder().build().unwrap();
    let (out, rec) = record(&rt);
    let watcher = {
        let rec = rec.clone();
        std::thread::spawn(move || {
            // Every task has started and is sleeping: press Ctrl-C.
            for _ in 0..10_000 {
                if rec.count("awaiting") == 3 {
                    // SAFETY: raise(3) only sends a signal to this thread; the handler
                    // installed above is async-signal-safe.
                    let rc = unsafe { libc::raise(libc::SIGINT) };
                    assert_eq!(rc, 0, "raise(SIGINT) failed");
                    return true;
                }
                std::thread::sleep(ms(1));
            }
            false
        })
    };
    let report = cancel_all_on_ctrl_c::run(&rt, &out, &delays);
    assert!(watcher.join().unwrap(), "the tasks never started");
    assert!(report.interrupted);
    assert_eq!(report.outcomes.len(), 3);
    for outcome in &report.outcomes {
        assert!(outcome.as_ref().unwrap_err().is_cancelled(), "{outcome:?}");
    }
    assert_eq!(
        rec.lines(),
        [
            "awaiting",
            "awaiting",
            "awaiting",
            "^C KeyboardInterrupt: cancelling every task",
            "cancel delayed_task(20s)",
            "cancel delayed_task(30s)",
            "cancel delayed_task(30s)",
            "delayed_task(20s): cancelled",
            "delayed_task(30s): cancelled",
            "delayed_task(30s): cancelled",
        ]
    );
    assert!(rt.all_tasks().is_empty(), "{:?}", rt.all_tasks());
}

#[test]
fn loop_callbacks_stop_after_the_first_iteration_as_in_asyncio() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    let (start, ran_for) = loop_callbacks::run(&rt, &out);
    assert_eq!(ran_for, Duration::ZERO);
    assert_eq!(rec.timed(), [at(0, "Triggered after 1s")]);
    // The 2 s and 3 s timers are still pending and fire at their times.
    let stopped = loop_callbacks::run_pending_timers(&rt, start);
    assert_eq!(stopped - start, ms(4000));
    assert_eq!(
        rec.timed(),
        [
            at(0, "Triggered after 1s"),
            at(2000, "Triggered after 2s"),
            at(3000, "Triggered after 3s"),
        ]
    );
}

#[test]
fn coroutine_returns_66() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(coroutine_returns::run(&rt, &out), 66);
    assert_eq!(rec.lines(), ["My coroutine", "66"]);
}

#[test]
fn sequential_awaits_do_not_overlap() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(sequential_vs_tasks::run(&rt, &out), ms(5000));
    assert_eq!(rec.timed(), [at(5000, "500"), at(5000, "Hello!")]);
}

#[test]
fn a_created_task_runs_before_it_is_awaited() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(create_task_runs_at_once::run(&rt, &out), ms(3000));
    assert_eq!(rec.timed(), [at(0, "500"), at(3000, "Hello there")]);
}

#[test]
fn cancel_and_timeout_behave_like_asyncio() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(cancel_and_timeout::run(&rt, &out), (true, true, true));
    assert_eq!(
        rec.timed(),
        [
            at(0, "task cancelled: true"),
            at(1000, "timed out after 1s"),
            at(4000, "Hello there"),
        ]
    );
}

#[test]
fn manual_loop_runs_main_then_closes() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(manual_loop::run(rt, &out), ms(2000));
    assert_eq!(rec.lines(), ["Running main", "Done"]);
    assert_eq!(rec.timed()[0], at(0, "Running main"));
}

#[test]
fn simulated_web_requests_overlap() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(web_requests::run(&rt, &out), ([200; 3], ms(500)));
    assert_eq!(rec.timed(), [at(500, "200 200 200")]);
}

#[test]
fn gathering_a_2s_and_a_3s_task_takes_3s() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(gather_two_tasks::run(&rt, &out), ms(3000));
    assert_eq!(
        rec.timed(),
        [
            at(0, "Task 1 started"),
            at(0, "Task 2 started"),
            at(2000, "Task 1 finished"),
            at(3000, "Task 2 finished"),
        ]
    );
}

/// Stands in for `time.sleep(2)`: the first three tasks wait (up to 10 s) until all three
/// run at once, then hold a moment, long enough that a pool with more than three threads
/// would start tasks 3 and 4 meanwhile. Records the most tasks ever running at once.
#[derive(Default)]
struct Concurrency {
    state: Mutex<(usize, usize)>, // (running now, most at once)
    changed: Condvar,
}

impl Concurrency {
    fn work(&self, task: usize) {
        let mut st = self.state.lock().unwrap();
        st.0 += 1;
        st.1 = st.1.max(st.0);
        self.changed.notify_all();
        if task < thread_pool_submit::MAX_WORKERS {
            st = self
                .changed
                .wait_timeout_while(st, Duration::from_secs(10), |st| {
                    st.1 < thread_pool_submit::MAX_WORKERS
                })
                .unwrap()
                .0;
            drop(st);
            std::thread::sleep(ms(50));
            st = self.state.lock().unwrap();
        }
        st.0 -= 1;
    }
}

#[test]
fn thread_pool_runs_five_tasks_three_at_a_time() {
    let rt = Runtime::builder()
        .clock(Clock::Virtual)
        .max_blocking_threads(thread_pool_submit::MAX_WORKERS)
        .build()
        .unwrap();
    let (out, rec) = record(&rt);
    let concurrency = Arc::new(Concurrency::default());
    let c = concurrency.clone();
    let work: thread_pool_submit::Work = Arc::new(move |task| c.work(task));
    assert_eq!(thread_pool_submit::run(&rt, &out, &work), [0, 1, 4, 9, 16]);
    assert_eq!(
        concurrency.state.lock().unwrap().1,
        3,
        "most tasks running at once"
    );

    let lines = rec.lines();
    assert_eq!(lines.len(), 12, "{lines:?}");
    // Tasks start in submission order; 3 and 4 only once one of the first three finished.
    let first_finish = lines.iter().position(|l| l.ends_with("finished")).unwrap();
    assert_eq!(
        lines[..first_finish],
        ["Task 0 started", "Task 1 started", "Task 2 started"]
    );
    for i in 0..5 {
        let started = lines
            .iter()
            .position(|l| *l == format!("Task {i} started"))
            .unwrap();
        let finished = lines
            .iter()
            .position(|l| *l == format!("Task {i} finished"))
            .unwrap();
        assert!(started < finished, "{lines:?}");
    }
    assert_eq!(lines[10], "Main thread finished");
    assert_eq!(lines[11], "submit: [0, 1, 4, 9, 16]");
}

#[test]
fn gathered_counts_interleave() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(gather_count::run(&rt, &out), ms(1000));
    let mut expected = times(3, 0, "One");
    expected.extend(times(3, 1000, "Two"));
    assert_eq!(rec.timed(), expected);
}

#[test]
fn simulated_json_fetch_prints_the_posts() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    let (data, took) = fetch_json::run(&rt, &out);
    assert_eq!(took, ms(500));
    assert_eq!(data.iter().map(|p| p.id).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(rec.timed(), [at(500, &format!("{data:?}"))]);
}

#[test]
fn created_task_runs_when_main_awaits() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    create_task_await::run(&rt, &out);
    assert_eq!(
        rec.lines(),
        [
            "main: task created",
            "coroutine: some asynchronous task",
            "main: task done"
        ]
    );
}

#[test]
fn gather_results_come_in_argument_order() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(
        gather_results::run(&rt, &out),
        ["coroutine_1", "coroutine_2"]
    );
    assert_eq!(rec.timed(), [at(200, r#"["coroutine_1", "coroutine_2"]"#)]);
}

#[test]
fn awaiting_f_suspends_g_and_lets_others_run() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    assert_eq!(await_chain::run(&rt, &out), 42);
    assert_eq!(
        rec.timed(),
        [
            at(0, "g: waiting for f"),
            at(0, "meanwhile: the loop runs another task"),
            at(1000, "f: done"),
            at(1000, "g: got 42"),
        ]
    );
}

#[test]
fn wait_and_gather_collect_the_same_four_tasks() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    let (from_wait, from_gather) = wait_vs_gather::run(&rt, &out, ms(2000));
    assert_eq!(from_wait, [1, 2, 3, 4]);
    assert_eq!(from_gather, [1, 2, 3, 4]);

    let headers = [
        "-- create_task + wait --",
        "-- create_task + gather --",
        "-- wait: results from the done set --",
        "-- gather: results in order --",
    ];
    let mut expected = Vec::new();
    for (section, header) in headers.into_iter().enumerate() {
        let t = section as u64 * 2000;
        expected.push(at(t, header));
        expected.extend((1..5).map(|i| at(t, &format!("coroutine {i} starting execution"))));
        expected.extend((1..5).map(|i| at(t + 2000, &format!("coroutine {i} completes!"))));
        if section >= 2 {
            expected.extend((1..5).map(|i| at(t + 2000, &format!("Execution results: {i}"))));
        }
    }
    assert_eq!(rec.timed(), expected);
}

#[test]
fn waits_overlap_and_work_adds_up() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    let scale = cooking_rice::Scale {
        minute: ms(1),
        second: ms(20),
    };
    let report = cooking_rice::run(&rt, &out, scale);
    // Waiting: the longest wait, exactly. Working: at least the sum.
    assert_eq!(report.machines, ms(40));
    assert!(report.attention >= ms(100), "{report:?}");
    assert_eq!(report.async_tasks, ms(40));
    assert!(report.sync_tasks >= ms(120), "{report:?}");

    let timed = rec.timed();
    assert_eq!(
        timed[..8],
        [
            at(0, "-- machines: we only wait --"),
            at(0, "start cooking rice"),
            at(0, "start washing clothes"),
            at(0, "start dish washing"),
            at(30, "washing clothes done"),
            at(30, "dish washing done"),
            at(40, "cooking rice done"),
            at(40, "machines: all done after 40 min"),
        ]
    );
    // Gathered CPU work runs one task after the other, never interleaved, and costs the
    // loop's (virtual) clock nothing.
    let lines = rec.lines();
    assert_eq!(
        lines[8..15],
        [
            "-- attention: we do the work --",
            "start watching tv",
            "watching tv done",
            "start jogging",
            "jogging done",
            "start playing video games",
            "playing video games done",
        ]
    );
    let minutes: u32 = lines[15]
        .strip_prefix("attention: all done after ")
        .and_then(|rest| rest.strip_suffix(" min"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(minutes >= 100, "{}", lines[15]);
    assert!(timed[8..16].iter().all(|(t, _)| *t == ms(40)), "{timed:?}");

    let mut expected = vec![at(40, "-- 3 async_task vs 3 sync_task --")];
    expected.extend(times(3, 60, "Doing async tasks"));
    expected.extend(times(3, 80, "40.000ms"));
    expected.push(at(
        80,
        "Time elapsed for running 3 coroutine tasks: 40.000ms",
    ));
    assert_eq!(timed[16..24], expected);

    assert_eq!(lines.len(), 31, "{lines:?}");
    for i in 0..3 {
        assert_eq!(lines[24 + 2 * i], "Doing sync tasks");
    }
    assert!(lines[30].starts_with("Time elapsed for running 3 sync tasks: "));
}

#[test]
fn settable_future_is_kept_even_after_the_setter_thread_exits() {
    let rt = virtual_rt();
    let (out, rec) = record(&rt);
    let results = settable_future::run(&rt, &out);
    assert_eq!(
        results,
        (Ok("ready"), Ok(42), Ok(7), Err(SettableError::Dropped))
    );
    assert_eq!(
        rec.lines(),
        [
            "loop callback set: ready",
            "main: waiting for the worker",
            "worker: computing",
            "worker: set 42",
            "main: got 42",
            "worker: set 7 and exited",
            "main: got 7",
            "main: broken promise: the setter was dropped without setting a value",
        ]
    );
    assert_eq!(rec.timed()[0], at(1000, "loop callback set: ready"));
}
