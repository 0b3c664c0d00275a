"""A new device reads the history, as slixmpp clients of a test roostd.

Usage: archive.py PORT CA_FILE DOMAIN PASSWORD

Bob writes 25 messages to alice's laptop, which answers every fifth; then
alice logs in on a new phone, which pages through her archive (XEP-0313
with XEP-0059 paging, slixmpp's plugins) forwards and backwards, 10 at a
time, and with bob only. Prints one JSON object for
tests/tests/slixmpp_archive.rs to check: what each way found, and the
stanza ids (XEP-0359) the laptop was delivered.
"""

import asyncio
import json

import slixmpp

from harness import DOMAIN, TIMEOUT, TestClient

ALICE = f"alice@{DOMAIN}"


class Client(TestClient):
    def __init__(self, user, resource):
        super().__init__(user, resource, ["xep_0030", "xep_0059", "xep_0199", "xep_0313", "xep_0359"])
        self.seen = []

    def on_message(self, msg):
        if msg["body"]:
            ids = [
                el.get("id")
                for el in msg.xml.findall("{urn:xmpp:sid:0}stanza-id")
                if el.get("by") == ALICE
            ]
            self.seen.append([msg["body"], ids])
            self.arrived.set()

    async def wait_for(self, count):
        while len(self.seen) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), TIMEOUT)


def entry(result):
    """(archive id, sender's bare JID, body) of a MAM result message."""
    inner = result["mam_result"]["forwarded"]["stanza"]
    return [result["mam_result"]["id"], str(inner["from"].bare), inner["body"]]


async def collect(client, **options):
    found = []
    async for result in client.plugin["xep_0313"].iterate(rsm={"max": 10}, **options):
        found.append(entry(result))
    return found


async def main():
    laptop, bob = Client("alice", "laptop"), Client("bob", "desk")
    for client in (laptop, bob):
        await client.start()
    features = await laptop.plugin["xep_0030"].get_info(jid=ALICE, timeout=TIMEOUT)
    mam_offered = "urn:xmpp:mam:2" in features["disco_info"]["features"]

    for i in range(25):
        bob.send_message(mto=laptop.boundjid, mbody=f"bob {i:02}", mtype="chat")
        await laptop.wait_for(i + 1)
        if i % 5 == 4:
            laptop.send_message(mto=bob.boundjid.bare, mbody=f"alice {i:02}", mtype="chat")
            # Handled (and archived) before bob's next message: a ping's
            # answer comes after it.
            await laptop.plugin["xep_0199"].ping(jid=DOMAIN, timeout=TIMEOUT)

    phone = Client("alice", "phone")
    await phone.start()
    forwards = await collect(phone)
    backwards = await collect(phone, reverse=True)
    with_bob = await collect(phone, with_jid=slixmpp.JID(f"bob@{DOMAIN}"))

    print(json.dumps({
        "mam_offered": mam_offered,
        "laptop": laptop.seen,
        "forwards": forwards,
        "backwards": backwards,
        "with_bob": with_bob,
    }))
    for client in (laptop, bob, phone):
        client.disconnect()


asyncio.run(main())
