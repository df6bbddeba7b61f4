use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::*;

/// Records each message (a number) in a shared log, optionally sleeping first.
struct Recorder {
    log: Arc<Mutex<Vec<(usize, u32)>>>,
    lane: usize,
    delay: Duration,
}

impl LaneWork for Recorder {
    type Message = u32;

    fn handle(&mut self, messages: Vec<u32>) {
        for message in messages {
            std::thread::sleep(self.delay);
            if message == u32::MAX {
                panic!("asked to panic");
            }
            lock(&self.log).push((self.lane, message));
        }
    }
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    // A liveness bound only, with ample margin for a busy machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn each_lane_keeps_its_order_and_lanes_run_side_by_side() {
    let workers = Workers::new(WorkersOptions::new().threads(3).max_batch(4)).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let lanes: Vec<Lane<Recorder>> = (0..5)
        .map(|lane| {
            Lane::new(
                &workers,
                Recorder {
                    log: log.clone(),
                    lane,
                    delay: Duration::ZERO,
                },
            )
        })
        .collect();
    for message in 0..100 {
        for lane in &lanes {
            lane.submit(message).unwrap();
        }
    }
    wait_until("every message", || lock(&log).len() == 500);
    for lane in 0..5 {
        let seen: Vec<u32> = lock(&log)
            .iter()
            .filter(|(l, _)| *l == lane)
            .map(|(_, m)| *m)
            .collect();
        assert_eq!(
            seen,
            (0..100).collect::<Vec<_>>(),
            "lane {lane} out of order"
        );
    }
}

#[test]
fn a_busy_lane_does_not_starve_another() {
    let workers = Workers::new(WorkersOptions::new().threads(1).max_batch(1)).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let busy = Lane::new(
        &workers,
        Recorder {
            log: log.clone(),
            lane: 0,
            delay: Duration::from_millis(2),
        },
    );
    let quiet = Lane::new(
        &workers,
        Recorder {
            log: log.clone(),
            lane: 1,
            delay: Duration::ZERO,
        },
    );
    for message in 0..100 {
        busy.submit(message).unwrap();
    }
    let busy_before = lock(&log).len();
    quiet.submit(0).unwrap();
    wait_until("the quiet lane", || lock(&log).iter().any(|(l, _)| *l == 1));
    // Counted from the quiet lane's submit, so that a slow test thread changes nothing:
    // the busy message in progress then, and at most one more, may come first.
    let busy_after = lock(&log).iter().take_while(|(l, _)| *l == 0).count() - busy_before;
    assert!(
        busy_after <= 2,
        "the quiet lane waited for {busy_after} busy messages"
    );
}

/// Blocks its worker until told to go on.
struct Gate {
    entered: mpsc::Sender<()>,
    go: Arc<(Mutex<bool>, Condvar)>,
    handled: Arc<AtomicUsize>,
}

impl LaneWork for Gate {
    type Message = ();

    fn handle(&mut self, messages: Vec<()>) {
        let _ = self.entered.send(());
        let (open, cond) = &*self.go;
        let mut open = lock(open);
        while !*open {
            open = cond.wait(open).unwrap_or_else(PoisonError::into_inner);
        }
        self.handled.fetch_add(messages.len(), Ordering::SeqCst);
    }
}

#[test]
fn a_full_queue_refuses_and_holds_no_more() {
    let workers = Workers::new(WorkersOptions::new().threads(1).queue_capacity(4)).unwrap();
    let (entered, inside) = mpsc::channel();
    let go = Arc::new((Mutex::new(false), Condvar::new()));
    let handled = Arc::new(AtomicUsize::new(0));
    let lane = Lane::new(
        &workers,
        Gate {
            entered,
            go: go.clone(),
            handled: handled.clone(),
        },
    );
    lane.submit(()).unwrap();
    inside.recv().unwrap();
    // The first is being handled; four may wait, the fifth is refused.
    for _ in 0..4 {
        lane.submit(()).unwrap();
    }
    assert!(matches!(lane.submit(()), Err(Refused::Overloaded(()))));
    assert_eq!(lane.waiting(), 4);
    *lock(&go.0) = true;
    go.1.notify_all();
    wait_until("the queue to drain", || handled.load(Ordering::SeqCst) == 5);
    wait_until("the lane to be idle", || lane.is_idle());
    lane.submit(()).unwrap();
    wait_until("the next message", || handled.load(Ordering::SeqCst) == 6);
}

#[test]
fn a_panicking_handler_loses_its_batch_not_the_lane() {
    let workers = Workers::new(WorkersOptions::new().threads(1).max_batch(1)).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let lane = Lane::new(
        &workers,
        Recorder {
            log: log.clone(),
            lane: 0,
            delay: Duration::ZERO,
        },
    );
    lane.submit(1).unwrap();
    lane.submit(u32::MAX).unwrap();
    lane.submit(2).unwrap();
    wait_until("the message after the panic", || lock(&log).len() == 2);
    assert_eq!(*lock(&log), [(0, 1), (0, 2)]);
}

#[test]
fn threads_end_with_the_last_handle() {
    let workers = Workers::new(WorkersOptions::new().threads(2)).unwrap();
    let shared = Arc::downgrade(&workers.shared);
    let log = Arc::new(Mutex::new(Vec::new()));
    let lane = Lane::new(
        &workers,
        Recorder {
            log: log.clone(),
            lane: 0,
            delay: Duration::ZERO,
        },
    );
    drop(workers);
    lane.submit(1).unwrap();
    wait_until("the message", || lock(&log).len() == 1);
    wait_until("the lane to be idle", || lane.is_idle());
    drop(lane);
    wait_until("the threads to end", || shared.upgrade().is_none());
}
