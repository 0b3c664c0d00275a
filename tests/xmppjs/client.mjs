// One xmpp.js client (@xmpp/client 0.14: SASL2, Bind2, FAST with
// HT-SHA-256-NONE), driven by an end-to-end test through its standard
// streams: one JSON command a line on stdin, one JSON event a line on
// stdout. The client keeps its FAST token in memory between `start`s, as
// xmpp.js's default token store does, so a second `start` logs in with it.
//
// Environment: XMPP_SERVICE (xmpp://127.0.0.1:PORT), XMPP_DOMAIN, XMPP_USERNAME,
// XMPP_PASSWORD, XMPP_CLIENT_ID, XMPP_SOFTWARE, XMPP_DEVICE, XMPP_RESOURCE (the
// Bind2 tag). NODE_EXTRA_CA_CERTS must name the test CA.
//
// Commands: {"cmd":"start"}, {"cmd":"stop"}, {"cmd":"exit"};
// {"cmd":"drop"} destroys the socket without closing the stream (a phone
// losing its network); {"cmd":"resume"} connects again, which resumes the
// session inside SASL2 when stream management had it resumable;
// {"cmd":"send","to","body"} sends a chat message; {"cmd":"sm"} reports
// stream management's state.
// Events: {"event":"ready"}; {"event":"online","jid","mechanisms"} where
// mechanisms are those of every <authenticate> this start sent, in order
// (a legacy SASL <auth> as "legacy NAME");
// {"event":"token","token","expiry","mechanism"} when the server issued one;
// {"event":"start-failed","condition","text","name","message"};
// {"event":"stream-error","condition","text"}; {"event":"offline"};
// {"event":"stopped"}; {"event":"error","name","message"};
// {"event":"message","from","body"} for each message with a body;
// {"event":"resumed",...} and {"event":"sm",...} with stream management's
// state (enabled, id, inbound, outbound).

import readline from "node:readline";
import { client, xml } from "@xmpp/client";

const env = (name) => {
  const value = process.env[name];
  if (value === undefined) {
    emit({ event: "error", message: `${name} is not set` });
    process.exit(2);
  }
  return value;
};

function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const xmpp = client({
  service: env("XMPP_SERVICE"),
  domain: env("XMPP_DOMAIN"),
  username: env("XMPP_USERNAME"),
  password: env("XMPP_PASSWORD"),
  resource: env("XMPP_RESOURCE"),
  // xmpp.js gives each step (stream open, STARTTLS, close) 2 s by default;
  // a debug roostd on a loaded CI machine can need longer.
  timeout: 20_000,
  userAgent: xml(
    "user-agent",
    { id: env("XMPP_CLIENT_ID") },
    xml("software", {}, env("XMPP_SOFTWARE")),
    xml("device", {}, env("XMPP_DEVICE")),
  ),
});
// The test decides when to connect again; a silent reconnection would hide
// what a revocation did.
xmpp.reconnect.stop();

let sent = [];
xmpp.on("send", (element) => {
  if (element.is("authenticate", "urn:xmpp:sasl:2")) {
    sent.push(element.attrs.mechanism);
  } else if (element.is("auth", "urn:ietf:params:xml:ns:xmpp-sasl")) {
    sent.push(`legacy ${element.attrs.mechanism}`);
  }
});

xmpp.on("element", (element) => {
  if (element.is("error", "http://etherx.jabber.org/streams")) {
    const condition = element
      .getChildElements()
      .find((child) => child.name !== "text")?.name;
    emit({
      event: "stream-error",
      condition: condition ?? null,
      text: element.getChildText("text") ?? null,
    });
  }
});

xmpp.on("stanza", (stanza) => {
  const body = stanza.is("message") ? stanza.getChildText("body") : null;
  if (body !== null) {
    emit({ event: "message", from: stanza.attrs.from, body });
  }
});

const sm = xmpp.streamManagement;
const smState = () => ({
  enabled: sm.enabled,
  id: sm.id,
  inbound: sm.inbound,
  outbound: sm.outbound,
});
sm.on("resumed", () => emit({ event: "resumed", ...smState() }));

// Connects again as xmpp.js's reconnect module does: stream management
// offers <resume/> inside SASL2 when it holds a resumable session.
async function resume() {
  const { service, domain, lang } = xmpp.options;
  try {
    await xmpp.connect(service);
    await xmpp.open({ domain, lang });
  } catch (err) {
    emit({ event: "start-failed", ...describe(err) });
  }
}

xmpp.on("offline", () => emit({ event: "offline" }));
xmpp.on("disconnect", () => emit({ event: "disconnect" }));
// Errors also reject start(); this reports the others (a stream error
// after login) without crashing the process.
xmpp.on("error", (err) => emit({ event: "error", ...describe(err) }));

function describe(err) {
  return {
    name: err?.name ?? null,
    message: String(err?.message ?? err),
  };
}

const saveToken = xmpp.fast.saveToken.bind(xmpp.fast);
xmpp.fast.saveToken = async (token) => {
  emit({ event: "token", ...token });
  await saveToken(token);
};

async function start() {
  sent = [];
  try {
    const jid = await xmpp.start();
    emit({ event: "online", jid: jid.toString(), mechanisms: sent });
  } catch (err) {
    emit({
      event: "start-failed",
      condition: err?.condition ?? null,
      text: err?.text ?? null,
      ...describe(err),
      mechanisms: sent,
    });
  }
}

async function stop() {
  try {
    await xmpp.stop();
  } catch (err) {
    emit({ event: "error", ...describe(err) });
  }
  emit({ event: "stopped" });
}

const commands = readline.createInterface({ input: process.stdin });
// One command at a time, in order.
let queue = Promise.resolve();
commands.on("line", (line) => {
  queue = queue.then(async () => {
    let command;
    let args;
    try {
      args = JSON.parse(line);
      command = args.cmd;
    } catch {
      emit({ event: "error", message: `not JSON: ${line}` });
      return;
    }
    switch (command) {
      case "drop":
        // After STARTTLS, xmpp.js wraps the TLS socket in one of its own.
        (xmpp.socket.socket ?? xmpp.socket).destroy();
        return;
      case "resume":
        return resume();
      case "send":
        return xmpp
          .send(
            xml("message", { to: args.to, type: "chat" }, xml("body", {}, args.body)),
          )
          .catch((err) => emit({ event: "error", ...describe(err) }));
      case "sm":
        emit({ event: "sm", ...smState() });
        return;
      case "start":
        return start();
      case "stop":
        return stop();
      case "exit":
        process.exit(0);
      default:
        emit({ event: "error", message: `unknown command ${command}` });
    }
  });
});
// The test went away: nothing is left to do.
commands.on("close", () => queue.then(() => process.exit(0)));

emit({ event: "ready" });
