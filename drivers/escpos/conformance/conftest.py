"""Starts `posdev sim printer --listen 127.0.0.1:0` for each test (POSDEV_BIN names the binary)."""
import json
import os
import subprocess
import time
from pathlib import Path

import pytest


class PrinterSim:
    def __init__(self, out_dir: Path):
        binary = os.environ.get("POSDEV_BIN")
        assert binary and Path(binary).exists(), "POSDEV_BIN must name the posdev binary"
        self.out_dir = out_dir
        self.proc = subprocess.Popen(
            [binary, "--json", "sim", "printer", "--listen", "127.0.0.1:0",
             "--out", str(out_dir), "--idle-flush-ms", "0"],
            stdout=subprocess.PIPE, text=True,
        )
        first = json.loads(self.proc.stdout.readline())
        host, port = first["listen"].rsplit(":", 1)
        self.host, self.port = host, int(port)

    def receipt(self, number: int, timeout: float = 10.0) -> str:
        """The text of receipt `number`, waiting for the simulator to write it."""
        path = self.out_dir / f"receipt-{number:06d}.txt"
        deadline = time.monotonic() + timeout
        while not path.exists():
            assert time.monotonic() < deadline, f"{path} was not written"
            time.sleep(0.05)
        return path.read_text(encoding="utf-8")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def sim(tmp_path):
    s = PrinterSim(tmp_path)
    yield s
    s.stop()
