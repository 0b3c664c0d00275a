#!/usr/bin/env python3
"""Phone profile check (issue 13): are carbons, stream management and the message
archive really on in the server under test? Independent of the load generator,
which does not look at the answers it waits for.

  bench/phone/check-features.py --port 6222 [--host 127.0.0.1] [--domain bench.test]
      [--user bench5000 --peer bench5001 --password benchpass] [--json OUT]

Three TLS sessions (STARTTLS, SCRAM-SHA-1, bind): USER/phoneA, USER/phoneB and
PEER/phoneC, each enabling carbons (XEP-0280); phoneA also enables stream
management (XEP-0198, resume='true') and asks for an ack. PEER sends to
USER/phoneA: phoneB must get a <received/> carbon. phoneA sends to PEER: phoneB
must get a <sent/> carbon. Then phoneB pages back through its archive (XEP-0313,
urn:xmpp:mam:2, the last 2 messages): both test messages must be in it.
Prints one JSON object (the checks, and the servers' own answers as evidence);
exit status 1 if a check failed. Bounded: every wait times out after --timeout s.
"""
import argparse, base64, hashlib, hmac, json, os, re, socket, ssl, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--domain", default="bench.test")
ap.add_argument("--user", default="bench5000")
ap.add_argument("--peer", default="bench5001")
ap.add_argument("--password", default="benchpass")
ap.add_argument("--timeout", type=float, default=10.0)
ap.add_argument("--json", help="also write the result here")
args = ap.parse_args()

NS_STREAM = ("<?xml version='1.0'?><stream:stream to='%s' version='1.0' xmlns='jabber:client' "
             "xmlns:stream='http://etherx.jabber.org/streams'>" % args.domain)


class Failed(Exception):
    pass


class Session:
    """One client connection; `text` is everything received, read by regex."""

    def __init__(self, user, resource):
        self.user, self.resource = user, resource
        self.sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
        self.text = ""
        self.features = ""

    def send(self, data):
        self.sock.sendall(data.encode())

    def wait(self, pattern, what, since=0):
        """First match of `pattern` in the received text from `since` on."""
        rx = re.compile(pattern, re.S)
        deadline = time.monotonic() + args.timeout
        while True:
            m = rx.search(self.text, since)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed(f"{self.user}/{self.resource}: no {what} within {args.timeout} s; "
                             f"last received: {self.text[-400:]!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise Failed(f"{self.user}/{self.resource}: connection closed while waiting for {what}; "
                             f"last received: {self.text[-400:]!r}")
            self.text += chunk.decode("utf-8", "replace")

    def open_stream(self):
        start = len(self.text)
        self.send(NS_STREAM)
        m = self.wait(r"<stream:features.*?</stream:features>", "stream features", start)
        self.features = m.group(0)
        return m.end()

    def login(self):
        self.open_stream()
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        self.wait(r"<proceed[^>]*>", "STARTTLS proceed")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE   # the bench's self-signed certificate
        self.sock = ctx.wrap_socket(self.sock, server_hostname=args.domain)
        self.text = ""
        self.open_stream()
        self.scram_sha1()
        self.text = ""
        self.open_stream()
        start = len(self.text)
        self.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                  f"<resource>{self.resource}</resource></bind></iq>")
        m = self.wait(r"<iq[^>]*id=['\"]bind1['\"].*?</iq>", "bind result", start)
        j = re.search(r"<jid>([^<]+)</jid>", m.group(0))
        if not j:
            raise Failed(f"bind failed: {m.group(0)}")
        self.jid = j.group(1)

    def scram_sha1(self):
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n={self.user},r={nonce}"
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>"
                  + base64.b64encode(("n,," + first_bare).encode()).decode() + "</auth>")
        m = self.wait(r"<challenge[^>]*>([^<]*)</challenge>|<failure.*?</failure>", "SASL challenge")
        if not m.group(1):
            raise Failed(f"SCRAM-SHA-1 refused: {m.group(0)}")
        server_first = base64.b64decode(m.group(1)).decode()
        f = dict(kv.split("=", 1) for kv in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha1", args.password.encode(), base64.b64decode(f["s"]), int(f["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
        without_proof = f"c=biws,r={f['r']}"
        auth_message = f"{first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(hashlib.sha1(client_key).digest(), auth_message, hashlib.sha1).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        start = len(self.text)
        self.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64.b64encode(
            f"{without_proof},p={base64.b64encode(proof).decode()}".encode()).decode() + "</response>")
        m = self.wait(r"<success[^>]*?(/>|>.*?</success>)|<failure.*?</failure>", "SASL outcome", start)
        if not m.group(0).startswith("<success"):
            raise Failed(f"SCRAM-SHA-1 failed: {m.group(0)}")

    def iq(self, iq_id, body):
        start = len(self.text)
        self.send(body)
        return self.wait(r"<iq[^>]*id=['\"]%s['\"][^>]*?(/>|>.*?</iq>)" % iq_id, f"iq {iq_id} answer", start).group(0)


checks, evidence = {}, {}


def check(name, ok, what):
    checks[name] = bool(ok)
    evidence[name] = what


def run():
    a1 = Session(args.user, "phoneA")
    a2 = Session(args.user, "phoneB")
    b = Session(args.peer, "phoneC")
    for s in (a1, a2, b):
        s.login()
    check("sm_offered", "urn:xmpp:sm:3" in a1.features, "stream features after login: " + a1.features)
    for s in (a1, a2, b):
        answer = s.iq("cb1", "<iq type='set' id='cb1'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
        check(f"carbons_enabled_{s.resource}", re.search(r"type=['\"]result['\"]", answer), answer)
    start = len(a1.text)
    a1.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
    m = a1.wait(r"<(enabled|failed)[^>]*?(/>|>.*?</failed>)", "<enabled/> or <failed/>", start)
    check("sm_enabled_with_resume", m.group(1) == "enabled" and re.search(r"resume=['\"](true|1)['\"]", m.group(0)),
          m.group(0))
    for s in (a1, a2, b):
        s.send("<presence/>")
    tag = f"phone-check-{int(time.time() * 1000)}"
    # 1. incoming message to phoneA: phoneB gets a <received/> carbon
    b.send(f"<message type='chat' to='{a1.jid}' id='{tag}-in'><body>{tag} in</body></message>")
    m = a1.wait(r"<message[^>]*>(?:(?!</message>).)*?<body>%s in</body>.*?</message>" % tag, "the incoming message")
    check("message_delivered", True, m.group(0))
    check("stanza_id_on_delivery", "urn:xmpp:sid:0" in m.group(0), m.group(0))
    m = a2.wait(r"<received xmlns=['\"]urn:xmpp:carbons:2['\"]>(?:(?!</received>).)*?%s in.*?</received>" % tag,
                "the <received/> carbon")
    check("carbon_received", True, m.group(0))
    # 2. outgoing message from phoneA: phoneB gets a <sent/> carbon
    a1.send(f"<message type='chat' to='{b.jid}' id='{tag}-out'><body>{tag} out</body></message>")
    b.wait(r"<body>%s out</body>" % tag, "the outgoing message at the peer")
    m = a2.wait(r"<sent xmlns=['\"]urn:xmpp:carbons:2['\"]>(?:(?!</sent>).)*?%s out.*?</sent>" % tag,
                "the <sent/> carbon")
    check("carbon_sent", True, m.group(0))
    # 3. stream management: an ack request is answered with the count of stanzas handled
    start = len(a1.text)
    a1.send("<r xmlns='urn:xmpp:sm:3'/>")
    m = a1.wait(r"<a [^>]*xmlns=['\"]urn:xmpp:sm:3['\"][^>]*/>|<a [^>]*h=['\"]\d+['\"][^>]*/>", "the <a/> answer", start)
    check("sm_ack_answered", True, m.group(0))
    # 4. archive: the last two messages of USER's archive are the two test messages
    time.sleep(0.5)   # an archive written after delivery (asynchronously) has its chance
    answer_start = len(a2.text)
    answer = a2.iq("mam1", "<iq type='set' id='mam1'><query xmlns='urn:xmpp:mam:2' queryid='f1'>"
                   "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><before/></set></query></iq>")
    results = re.findall(r"<message[^>]*>(?:(?!</message>).)*?<result[^>]*queryid=['\"]f1['\"].*?</message>",
                         a2.text[answer_start:], re.S)
    bodies = [re.search(r"<body>([^<]*)</body>", r).group(1) for r in results if "<body>" in r]
    count = re.search(r"<count>(\d+)</count>", answer)
    check("mam_has_both_messages", f"{tag} in" in bodies and f"{tag} out" in bodies,
          {"fin": answer, "result_bodies": bodies, "count": count and int(count.group(1))})
    for s in (a1, a2, b):
        try:
            s.send("</stream:stream>")
            s.sock.close()
        except OSError:
            pass


error = None
try:
    run()
except (Failed, OSError, ssl.SSLError, KeyError, ValueError) as e:
    error = str(e)
out = {"host": args.host, "port": args.port, "domain": args.domain, "ok": error is None and all(checks.values()),
       "error": error, "checks": checks, "evidence": evidence}
text = json.dumps(out, indent=1)
print(text)
if args.json:
    with open(args.json, "w") as f:
        f.write(text + "\n")
sys.exit(0 if out["ok"] else 1)
