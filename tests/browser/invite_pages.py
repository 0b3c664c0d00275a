#!/usr/bin/env python3
"""The invite landing page and web registration in a real browser.

Starts the real roostd (temporary data directory, free loopback ports),
makes an invite with the real roostctl, then drives headless Chromium at
phone size (390x844) through the landing page, the registration form and
the success page, checking each and taking a screenshot of each; finally
checks with roostctl that the account exists.

Chromium is driven over the DevTools protocol on --remote-debugging-pipe
(JSON messages ending in NUL, on file descriptors 3 and 4), so this needs
nothing but Python's standard library and Debian's chromium.

Exit status 0 when every check passed; 1 with a message on the first one
that failed.
"""

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "localhost"
INVITER = "anna@localhost"
NEW_USER = "alice"
NEW_PASSWORD = "my browser password"
WIDTH, HEIGHT = 390, 844


class Failure(Exception):
    pass


def check(condition, what):
    """One check: counted when it passes, fatal when it does not."""
    if not condition:
        raise Failure(what)
    check.passed += 1


check.passed = 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Roost:
    """roostd on free ports with its own data directory, and roostctl."""

    def __init__(self, roostd, roostctl, workdir):
        self.roostctl = roostctl
        data = os.path.join(workdir, "data")
        self.socket = os.path.join(data, "roostd.sock")
        self.http_port = free_port()
        config = os.path.join(workdir, "roost.toml")
        with open(config, "w") as f:
            f.write(
                f'hosts = ["{HOST}"]\ndata_dir = "{data}"\nlog_level = "warn"\n'
                f'[http]\nbind = "127.0.0.1:{self.http_port}"\n'
                f'[c2s]\nbind = ["127.0.0.1:{free_port()}"]\n'
            )
        self.log = open(os.path.join(workdir, "roostd.log"), "w+")
        self.proc = subprocess.Popen(
            [roostd, "--config", config],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
        )
        # The admin socket is opened last: once it answers, roostd is ready.
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise Failure(f"roostd exited with {self.proc.returncode}: {self.logged()}")
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(self.socket)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise Failure(f"roostd not ready after 30 s: {self.logged()}")
                time.sleep(0.05)

    def logged(self):
        self.log.seek(0)
        return self.log.read()

    def ctl(self, *args, stdin=None):
        out = subprocess.run(
            [self.roostctl, "--socket", self.socket, *args],
            input=stdin,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise Failure(f"roostctl {' '.join(args)} exited {out.returncode}: {out.stderr}")
        return out.stdout

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Chromium:
    """Headless Chromium and one page, over the DevTools pipe."""

    def __init__(self, binary, workdir):
        # Chromium reads commands on fd 3 and writes answers on fd 4. Our
        # ends are moved above 10 first, so that the dup2 calls in the child
        # cannot clobber each other.
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()
        child_in = fcntl.fcntl(to_child, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_child, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child)
        os.close(from_child)

        def pipes_on_3_and_4():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        args = [
            binary,
            "--headless=new",
            "--remote-debugging-pipe",
            f"--user-data-dir={os.path.join(workdir, 'chromium')}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--mute-audio",
            f"--window-size={WIDTH},{HEIGHT}",
            "about:blank",
        ]
        if os.geteuid() == 0:
            # Chromium's sandbox refuses to run as root.
            args.insert(1, "--no-sandbox")
        self.stderr = open(os.path.join(workdir, "chromium.log"), "w+")
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self.stderr,
            stderr=self.stderr,
            close_fds=False,  # our own descriptors are all close-on-exec
            preexec_fn=pipes_on_3_and_4,
        )
        os.close(child_in)
        os.close(child_out)
        self._buffer = b""
        self._next_id = 0
        self.events = []
        self.session = None
        try:
            self._open_page()
        except BaseException:
            self.close()
            raise

    def _open_page(self):
        targets = self.call("Target.getTargets")["targetInfos"]
        pages = [t for t in targets if t["type"] == "page"]
        if pages:
            target = pages[0]["targetId"]
        else:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=2,
            mobile=True,
        )

    def _send(self, message):
        data = json.dumps(message).encode() + b"\0"
        while data:
            try:
                data = data[os.write(self._write, data) :]
            except OSError as e:
                self.stderr.seek(0)
                raise Failure(f"Chromium is not listening ({e}): {self.stderr.read()[-2000:]}")

    def _receive(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise Failure("Chromium did not answer in time")
            if self.proc.poll() is not None:
                self.stderr.seek(0)
                raise Failure(f"Chromium exited: {self.stderr.read()[-2000:]}")
            ready, _, _ = select.select([self._read], [], [], 0.2)
            if ready:
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise Failure("Chromium closed the DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, timeout=30, **params):
        """Sends one command and returns its result; events that arrive
        meanwhile are kept in `events`."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        self._send(message)
        deadline = time.monotonic() + timeout
        while True:
            answer = self._receive(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise Failure(f"{method}: {answer['error']}")
                return answer.get("result", {})
            if "method" in answer:
                self.events.append(answer)

    def wait_for_load(self, timeout=30):
        """Waits for the next page load to finish; other events stay in
        `events`."""
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == "Page.loadEventFired":
                    del self.events[i]
                    return
            self.events.append(self._receive(deadline))

    def navigate(self, url):
        self.events.clear()
        result = self.call("Page.navigate", url=url)
        if result.get("errorText"):
            raise Failure(f"navigating to {url}: {result['errorText']}")
        self.wait_for_load()

    def js(self, expression):
        """The value of a JavaScript expression in the page. (DevTools
        evaluation is not subject to the page's CSP, which forbids scripts.)"""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise Failure(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click_and_wait(self, selector):
        self.events.clear()
        found = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            f" if (!e) return false; e.click(); return true; }})()"
        )
        check(found, f"{selector} is on the page")
        self.wait_for_load()

    def text(self):
        return self.js("document.body.innerText")

    def screenshot(self, path):
        """The whole page at phone width, as PNG."""
        height = self.js("Math.ceil(document.documentElement.scrollHeight)")
        png = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": WIDTH, "height": max(height, HEIGHT), "scale": 1},
        )["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))
        print(f"  screenshot: {path}")

    def problems(self):
        """Console errors and CSP violations logged so far."""
        found = []
        for event in self.events:
            if event.get("method") == "Log.entryAdded":
                entry = event["params"]["entry"]
                if entry["level"] == "error":
                    found.append(entry["text"])
            if event.get("method") == "Runtime.consoleAPICalled" and event["params"]["type"] == "error":
                found.append(str(event["params"]["args"]))
        return found

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call("Browser.close", timeout=5)
            except Failure:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._read)
        os.close(self._write)
        self.stderr.close()


def common_page_checks(browser, what):
    """What every page must do on a phone: be styled (so the CSP let our
    style sheet through), fit the width, log no error."""
    check(
        browser.js("document.querySelector('meta[name=viewport]') !== null"),
        f"{what}: has a viewport meta",
    )
    overflow = browser.js("document.documentElement.scrollWidth")
    check(overflow <= WIDTH, f"{what}: fits {WIDTH} px without side-scrolling (is {overflow})")
    check(
        browser.js("getComputedStyle(document.body).backgroundColor") != "rgba(0, 0, 0, 0)",
        f"{what}: the inline style sheet applies (CSP hash matches)",
    )
    check(
        browser.js("document.scripts.length") == 0,
        f"{what}: has no script",
    )
    resources = browser.js("performance.getEntriesByType('resource').map(r => r.name)")
    check(resources == [], f"{what}: loads nothing else ({resources})")
    problems = browser.problems()
    check(problems == [], f"{what}: console errors {problems}")


def run(args, workdir):
    roost = Roost(args.roostd, args.roostctl, workdir)
    browser = None
    try:
        roost.ctl("user", "create", INVITER, "--password-stdin", stdin="anna's password\n")
        url = roost.ctl(
            "invite", "create", HOST, "--type", "both", "--inviter", INVITER
        ).strip()
        check(url.startswith(f"http://127.0.0.1:{roost.http_port}/invite/"), f"invite URL {url}")
        token = url.rsplit("/", 1)[1]
        os.makedirs(args.out, exist_ok=True)
        browser = Chromium(args.chromium, workdir)

        print(f"landing page: {url}")
        browser.navigate(url)
        check(browser.js("document.title") == f"Invite to {HOST}", "landing page title")
        text = browser.text()
        for expected in [
            f"You have been invited to chat with {INVITER} on {HOST}",
            "Get started",
            "Conversations",
            "Monal",
            "Gajim",
            "Open in your app",
            "Register in your browser",
        ]:
            check(expected in text, f"landing page says {expected!r}")
        uri = f"xmpp:{INVITER}?roster;preauth={token};ibr=y"
        check(
            browser.js(f"document.querySelector('a[href=\"{uri}\"]') !== null"),
            "landing page links the xmpp: URI",
        )
        qr = browser.js(
            "(() => { const q = document.querySelector('svg.qr');"
            " return q ? q.getBoundingClientRect().width : 0; })()"
        )
        check(qr >= 150, f"landing page shows the QR code ({qr} px wide)")
        common_page_checks(browser, "landing page")
        browser.screenshot(os.path.join(args.out, "invite-page.png"))

        print("registration form")
        browser.click_and_wait("#register")
        check(
            browser.js("location.pathname") == f"/invite/{token}/register",
            "the link leads to the registration form",
        )
        check(browser.js("document.title") == f"Register on {HOST}", "form title")
        text = browser.text()
        check(f"@{HOST}" in text, "the username shows its @host")
        check(f"You and {INVITER} will be contacts" in text, "the form names the inviter")
        cookies = browser.call("Network.getCookies")["cookies"]
        csrf = [c for c in cookies if c["name"] == "roost_csrf"]
        check(
            len(csrf) == 1 and csrf[0]["httpOnly"] and csrf[0]["sameSite"] == "Strict",
            f"the CSRF cookie is HttpOnly and SameSite=Strict ({csrf})",
        )
        check(
            browser.js("document.querySelector('input[name=csrf]').value") == csrf[0]["value"],
            "the form carries the cookie's value",
        )
        common_page_checks(browser, "registration form")
        browser.screenshot(os.path.join(args.out, "register-form.png"))

        print("submitting the form")
        browser.js(
            "(() => { const set = (id, v) => { document.getElementById(id).value = v; };"
            f" set('user', {json.dumps(NEW_USER)});"
            f" set('password', {json.dumps(NEW_PASSWORD)});"
            f" set('password2', {json.dumps(NEW_PASSWORD)}); }})()"
        )
        browser.click_and_wait("button[type=submit]")
        text = browser.text()
        jid = f"{NEW_USER}@{HOST}"
        check(f"Your account {jid} is ready" in text, f"success page names {jid}: {text[:300]!r}")
        check(f"{INVITER} is already in your contacts" in text, "success page names the contact")
        check(NEW_PASSWORD not in browser.js("document.documentElement.outerHTML"),
              "the password is not echoed")
        check(
            browser.js(f"document.querySelector('a[href=\"xmpp:{jid}\"]') !== null"),
            "success page links xmpp:JID",
        )
        check(browser.js("document.querySelector('svg.qr') !== null"), "success page QR code")
        common_page_checks(browser, "success page")
        browser.screenshot(os.path.join(args.out, "register-success.png"))

        print("the invite is used up")
        browser.navigate(url)
        check(browser.js("document.title") == "Invite invalid", "the used invite's page is invalid")
        browser.events.clear()  # the 404 is logged as a console error, rightly

        listed = roost.ctl("user", "list", HOST).split()
        check(jid in listed, f"roostctl user list {HOST} shows {jid} ({listed})")
    finally:
        if browser:
            browser.close()
        roost.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--roostd", default="target/debug/roostd")
    parser.add_argument("--roostctl", default="target/debug/roostctl")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--out", default="docs/screenshots", help="where the screenshots go")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="roost-browser-")
    try:
        run(args, workdir)
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        print(f"browser: {check.passed} passed, 1 failed")
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"browser: {check.passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
