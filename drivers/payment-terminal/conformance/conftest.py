"""Fixtures: a `posdev sim terminal --concert-pty` process per test.

POSDEV_BIN must point at the posdev binary (scripts/test-terminal-conformance.sh sets it).
"""
import json
import os
import queue
import subprocess
import threading

import pytest


class Sim:
    def __init__(self, behaviour):
        binary = os.environ.get("POSDEV_BIN")
        if not binary or not os.access(binary, os.X_OK):
            pytest.fail("POSDEV_BIN is not set to an executable posdev binary: %r" % binary)
        self.proc = subprocess.Popen(
            [binary, "--json", "sim", "terminal", "--concert-pty", "--behaviour", behaviour],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        first = self.lines.get(timeout=10)
        self.path = first["pty"]

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def event(self, name, timeout=10):
        """The next event called `name` (earlier events of other kinds are skipped)."""
        while True:
            e = self.lines.get(timeout=timeout)
            if e.get("event") == name:
                return e

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def sim():
    s = Sim("amount-rule")
    yield s
    s.stop()
