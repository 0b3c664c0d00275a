"""A phone with stream management (XEP-0198) that loses its connection, as
a slixmpp client of a test roostd.

Usage: sm.py PORT CA_FILE DOMAIN PASSWORD

The phone (alice) enables stream management with resumption; bob writes
to it; the phone's connection is cut without a closing tag; bob writes
twice more; the phone connects again, resumes, and gets the rest; bob
writes once more. Prints one JSON object with what happened, in order, for
tests/tests/slixmpp_sm.rs to check.
"""

import asyncio
import json

from harness import DOMAIN, PORT, TIMEOUT, TestClient


class Client(TestClient):
    def __init__(self, user, resource, plugins):
        super().__init__(user, resource, plugins)
        self.bodies = []
        self.events = []
        for event in ["session_start", "sm_enabled", "session_resumed", "sm_failed", "disconnected"]:
            self.add_event_handler(event, self.on_event(event))

    def on_event(self, name):
        def handler(_):
            self.events.append(name)
            self.arrived.set()
        return handler

    def on_message(self, msg):
        if msg["body"]:
            self.bodies.append(msg["body"])
            self.arrived.set()

    async def until(self, done):
        while not done():
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), TIMEOUT)


async def main():
    phone = Client("alice", "phone", ["xep_0030", "xep_0199", "xep_0198"])
    bob = Client("bob", "desk", ["xep_0030", "xep_0199"])
    for client in (phone, bob):
        await client.start()
    sm = phone.plugin["xep_0198"]
    await phone.until(lambda: "sm_enabled" in phone.events)
    resumable = sm.sm_id is not None

    def say(body):
        bob.send_message(mto=phone.boundjid, mbody=body, mtype="chat")

    say("m1")
    await phone.until(lambda: "m1" in phone.bodies)
    # The network goes: no closing tag, no acknowledgement of what is on
    # its way.
    phone.abort()
    await phone.until(lambda: "disconnected" in phone.events)
    say("m2")
    say("m3")
    await bob.plugin["xep_0199"].ping(jid=DOMAIN, timeout=TIMEOUT)
    phone.connect("127.0.0.1", int(PORT))
    await phone.until(lambda: "session_resumed" in phone.events or "sm_failed" in phone.events)
    await phone.until(lambda: "m3" in phone.bodies)
    say("m4")
    await phone.until(lambda: "m4" in phone.bodies)
    await phone.plugin["xep_0199"].ping(jid=DOMAIN, timeout=TIMEOUT)

    print(json.dumps({
        "resumable": resumable,
        "events": phone.events,
        "bodies": phone.bodies,
        "jid": str(phone.boundjid),
    }))
    for client in (phone, bob):
        client.disconnect()


asyncio.run(main())
