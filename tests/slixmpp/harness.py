"""What the slixmpp scripts of the end-to-end tests share: their arguments
(PORT CA_FILE DOMAIN PASSWORD, given by tests/src/slixmpp.rs) and a client
of the test roostd that trusts the test CA, registers its plugins, sends
its presence once its session started and notes arriving messages.
"""

import asyncio
import sys

import slixmpp

PORT, CA_FILE, DOMAIN, PASSWORD = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
TIMEOUT = 20


class TestClient(slixmpp.ClientXMPP):
    """USER@DOMAIN/RESOURCE with `plugins`; subclasses say what a message
    means to them (`on_message`) and call `self.arrived.set()`."""

    def __init__(self, user, resource, plugins):
        super().__init__(f"{user}@{DOMAIN}/{resource}", PASSWORD)
        self.ca_certs = CA_FILE
        self.arrived = asyncio.Event()
        self.started = asyncio.Event()
        for plugin in plugins:
            self.register_plugin(plugin)
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)

    async def on_start(self, _):
        self.send_presence()
        self.started.set()

    def on_message(self, msg):
        pass

    async def start(self):
        """Connects to the test roostd and waits for the session."""
        self.connect("127.0.0.1", int(PORT))
        await asyncio.wait_for(self.started.wait(), TIMEOUT)
