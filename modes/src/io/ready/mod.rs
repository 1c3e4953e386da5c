//! The readiness-based I/O fallback: one epoll reactor thread per process, used where
//! io_uring is refused (EPERM/ENOSYS) or disabled, in the manner of async-io / smol.
//!
//! A [`Source`] is a non-blocking fd registered once, edge-triggered, for
//! `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`. A task does its syscall itself (inside
//! [`Source::io`] or [`Source::poll_io`]) and only waits on the reactor when the syscall
//! says `WouldBlock`.
//!
//! Protocol (per source and per [`Direction`]: a `tick` counter and one waker slot, the
//! waker slots of both directions under one mutex):
//! 1. The reactor thread (`runtime-reactor`) loops on `epoll_wait`. For every event it
//!    finds the source by its key in the reactor's mutex-protected map and, under the
//!    source's waker mutex, increments the tick of every direction the event concerns and
//!    takes that direction's waker; it wakes the taken wakers after releasing every lock.
//!    `EPOLLIN`/`EPOLLRDHUP` concern reading, `EPOLLOUT` writing, `EPOLLERR`/`EPOLLHUP`
//!    both.
//! 2. A waiter loads the tick of its direction *before* calling its syscall closure `f`.
//!    If `f` says `WouldBlock`, it takes the waker mutex and compares the tick with the
//!    value it loaded: if the tick moved, it retries `f` at once; otherwise it stores its
//!    waker (unless the stored one `will_wake` the same task) and returns `Pending`.
//!    After 32 such retries in one poll it wakes its own task and returns `Pending`
//!    instead, so that a busy fd cannot keep one poll spinning.
//! 3. No wake is lost. Edge triggering means epoll reports an event for every readiness
//!    change (new data, freed buffer space, hang-up, error) that happens after the
//!    registration, whether or not the fd was already ready. If `f` saw `WouldBlock`, the
//!    change that will make it succeed happens after `f`'s syscall, hence after the tick
//!    load, and the reactor's increment for it comes later still. Both the increment
//!    (with the take of the waker) and the waiter's check (with the store of its waker)
//!    happen under the same mutex, so one of them comes first: either the waiter sees the
//!    tick moved and retries, or the reactor finds the waiter's waker and wakes it.
//! 4. Wakes may be spurious (an event ticks both directions when both are ready, an event
//!    already dequeued may be delivered after the fd stopped being ready): the waiter
//!    only retries `f`, which says `WouldBlock` again and re-registers.
//! 5. Cancel safety: `f` runs only synchronously inside a poll, so dropping the future
//!    between polls loses no data. A dropped waiter's waker may stay in its slot; waking
//!    it later is a spurious wake of a task that no longer waits, which is harmless, and
//!    the next waiter replaces it.
//! 6. One waker per direction: a reader and a writer may wait at the same time, but two
//!    tasks waiting in the *same* direction on one source are not supported: the newer
//!    one's waker replaces the older one's, and the older one is not woken until it is
//!    polled again for some other reason. Streams have one reader and one writer at a time
//!    in practice (as with async-io's `poll_readable`/`poll_writable`).
//! 7. Deregistration: dropping a [`Source`] does `EPOLL_CTL_DEL` and removes its key from
//!    the map. An event for it already returned by `epoll_wait` finds no key and is
//!    ignored (keys are never reused), or finds the shared state still alive (it is
//!    reference-counted) and ticks it uselessly; neither touches freed memory. The owner
//!    must drop the source *before* closing the fd: otherwise the number may already name
//!    another file that `EPOLL_CTL_DEL` would deregister.
//! 8. Fork: the reactor is tagged with the pid that made it. A forked child (whose copy
//!    has no reactor thread and shares the parent's epoll instance) starts its own on its
//!    first registration, and never deregisters, in the parent's epoll, sources it
//!    inherited.
//! 9. No lock is held while a waker is woken, cloned-and-dropped or dropped, since that
//!    can run arbitrary code (dropping a task, and with it another `Source`). Lock order:
//!    the reactor's map, then a source's waker mutex.

mod reactor;
mod source;

pub(crate) use source::{Direction, Source};
