//! A one-shot reply from a worker to the future that waits for it, woken through its
//! `Waker` alone, so that any executor can poll it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

enum State<T> {
    /// Nobody answered yet; the waker of the last poll.
    Waiting(Option<Waker>),
    /// The answer, not taken yet.
    Answered(T),
    /// The future took the answer.
    Taken,
    /// The future was dropped: an operation not started yet is skipped.
    Cancelled,
    /// The worker dropped the reply without answering (a handler that panicked).
    Abandoned,
}

struct Slot<T>(Mutex<State<T>>);

impl<T> Slot<T> {
    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The waiting end: a future that resolves to the answer, or `None` when the worker
/// dropped the reply without answering. Dropping it cancels an operation that has not
/// started (its [`ReplyTo::is_cancelled`] turns true).
pub struct Reply<T> {
    slot: Arc<Slot<T>>,
}

/// The answering end, held with the operation on the lane.
pub struct ReplyTo<T> {
    slot: Option<Arc<Slot<T>>>,
}

/// A connected pair: the operation carries the first, the caller awaits the second.
pub fn reply<T>() -> (ReplyTo<T>, Reply<T>) {
    let slot = Arc::new(Slot(Mutex::new(State::Waiting(None))));
    (
        ReplyTo {
            slot: Some(slot.clone()),
        },
        Reply { slot },
    )
}

impl<T> ReplyTo<T> {
    /// Whether the future is gone: the operation need not run.
    pub fn is_cancelled(&self) -> bool {
        self.slot
            .as_ref()
            .is_none_or(|slot| matches!(*slot.state(), State::Cancelled))
    }

    /// Answers; the answer is dropped when the future is gone.
    pub fn send(mut self, value: T) {
        if let Some(slot) = self.slot.take() {
            let mut state = slot.state();
            if let State::Waiting(waker) = std::mem::replace(&mut *state, State::Answered(value)) {
                drop(state);
                if let Some(waker) = waker {
                    waker.wake();
                }
            } else {
                // Cancelled meanwhile: keep it so, and drop the answer.
                *state = State::Cancelled;
            }
        }
    }
}

impl<T> Drop for ReplyTo<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let mut state = slot.state();
            if let State::Waiting(waker) = std::mem::replace(&mut *state, State::Abandoned) {
                drop(state);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        }
    }
}

impl<T> Future for Reply<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.slot.state();
        match std::mem::replace(&mut *state, State::Taken) {
            State::Answered(value) => Poll::Ready(Some(value)),
            State::Abandoned => Poll::Ready(None),
            State::Waiting(_) => {
                *state = State::Waiting(Some(cx.waker().clone()));
                Poll::Pending
            }
            // Polled after it finished: as `futures` does, it stays finished.
            State::Taken | State::Cancelled => Poll::Ready(None),
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        let mut state = self.slot.state();
        if matches!(*state, State::Waiting(_)) {
            *state = State::Cancelled;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll_once<T>(reply: &mut Reply<T>) -> Poll<Option<T>> {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(reply).poll(&mut cx)
    }

    #[test]
    fn answers_cancels_and_abandons() {
        let (to, mut reply) = super::reply::<u32>();
        assert!(poll_once(&mut reply).is_pending());
        assert!(!to.is_cancelled());
        to.send(7);
        assert_eq!(poll_once(&mut reply), Poll::Ready(Some(7)));

        let (to, reply) = super::reply::<u32>();
        drop(reply);
        assert!(to.is_cancelled());
        to.send(1);

        let (to, mut reply) = super::reply::<u32>();
        drop(to);
        assert_eq!(poll_once(&mut reply), Poll::Ready(None));
    }
}
