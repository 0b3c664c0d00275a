//! `roostctl shell` in a real terminal (tmux): the prompt, tab completion
//! of commands, of the host's JIDs and of an account's client ids (fetched
//! from the running roostd), history with the Up arrow, `help`, a table,
//! and Ctrl-D leaving with status 0; `roster show` and `roster refresh`
//! completing accounts and showing a roster as a table; `c2s close` and
//! `c2s list` completing connected sessions. tmux is installed from
//! Debian's packages when it is missing.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use roost_tests::raw::RawClient;
use roost_tests::sasl2::{bind2, password_login, user_agent};
use roost_tests::{HOST, Server, roostctl_bin};

const PASSWORD: &str = "correct horse battery";
const PROMPT: &str = "roost> ";

fn install_tmux() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let status = Command::new("sh")
            .arg("-c")
            .arg(
                "command -v tmux >/dev/null || { apt-get update -qq && \
                 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null; }",
            )
            .status()
            .expect("run sh");
        assert!(status.success(), "installing tmux failed");
    });
}

/// A tmux server of its own (its socket in a temporary directory) running
/// one program in a 160×50 terminal; killed when dropped.
struct Terminal {
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Terminal {
    fn start(program: &str) -> Terminal {
        install_tmux();
        let dir = tempfile::tempdir().expect("temp dir");
        let terminal = Terminal {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        };
        terminal.tmux(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "160",
            "-y",
            "50",
            program,
        ]);
        // Keep the pane after the program exits, to read its status.
        terminal.tmux(&["set-option", "-t", "t", "remain-on-exit", "on"]);
        terminal
    }

    fn tmux(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    /// Presses keys by tmux name (`Tab`, `Enter`, `Up`, `C-d`).
    fn press(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "t", key]);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// Waits until the screen satisfies `check` (it is redrawn as the
    /// program answers); panics with the screen after 15 seconds.
    fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last line that holds the prompt (the one being edited).
    fn input_line(screen: &str) -> String {
        screen
            .lines()
            .rev()
            .find(|l| l.starts_with(PROMPT.trim_end()))
            .unwrap_or("")
            .trim_end()
            .to_owned()
    }

    /// Waits until the line being edited reads `PROMPT + line`.
    fn wait_for_input(&self, line: &str) -> String {
        let want = format!("{PROMPT}{line}").trim_end().to_owned();
        self.wait_for(&format!("the input line {want:?}"), |screen| {
            Terminal::input_line(screen) == want
        })
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// The shell, then its exit status on the screen (tmux 3.3 shows no
/// `pane_dead_status` for 0).
fn shell_command(server: &Server, state: &Path) -> String {
    format!(
        "env TERM=xterm-256color XDG_STATE_HOME={} {} --config {} shell; echo \"exit status $?\"",
        state.display(),
        roostctl_bin().display(),
        server.config_path().display()
    )
}

#[tokio::test]
async fn the_shell_completes_remembers_helps_shows_tables_and_leaves_on_ctrl_d() {
    let server = Server::start();
    server.create_user(&format!("alice@{HOST}"), PASSWORD);
    server.create_user(&format!("bob@{HOST}"), PASSWORD);
    // alice has one client, known by its SASL2 id, bound with Bind2.
    let (_alice, _) = password_login(
        &server,
        "alice",
        PASSWORD,
        &format!(
            "{}{}",
            user_agent("repl-client-1", "ReplTest", "tty"),
            bind2(Some("Repl"))
        ),
    )
    .await;
    let state = tempfile::tempdir().expect("state dir");
    let terminal = Terminal::start(&shell_command(&server, state.path()));
    terminal.wait_for("the greeting and prompt", |s| {
        s.contains("Type help") && Terminal::input_line(s) == PROMPT.trim_end()
    });

    // A command word.
    terminal.type_text("us");
    terminal.press("Tab");
    terminal.wait_for_input("user ");
    terminal.type_text("cl");
    terminal.press("Tab");
    terminal.wait_for_input("user clients ");
    // The host's JIDs, from roostd.
    terminal.type_text("b");
    terminal.press("Tab");
    terminal.wait_for_input(&format!("user clients bob@{HOST} "));
    terminal.press("C-u");
    terminal.wait_for_input("");
    terminal.type_text("user clients a");
    terminal.press("Tab");
    terminal.wait_for_input(&format!("user clients alice@{HOST} "));

    // A table on a terminal.
    terminal.press("Enter");
    let screen = terminal.wait_for("the clients table", |s| {
        s.contains("client/repl-client-1") && Terminal::input_line(s) == PROMPT.trim_end()
    });
    assert!(
        screen.contains("ReplTest"),
        "the software column:\n{screen}"
    );
    let columns = [
        "id",
        "software",
        "device",
        "first seen",
        "last seen",
        "auth",
        "connected",
    ];
    assert!(
        screen.lines().any(|line| {
            let mut rest = line;
            columns.iter().all(|column| match rest.find(column) {
                Some(at) => {
                    rest = &rest[at + column.len()..];
                    true
                }
                None => false,
            })
        }),
        "a table with a header row, as on a terminal:\n{screen}"
    );

    // The account's client ids, from roostd.
    terminal.type_text(&format!("user revoke_client alice@{HOST} "));
    terminal.press("Tab");
    terminal.wait_for_input(&format!(
        "user revoke_client alice@{HOST} client/repl-client-1 "
    ));
    terminal.press("C-u");
    terminal.wait_for_input("");

    // History: Up brings back the last command run.
    terminal.press("Up");
    terminal.wait_for_input(&format!("user clients alice@{HOST}"));
    terminal.press("C-u");

    terminal.type_text("help");
    terminal.press("Enter");
    let screen = terminal.wait_for("the help", |s| {
        s.contains("invites-api") && Terminal::input_line(s) == PROMPT.trim_end()
    });
    assert!(screen.contains("Manage user accounts"), "{screen}");

    terminal.press("C-d");
    terminal.wait_for("the shell to exit with status 0", |s| {
        s.contains("exit status 0")
    });
    let history = std::fs::read_to_string(state.path().join("roost/shell_history"))
        .expect("history saved on exit");
    assert!(
        history.contains(&format!("user clients alice@{HOST}")),
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_commands_complete_accounts_and_show_a_table() {
    let server = Server::start();
    server.create_user(&format!("alice@{HOST}"), PASSWORD);
    server.create_user(&format!("bob@{HOST}"), PASSWORD);
    let mut alice = RawClient::bound(&server, "alice", PASSWORD, "desk").await;
    alice
        .send(&format!(
            "<iq type='set' id='set1'><query xmlns='jabber:iq:roster'>\
             <item jid='bob@{HOST}' name='Bobby'><group>Friends</group></item></query></iq>"
        ))
        .await;
    let answer = alice.read_iq("set1").await;
    assert!(answer.contains("type='result'"), "{answer}");

    let state = tempfile::tempdir().expect("state dir");
    let terminal = Terminal::start(&shell_command(&server, state.path()));
    terminal.wait_for("the greeting and prompt", |s| {
        s.contains("Type help") && Terminal::input_line(s) == PROMPT.trim_end()
    });
    terminal.type_text("ros");
    terminal.press("Tab");
    terminal.wait_for_input("roster ");
    terminal.type_text("sh");
    terminal.press("Tab");
    terminal.wait_for_input("roster show ");
    terminal.type_text("a");
    terminal.press("Tab");
    terminal.wait_for_input(&format!("roster show alice@{HOST} "));

    // A table on a terminal, under a line saying where the roster comes from.
    terminal.press("Enter");
    let screen = terminal.wait_for("the roster table", |s| {
        s.contains("Bobby") && Terminal::input_line(s) == PROMPT.trim_end()
    });
    assert!(
        screen.contains(&format!("Roster of alice@{HOST}: kept by roostd;")),
        "{screen}"
    );
    let row = screen
        .lines()
        .find(|l| l.contains("Bobby"))
        .expect("the contact's row");
    let cells: Vec<&str> = row
        .split(['│', '┆'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cells, [&*format!("bob@{HOST}"), "Bobby", "none", "Friends"]);

    // refresh takes many accounts and offers each once.
    terminal.type_text(&format!("roster refresh alice@{HOST} "));
    terminal.press("Tab");
    terminal.wait_for_input(&format!("roster refresh alice@{HOST} bob@{HOST} "));
    // Without delegation, one line and the shell goes on.
    terminal.press("Enter");
    terminal.wait_for("the refusal", |s| {
        s.contains("no roster delegation") && Terminal::input_line(s) == PROMPT.trim_end()
    });
    terminal.press("C-d");
    terminal.wait_for("the shell to exit", |s| s.contains("exit status"));
}

/// Issue 12: `c2s close` and `c2s list` complete the connected sessions'
/// JIDs asked of roostd, and the list is a table on a terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c2s_commands_complete_connected_sessions_and_show_a_table() {
    let server = Server::start();
    server.create_user(&format!("alice@{HOST}"), PASSWORD);
    server.create_user(&format!("bob@{HOST}"), PASSWORD);
    let _alice = RawClient::bound(&server, "alice", PASSWORD, "desk").await;

    let state = tempfile::tempdir().expect("state dir");
    let terminal = Terminal::start(&shell_command(&server, state.path()));
    terminal.wait_for("the greeting and prompt", |s| {
        s.contains("Type help") && Terminal::input_line(s) == PROMPT.trim_end()
    });
    terminal.type_text("c2s cl");
    terminal.press("Tab");
    terminal.wait_for_input("c2s close ");
    // alice's one session, asked of roostd; bob has none.
    terminal.type_text(&format!("alice@{HOST}/"));
    terminal.press("Tab");
    terminal.wait_for_input(&format!("c2s close alice@{HOST}/desk "));
    terminal.press("C-u");
    terminal.wait_for_input("");
    terminal.type_text("c2s show ");
    terminal.type_text("b");
    terminal.press("Tab");
    // Nothing to offer: bob is not connected. Wait for the Tab to be
    // handled by typing after it, then check the line.
    terminal.type_text("!");
    terminal.wait_for_input("c2s show b!");
    terminal.press("C-u");
    terminal.wait_for_input("");

    terminal.type_text("c2s list");
    terminal.press("Enter");
    let screen = terminal.wait_for("the sessions table", |s| {
        s.contains(&format!("alice@{HOST}/desk")) && Terminal::input_line(s) == PROMPT.trim_end()
    });
    let row = screen
        .lines()
        .find(|l| l.contains(&format!("alice@{HOST}/desk")))
        .expect("the session's row");
    let cells: Vec<&str> = row
        .split(['│', '┆'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cells[2..5], ["TLSv1.3", "PLAIN", "-"], "{row}");
    assert!(cells[1].starts_with("127.0.0.1:"), "{row}");

    terminal.type_text(&format!("c2s close alice@{HOST}/desk --reason 'see you'"));
    terminal.press("Enter");
    terminal.wait_for("what was ended", |s| {
        s.contains("ended 1 session") && Terminal::input_line(s) == PROMPT.trim_end()
    });
    terminal.press("C-d");
    terminal.wait_for("the shell to exit", |s| s.contains("exit status"));
}
