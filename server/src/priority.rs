//! CPU priority between roostd's threads. The runtime's threads, which
//! read from connections and route stanzas, lower their own priority by
//! `[storage] priority` nice steps at start; the storage thread keeps the
//! process's. Where the two compete for a CPU (a small server, one core),
//! work already accepted, such as the archive's queue of messages, then
//! drains before more is read from the network: its queue stays short and
//! senders are slowed evenly by the CPU they get, instead of running until
//! the queue is full and then all waiting at once for a whole batch of
//! writes (delivery p99 of 40 ms instead of 15 ms in the phone benchmark).
//!
//! A thread may lower its own priority but not raise it again, and a new
//! thread inherits its creator's: the storage thread is started from the
//! thread that starts roostd ([`crate::run`]), never from the runtime's.

/// The most nice steps a thread may lower itself by (Linux's range).
pub const MAX_STEPS: u8 = 19;

/// Lowers the calling thread's priority by `steps` nice steps (none on
/// systems other than Linux, where nice is per process).
pub fn lower_this_thread(steps: u8) {
    #[cfg(target_os = "linux")]
    if steps > 0 {
        // SAFETY: gettid, getpriority and setpriority take plain integers
        // and change nothing but this thread's nice value.
        unsafe {
            let tid = libc::gettid() as libc::id_t;
            *libc::__errno_location() = 0;
            let now = libc::getpriority(libc::PRIO_PROCESS, tid);
            if now == -1 && *libc::__errno_location() != 0 {
                return;
            }
            let lowered = (now + i32::from(steps.min(MAX_STEPS))).min(19);
            libc::setpriority(libc::PRIO_PROCESS, tid, lowered);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = steps;
}

/// The calling thread's nice value.
#[cfg(all(test, target_os = "linux"))]
fn nice_of_this_thread() -> i32 {
    // SAFETY: as above.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_thread_lowers_itself_and_no_other() {
        let before = nice_of_this_thread();
        let lowered = std::thread::spawn(|| {
            lower_this_thread(3);
            nice_of_this_thread()
        })
        .join()
        .unwrap();
        assert_eq!(lowered, (before + 3).min(19));
        assert_eq!(nice_of_this_thread(), before, "the caller's stays");
        let capped = std::thread::spawn(|| {
            lower_this_thread(MAX_STEPS);
            lower_this_thread(MAX_STEPS);
            nice_of_this_thread()
        })
        .join()
        .unwrap();
        assert_eq!(capped, 19);
    }
}
