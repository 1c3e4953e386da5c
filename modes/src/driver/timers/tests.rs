//! The timers in crossbeam-deque's test set: smoke, stampede, stress (against a model),
//! no_starvation, destructors.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use super::{TimerEntry, TimerKey, Timers};

/// A waker that counts its wakes and its drops, tagged with a number.
struct Probe {
    tag: usize,
    wakes: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl Wake for Probe {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

struct Counters {
    wakes: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl Counters {
    fn new() -> Counters {
        Counters {
            wakes: Arc::default(),
            drops: Arc::default(),
        }
    }

    fn entry(&self, tag: usize) -> TimerEntry {
        let probe = Arc::new(Probe {
            tag,
            wakes: self.wakes.clone(),
            drops: self.drops.clone(),
        });
        // A `Waker::from(Arc<Probe>)`'s data pointer is the `Probe`'s address.
        let addr = Arc::as_ptr(&probe) as usize;
        TAGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(addr, probe.tag);
        TimerEntry::Wake(Waker::from(probe))
    }
}

/// The tag of every live probe, by its address (an address reused by a later probe is
/// overwritten when that probe is made, before it can fire).
static TAGS: std::sync::Mutex<BTreeMap<usize, usize>> = std::sync::Mutex::new(BTreeMap::new());

/// The tag of a fired entry.
fn tag(e: &TimerEntry) -> usize {
    match e {
        TimerEntry::Wake(w) => TAGS.lock().unwrap_or_else(|e| e.into_inner())[&(w.data() as usize)],
        TimerEntry::Call(_) => usize::MAX,
    }
}

#[test]
fn smoke() {
    let t = Timers::default();
    let c = Counters::new();
    let base = Instant::now();
    assert!(t.is_empty());
    assert_eq!(t.next_deadline(), None);
    let (_, first) = t.insert(base + Duration::from_millis(20), c.entry(2));
    assert!(first, "the only timer is the earliest");
    let (_, earlier) = t.insert(base + Duration::from_millis(10), c.entry(1));
    assert!(earlier);
    let (_, later) = t.insert(base + Duration::from_millis(30), c.entry(3));
    assert!(!later);
    assert_eq!(t.next_deadline(), Some(base + Duration::from_millis(10)));
    let mut out = Vec::new();
    t.fire_due(base + Duration::from_millis(5), &mut out);
    assert!(out.is_empty(), "nothing is due yet");
    t.fire_due(base + Duration::from_millis(20), &mut out);
    assert_eq!(
        out.iter().map(tag).collect::<Vec<_>>(),
        vec![1, 2],
        "earliest first, due only"
    );
    assert!(!t.is_empty());
    out.clear();
    t.fire_due(base + Duration::from_secs(1), &mut out);
    assert_eq!(out.iter().map(tag).collect::<Vec<_>>(), vec![3]);
    assert!(t.is_empty());
}

#[test]
fn equal_deadlines_fire_in_insertion_order_and_removal_is_exact() {
    let t = Timers::default();
    let c = Counters::new();
    let at = Instant::now();
    let keys: Vec<TimerKey> = (0..10).map(|i| t.insert(at, c.entry(i)).0).collect();
    assert!(t.remove(keys[3]));
    assert!(!t.remove(keys[3]), "a removed timer is gone");
    let mut out = Vec::new();
    t.fire_due(at, &mut out);
    assert_eq!(
        out.iter().map(tag).collect::<Vec<_>>(),
        vec![0, 1, 2, 4, 5, 6, 7, 8, 9],
        "FIFO among equal deadlines (asyncio's call_at order)"
    );
    assert!(!t.remove(keys[0]), "a fired timer cannot be removed");
}

#[test]
fn a_burst_fires_in_order_and_a_sleeper_behind_a_firing_is_due() {
    // More due timers than are popped one by one: the rest is split off the tree.
    let t = Timers::default();
    let c = Counters::new();
    let base = Instant::now() + Duration::from_secs(1);
    let mut keys = Vec::new();
    for i in 0..200 {
        let at = base + Duration::from_millis((i % 7) as u64);
        let TimerEntry::Wake(w) = c.entry(i) else {
            unreachable!()
        };
        keys.push((at, i, t.insert_wake(at, &w).expect("nothing fired yet").0));
    }
    let cut = base + Duration::from_millis(3);
    let mut out = Vec::new();
    t.fire_due(cut, &mut out);
    let mut want: Vec<_> = keys.iter().filter(|k| k.0 <= cut).collect();
    want.sort_by_key(|k| (k.0, k.1));
    assert!(want.len() > 16, "a burst");
    assert_eq!(
        out.iter().map(tag).collect::<Vec<_>>(),
        want.iter().map(|k| k.1).collect::<Vec<_>>(),
        "earliest first, FIFO among equal deadlines"
    );
    for (at, _, key) in &keys {
        assert_eq!(t.fired_past(*key), *at < cut, "fired_past is exact");
        assert_eq!(
            t.remove(*key),
            *at > cut,
            "due timers left the map, later ones stay"
        );
    }
    let w = Waker::noop();
    assert!(
        t.insert_wake(cut, w).is_none(),
        "a deadline fired through is due"
    );
    assert!(t.insert_wake(base, w).is_none(), "so is an earlier one");
    let later = t
        .insert_wake(cut + Duration::from_nanos(1), w)
        .expect("later: queued");
    assert!(!t.fired_past(later.0));
}

#[test]
fn stampede() {
    // Many threads insert and remove at once while one fires: every timer is either fired
    // exactly once or removed exactly once, never both, never lost.
    let t = Arc::new(Timers::default());
    let c = Arc::new(Counters::new());
    let base = Instant::now();
    let fired = Arc::new(AtomicUsize::new(0));
    let removed = Arc::new(AtomicUsize::new(0));
    const THREADS: usize = 4;
    const EACH: usize = 2_000;
    std::thread::scope(|s| {
        for th in 0..THREADS {
            let (t, c, removed) = (t.clone(), c.clone(), removed.clone());
            s.spawn(move || {
                for i in 0..EACH {
                    let (key, _) = t.insert(
                        base + Duration::from_micros((i % 50) as u64),
                        c.entry(th * EACH + i),
                    );
                    if i % 3 == 0 && t.remove(key) {
                        removed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        let (t, fired) = (t.clone(), fired.clone());
        s.spawn(move || {
            let mut out = Vec::new();
            for _ in 0..200 {
                t.fire_due(base + Duration::from_micros(25), &mut out);
                fired.fetch_add(out.len(), Ordering::Relaxed);
                out.clear();
                std::thread::yield_now();
            }
        });
    });
    let mut rest = Vec::new();
    t.fire_due(base + Duration::from_secs(1), &mut rest);
    let total = fired.load(Ordering::Relaxed) + removed.load(Ordering::Relaxed) + rest.len();
    assert_eq!(total, THREADS * EACH);
    assert!(t.is_empty());
    drop(rest);
    assert_eq!(
        c.drops.load(Ordering::Relaxed),
        THREADS * EACH,
        "every entry dropped once"
    );
}

#[test]
fn stress_against_a_model() {
    // Random inserts, removes and firings, checked step by step against a BTreeMap.
    let t = Timers::default();
    let c = Counters::new();
    let base = Instant::now();
    let mut model: BTreeMap<TimerKey, usize> = BTreeMap::new();
    let mut keys: Vec<(TimerKey, bool)> = Vec::new(); // (key, from insert_wake)
    let mut x: u32 = 0x1234_5678;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut now = base;
    let mut fired_through: Option<Instant> = None;
    for i in 0..20_000 {
        match rnd() % 10 {
            0..=2 => {
                let at = base + Duration::from_micros(u64::from(rnd() % 10_000));
                let (key, earliest) = t.insert(at, c.entry(i));
                assert_eq!(earliest, model.keys().next().is_none_or(|f| key < *f));
                model.insert(key, i);
                keys.push((key, false));
            }
            3..=5 => {
                let at = base + Duration::from_micros(u64::from(rnd() % 10_000));
                let TimerEntry::Wake(w) = c.entry(i) else {
                    unreachable!()
                };
                match t.insert_wake(at, &w) {
                    None => assert!(fired_through.is_some_and(|f| at <= f), "refused late"),
                    Some((key, earliest)) => {
                        assert!(
                            fired_through.is_none_or(|f| at > f),
                            "accepted a fired time"
                        );
                        assert_eq!(earliest, model.keys().next().is_none_or(|f| key < *f));
                        assert!(!t.fired_past(key), "a new timer is not fired");
                        model.insert(key, i);
                        keys.push((key, true));
                    }
                }
            }
            6 | 7 if !keys.is_empty() => {
                let (key, wake) = keys.swap_remove(rnd() as usize % keys.len());
                // `fired_past` speaks of sleeper timers only (`insert` takes any deadline).
                if wake && t.fired_past(key) {
                    assert!(!model.contains_key(&key), "fired_past but still queued");
                }
                assert_eq!(t.remove(key), model.remove(&key).is_some());
            }
            _ => {
                now += Duration::from_micros(u64::from(rnd() % 200));
                let mut out = Vec::new();
                t.fire_due(now, &mut out);
                let due: Vec<usize> = {
                    let later = model.split_off(&TimerKey(now, u64::MAX));
                    std::mem::replace(&mut model, later).into_values().collect()
                };
                assert_eq!(out.iter().map(tag).collect::<Vec<_>>(), due);
                fired_through = Some(now);
            }
        }
        assert_eq!(t.next_deadline(), model.keys().next().map(|k| k.deadline()));
        assert_eq!(t.is_empty(), model.is_empty());
    }
}

#[test]
fn no_starvation() {
    // A loop that keeps adding timers for later still fires the ones that are due, each
    // turn, in deadline order: a steady stream of new timers delays no due one.
    let t = Timers::default();
    let c = Counters::new();
    let base = Instant::now();
    let mut out = Vec::new();
    for turn in 0..1_000u64 {
        t.insert(
            base + Duration::from_micros(turn + 1_000),
            c.entry(turn as usize),
        );
        let now = base + Duration::from_micros(turn);
        t.fire_due(now, &mut out);
    }
    assert!(out.is_empty(), "nothing is due before 1 ms");
    t.fire_due(base + Duration::from_micros(1_500), &mut out);
    assert_eq!(
        out.iter().map(tag).collect::<Vec<_>>(),
        (0..=500).collect::<Vec<_>>()
    );
}

#[test]
fn destructors() {
    // drain (shutdown) hands every pending entry over exactly once; dropping the timers
    // drops whatever is left; nothing is woken by either.
    let c = Counters::new();
    {
        let t = Timers::default();
        let at = Instant::now() + Duration::from_secs(3600);
        for i in 0..100 {
            t.insert(at, c.entry(i));
        }
        let drained = t.drain();
        assert_eq!(drained.len(), 100);
        assert!(t.is_empty());
        assert_eq!(t.next_deadline(), None);
        drop(drained);
        assert_eq!(c.drops.load(Ordering::Relaxed), 100);
        for i in 0..50 {
            t.insert(at, c.entry(i));
        }
    }
    assert_eq!(
        c.drops.load(Ordering::Relaxed),
        150,
        "dropping the timers drops the rest"
    );
    assert_eq!(c.wakes.load(Ordering::Relaxed), 0);
}
