"""A real RTSP server for tests: GStreamer's, run as a child process of Debian's Python
(`gst_rtsp_serve.py`), serving a looped H.264 file on a free loopback port. It can be killed
with SIGKILL and started again on the same port, as a camera that loses power comes back.

    with rtsp_server(video, fps=25) as server:
        url = server.url            # rtsp://127.0.0.1:PORT/cam
        server.kill()               # SIGKILL; clients see the connection drop
        server.start()              # same port, same file

Needs `/usr/bin/python3` with python3-gi, gir1.2-gst-rtsp-server-1.0 and GStreamer's
good and bad plugins; `unavailable()` says what is missing so tests can skip with that reason.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SYSTEM_PYTHON = Path("/usr/bin/python3")
SCRIPT = Path(__file__).with_name("gst_rtsp_serve.py")
APT_PACKAGES = (
    "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
)


def unavailable() -> str | None:
    """Why the server cannot run here, or None when it can."""
    if not SYSTEM_PYTHON.is_file():
        return f"{SYSTEM_PYTHON} not found (the RTSP server runs with Debian's python3-gi)"
    try:
        done = subprocess.run(
            [str(SYSTEM_PYTHON), str(SCRIPT), "--check"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return "checking GStreamer's RTSP server took over 30 s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"GStreamer RTSP server unavailable ({last}); apt-get install {APT_PACKAGES}"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RtspServer:
    """One server process at a time on a fixed port; `start()` after `kill()` restarts it."""

    def __init__(self, video: Path, fps: int, log_path: Path, mount: str = "/cam") -> None:
        self.video, self.fps, self.mount, self.log_path = video, fps, mount, log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}{self.mount}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, timeout_s: float = 15.0) -> None:
        """Start the server and return once it accepts TCP connections."""
        assert self.process is None, "already running"
        command = [
            str(SYSTEM_PYTHON),
            str(SCRIPT),
            "--port",
            str(self.port),
            "--path",
            self.mount,
            "--file",
            str(self.video),
            "--fps",
            str(self.fps),
        ]
        # Output goes to a file, not a pipe: a pipe would hold a descriptor in the test process
        # and spoil its descriptor counts.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, close_fds=True)
        deadline = time.monotonic() + timeout_s
        while not self._accepts():
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"RTSP server exited at start: {self._log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"RTSP server not listening after {timeout_s} s")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, as when a camera loses power."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _log_tail(self) -> str:
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-5:]) or "no output"


@contextmanager
def rtsp_server(video: Path, fps: int, log_path: Path, mount: str = "/cam") -> Iterator[RtspServer]:
    """A started server, killed on exit."""
    server = RtspServer(video, fps, log_path, mount)
    server.start()
    try:
        yield server
    finally:
        server.kill()
