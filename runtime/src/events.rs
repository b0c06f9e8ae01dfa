//! The stream of async-action records (printf, print, exit, ...) from the script's ring
//! buffer: wait on its fd with epoll, then hand each record's bytes to the caller.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use aya::maps::{MapData, RingBuf};
use thiserror::Error;

use crate::sys;

#[derive(Debug, Error)]
pub enum EventsError {
    #[error("cannot map the ring buffer: {0}")]
    Map(#[from] aya::maps::MapError),
    #[error("`{operation}` on the ring buffer failed: {source}")]
    Wait {
        operation: &'static str,
        source: io::Error,
    },
}

/// The most records one `poll` hands over.
pub const POLL_BATCH: usize = 16 * 1024;

/// The consumer side of the ring buffer.
pub struct EventSource {
    /// `None` until a script with async actions is loaded (a REPL starts without one).
    ring: Option<RingBuf<MapData>>,
    epoll: OwnedFd,
    /// Other events that end a wait when they become readable (`wake_on`).
    others: Vec<OwnedFd>,
    /// The eventfd a `Waker` adds to; cleared at every wait.
    waker: Option<OwnedFd>,
}

/// Ends an `EventSource`'s wait from another thread.
pub struct Waker(OwnedFd);

impl Waker {
    pub fn wake(&self) {
        let _ = sys::eventfd_add(self.0.as_fd());
    }
}

impl EventSource {
    pub fn new(ring: RingBuf<MapData>) -> Result<EventSource, EventsError> {
        let mut source = EventSource::without_ring()?;
        source.set_ring(ring)?;
        Ok(source)
    }

    /// A source with nothing to read yet: its waits end on `wake_on` events and wakers.
    pub fn without_ring() -> Result<EventSource, EventsError> {
        let epoll = sys::epoll_create().map_err(|source| EventsError::Wait { operation: "epoll_create1", source })?;
        Ok(EventSource { ring: None, epoll, others: Vec::new(), waker: None })
    }

    /// Reads `ring` from now on.
    pub fn set_ring(&mut self, ring: RingBuf<MapData>) -> Result<(), EventsError> {
        sys::epoll_add_readable(self.epoll.as_fd(), ring.as_fd()).map_err(|source| EventsError::Wait { operation: "epoll_ctl", source })?;
        self.ring = Some(ring);
        Ok(())
    }

    /// Whether a ring buffer is read.
    pub fn has_ring(&self) -> bool {
        self.ring.is_some()
    }

    /// A waker that ends this source's current or next wait, from any thread.
    pub fn waker(&mut self) -> Result<Waker, EventsError> {
        let failed = |operation| move |source| EventsError::Wait { operation, source };
        let fd = match &self.waker {
            Some(fd) => fd.try_clone().map_err(failed("F_DUPFD_CLOEXEC"))?,
            None => {
                let fd = sys::eventfd().map_err(failed("eventfd"))?;
                sys::epoll_add_readable(self.epoll.as_fd(), fd.as_fd()).map_err(failed("epoll_ctl"))?;
                let copy = fd.try_clone().map_err(failed("F_DUPFD_CLOEXEC"))?;
                self.waker = Some(fd);
                copy
            }
        };
        Ok(Waker(fd))
    }

    /// Ends a wait of `poll` also when `event` becomes readable (`poll` then hands over no
    /// record: the caller reads `event`).
    pub fn wake_on(&mut self, event: OwnedFd) -> Result<(), EventsError> {
        sys::epoll_add_readable(self.epoll.as_fd(), event.as_fd()).map_err(|source| EventsError::Wait { operation: "epoll_ctl", source })?;
        self.others.push(event);
        Ok(())
    }

    /// Closes the events `wake_on` added.
    pub fn stop_waking_on_others(&mut self) {
        self.others.clear();
    }

    /// Hands the waiting records to `on_record`, at most `POLL_BATCH` of them; if none is
    /// waiting, first waits up to `timeout` for one. Returns how many records were handed over:
    /// 0 after a timeout or when a signal interrupted the wait (the caller then checks its stop
    /// flag). The bound lets a caller whose probes write as fast as it reads still flush its
    /// output and look at its other work between batches.
    pub fn poll(
        &mut self,
        timeout: Duration,
        on_record: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, EventsError> {
        let handed = self.drain_at_most(POLL_BATCH, on_record);
        if handed > 0 {
            return Ok(handed);
        }
        let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let waited = sys::epoll_wait_one(self.epoll.as_fd(), timeout_ms);
        if let Some(waker) = &self.waker {
            sys::eventfd_clear(waker.as_fd());
        }
        match waited {
            Ok(_) => Ok(self.drain_at_most(POLL_BATCH, on_record)),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(source) => Err(EventsError::Wait {
                operation: "epoll_wait",
                source,
            }),
        }
    }

    /// Hands every record already in the ring to `on_record`, without waiting.
    pub fn drain(&mut self, on_record: &mut dyn FnMut(&[u8])) -> usize {
        self.drain_at_most(usize::MAX, on_record)
    }

    /// Hands the records already in the ring to `on_record`, at most `limit`, without waiting.
    pub fn drain_at_most(&mut self, limit: usize, on_record: &mut dyn FnMut(&[u8])) -> usize {
        let mut handed = 0;
        let Some(ring) = self.ring.as_mut() else { return 0 };
        while handed < limit {
            let Some(record) = ring.next() else { break };
            on_record(&record);
            handed += 1;
        }
        handed
    }
}
