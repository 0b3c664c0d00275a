//! The open-files limit: every connection is a file descriptor, and the
//! connection limits only protect roostd if the kernel lets it reach them.
//! Under a soft limit of 1024 (systemd's and most shells' default) a flood
//! would make `accept` fail with EMFILE before admission could evict
//! anyone, and real clients could not connect at all.

/// Descriptors kept for everything but connections: the database and its
/// WAL, the admin socket, listeners, the runtime's own.
const RESERVED: u64 = 256;

/// Raises the soft limit on open files to the hard limit, and warns when
/// even that is below what the configured connection limits need.
pub fn raise(config: &roost_common::config::Config) {
    let needed = (config.c2s.max_unauthenticated_connections + config.http.max_connections) as u64
        + RESERVED;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `limit`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    let available = limit.rlim_cur;
    if available < needed {
        tracing::warn!(
            "roostd may open only {available} files, but its connection limits \
             ([c2s] max_unauthenticated_connections + [http] max_connections) need about \
             {needed} besides the sessions of logged-in users; raise the limit \
             (LimitNOFILE= in a systemd unit, ulimit -n) or lower those options"
        );
    }
}

#[cfg(test)]
mod tests {
    fn limits() -> (u64, u64) {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes `limit`.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        (limit.rlim_cur, limit.rlim_max)
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let (_, hard) = limits();
        let lowered = libc::rlimit {
            rlim_cur: hard.min(512),
            rlim_max: hard,
        };
        // SAFETY: setrlimit only reads `lowered`; lowering the soft limit
        // of this test process is always allowed.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) }, 0);
        super::raise(&roost_common::config::Config::default());
        assert_eq!(limits(), (hard, hard));
    }
}
