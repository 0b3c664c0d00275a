//! CPU priority between roostd's threads. The runtime's threads, which
//! read from connections and route stanzas, run `[storage] priority` nice
//! steps below the thread that starts roostd; the storage thread, started
//! from that thread ([`crate::run`]), keeps its priority. Where they
//! compete for a CPU (a small server, one core), work already accepted,
//! such as the archive's queue of messages, then gets the CPU first: its
//! queue stays short and senders are slowed evenly by the CPU they get,
//! instead of running until the queue is full and then all waiting at
//! once for a whole batch of writes (delivery p99 of 40 ms instead of
//! 15 ms in the phone benchmark).
//!
//! A thread may lower its own priority but not raise it again, and a new
//! thread inherits its creator's; so each runtime thread is set to the
//! same value, taken from the starting thread, rather than lowered by a
//! step count from whatever it inherited (a blocking thread is started by
//! a runtime thread that already gave way).

/// The most nice steps a thread may give way by (Linux's range).
pub const MAX_STEPS: u8 = 19;
/// The lowest priority there is.
const LOWEST_NICE: i32 = 19;

/// The priority the runtime's threads take.
#[derive(Debug, Clone, Copy)]
pub struct GiveWay {
    /// Their nice value; `None` where it is not known or not per thread.
    nice: Option<i32>,
}

impl GiveWay {
    /// `steps` below the calling thread's priority (none on systems other
    /// than Linux, where nice is per process).
    pub fn below_this_thread(steps: u8) -> GiveWay {
        GiveWay {
            nice: (steps > 0)
                .then(nice_of_this_thread)
                .flatten()
                .map(|now| (now + i32::from(steps.min(MAX_STEPS))).min(LOWEST_NICE)),
        }
    }

    /// Gives the calling thread that priority, unless it is lower already.
    pub fn apply(self) {
        #[cfg(target_os = "linux")]
        if let (Some(nice), Some(now)) = (self.nice, nice_of_this_thread())
            && now < nice
        {
            // SAFETY: gettid and setpriority take plain integers and
            // change nothing but this thread's nice value.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, nice);
            }
        }
    }
}

/// The calling thread's nice value.
#[cfg(target_os = "linux")]
fn nice_of_this_thread() -> Option<i32> {
    // SAFETY: gettid and getpriority take plain integers; errno is this
    // thread's own, cleared first since -1 is also a valid nice value.
    unsafe {
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t);
        (nice != -1 || *libc::__errno_location() == 0).then_some(nice)
    }
}

#[cfg(not(target_os = "linux"))]
fn nice_of_this_thread() -> Option<i32> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn threads_take_one_priority_whoever_started_them() {
        let before = nice_of_this_thread().unwrap();
        let way = GiveWay::below_this_thread(3);
        let (lowered, started_by_lowered) = std::thread::spawn(move || {
            way.apply();
            let nice = nice_of_this_thread().unwrap();
            // A thread started by a thread that gave way already.
            let inner = std::thread::spawn(move || {
                way.apply();
                nice_of_this_thread().unwrap()
            })
            .join()
            .unwrap();
            (nice, inner)
        })
        .join()
        .unwrap();
        assert_eq!(lowered, (before + 3).min(LOWEST_NICE));
        assert_eq!(started_by_lowered, lowered, "not lowered twice");
        assert_eq!(nice_of_this_thread().unwrap(), before, "the caller's stays");
        let capped = std::thread::spawn(|| {
            GiveWay::below_this_thread(MAX_STEPS).apply();
            GiveWay::below_this_thread(MAX_STEPS).apply();
            nice_of_this_thread().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(capped, LOWEST_NICE);
    }
}
