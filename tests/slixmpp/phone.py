"""A phone, a laptop and a friend, as slixmpp clients of a test roostd.

Usage: phone.py PORT CA_FILE DOMAIN PASSWORD

The laptop and the phone (alice) enable message carbons (XEP-0280); bob
writes to the laptop, the laptop answers; then the phone says it is
inactive (XEP-0352), bob sends it his presence and a message, and the phone
becomes active again. Prints one JSON object with what each client saw, in
order, for tests/tests/slixmpp_phone.rs to check.
"""

import asyncio
import json
import sys

from harness import DOMAIN, TIMEOUT, TestClient


class Client(TestClient):
    def __init__(self, user, resource):
        super().__init__(user, resource, ["xep_0030", "xep_0199", "xep_0280", "xep_0352"])
        self.seen = []
        self.add_event_handler("carbon_received", self.on_carbon("received"))
        self.add_event_handler("carbon_sent", self.on_carbon("sent"))
        self.add_event_handler("presence", self.on_presence)

    def note(self, entry):
        self.seen.append(entry)
        self.arrived.set()

    def on_message(self, msg):
        if msg["body"]:
            self.note(["message", str(msg["from"]), msg["body"]])

    def on_carbon(self, direction):
        def handler(msg):
            inner = msg["carbon_" + direction]
            self.note([direction, str(inner["from"]), inner["body"]])
        return handler

    def on_presence(self, presence):
        # Every presence stanza, not slixmpp's roster view of it.
        if presence["type"] in ("available", *presence.showtypes) and (
            presence["from"].bare != self.boundjid.bare
        ):
            self.note(["presence", str(presence["from"]), presence["show"]])

    async def wait_for(self, count):
        while len(self.seen) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), TIMEOUT)


async def settle(*clients):
    """Each client's stanzas so far have been handled: a ping is answered."""
    for client in clients:
        await client.plugin["xep_0199"].ping(jid=DOMAIN, timeout=TIMEOUT)


async def main():
    laptop, phone, bob = Client("alice", "laptop"), Client("alice", "phone"), Client("bob", "desk")
    for client in (laptop, phone, bob):
        await client.start()
    for client in (laptop, phone):
        await client.plugin["xep_0280"].enable()
    await settle(laptop, phone, bob)

    # Carbons: bob writes to the laptop, the laptop answers.
    bob.send_message(mto=laptop.boundjid, mbody="hello laptop", mtype="chat")
    await laptop.wait_for(1)
    await phone.wait_for(1)
    laptop.send_message(mto=bob.boundjid.bare, mbody="hi bob", mtype="chat")
    await bob.wait_for(1)
    await phone.wait_for(2)

    # CSI: the phone goes quiet; bob's presence waits, his message does not.
    csi = phone.plugin["xep_0352"].enabled
    phone.plugin["xep_0352"].send_inactive()
    await settle(phone)
    before = len(phone.seen)
    bob.send_presence(pto=phone.boundjid, pshow="away")
    bob.send_message(mto=phone.boundjid, mbody="are you there", mtype="chat")
    await settle(bob)
    await phone.wait_for(before + 1)
    await settle(phone)
    while_inactive = phone.seen[before:]
    await laptop.wait_for(2)  # the carbon of bob's message to the phone
    phone.plugin["xep_0352"].send_active()
    try:
        await phone.wait_for(before + 2)
    except asyncio.TimeoutError:
        print(json.dumps({"timeout": "after active", "phone": phone.seen}), file=sys.stderr)
        raise

    print(json.dumps({
        "laptop": laptop.seen,
        "phone": phone.seen,
        "bob": bob.seen,
        "csi_offered": csi,
        "while_inactive": while_inactive,
    }))
    for client in (laptop, phone, bob):
        client.disconnect()


asyncio.run(main())
