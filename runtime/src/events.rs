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

/// The consumer side of the ring buffer.
pub struct EventSource {
    ring: RingBuf<MapData>,
    epoll: OwnedFd,
    /// Other events that end a wait when they become readable (`wake_on`).
    others: Vec<OwnedFd>,
}

impl EventSource {
    pub fn new(ring: RingBuf<MapData>) -> Result<EventSource, EventsError> {
        let epoll = sys::epoll_create().map_err(|source| EventsError::Wait {
            operation: "epoll_create1",
            source,
        })?;
        sys::epoll_add_readable(epoll.as_fd(), ring.as_fd()).map_err(|source| {
            EventsError::Wait {
                operation: "epoll_ctl",
                source,
            }
        })?;
        Ok(EventSource { ring, epoll, others: Vec::new() })
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

    /// Hands every waiting record to `on_record`; if none is waiting, first waits up to
    /// `timeout` for one. Returns how many records were handed over: 0 after a timeout or
    /// when a signal interrupted the wait (the caller then checks its stop flag).
    pub fn poll(
        &mut self,
        timeout: Duration,
        on_record: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, EventsError> {
        let handed = self.drain(on_record);
        if handed > 0 {
            return Ok(handed);
        }
        let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        match sys::epoll_wait_one(self.epoll.as_fd(), timeout_ms) {
            Ok(_) => Ok(self.drain(on_record)),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(source) => Err(EventsError::Wait {
                operation: "epoll_wait",
                source,
            }),
        }
    }

    /// Hands every record already in the ring to `on_record`, without waiting.
    pub fn drain(&mut self, on_record: &mut dyn FnMut(&[u8])) -> usize {
        let mut handed = 0;
        while let Some(record) = self.ring.next() {
            on_record(&record);
            handed += 1;
        }
        handed
    }
}
