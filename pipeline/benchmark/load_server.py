"""The server process of the load test: started on a free loopback port, watched through
/proc for CPU and memory, stopped the way an operator would (Ctrl-C, then a kill)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from pipeline.errors import InputError

# A process boundary, not an import: the server lives in cli (it needs the API), and
# pipeline code never imports api or cli.
SERVER_MODULE = "cli.loadtest_server"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
RSS_EVERY_S = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """`with ServerProcess(config, data_dir, log) as server:` starts it, waits until
    /api/health answers, and stops it on exit."""

    def __init__(self, config: Path, data_dir: Path, log_path: Path, api_workers: int = 1) -> None:
        self.port = free_port()
        self.api_workers = api_workers
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.rss_mb: list[float] = []
        # Explicit storage: a STREETWATCH_DATABASE_URL in the environment or a .env file
        # must never point the load test at a real database.
        env = {
            **os.environ,
            "STREETWATCH_DATABASE_URL": f"sqlite:///{(data_dir / 'streetwatch.db').resolve()}",
            "STREETWATCH_EVIDENCE_DIR": str((data_dir / "evidence").resolve()),
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable,
            "-m",
            SERVER_MODULE,
            "--config",
            str(config),
            "--data-dir",
            str(data_dir),
            "--port",
            str(self.port),
            "--api-workers",
            str(api_workers),
        ]
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=data_dir.parent
        )

    def __enter__(self) -> ServerProcess:
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise InputError(f"the load test's server exited at start:\n{self.log_tail()}")
            try:
                if (
                    httpx.get(f"{self.base_url}/api/health", timeout=2, trust_env=False).is_success
                    and self._workers_ready()
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise InputError(f"the load test's server did not answer in time:\n{self.log_tail()}")

    def _workers_ready(self) -> bool:
        # With several API processes the first one up answers /api/health; load sent then
        # would stay on its connections. `serve` logs when all have started.
        if self.api_workers == 1:
            return True
        self._log.flush()
        return f"all {self.api_workers} API processes ready" in self.log_path.read_text(
            errors="replace"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def pids(self) -> list[int]:
        """The server and its API worker processes (children, found through /proc)."""
        found = [self.process.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):  # a process that just ended
                continue
            if parent == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU time the server's processes have used so far."""
        ticks = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss(self) -> float:
        """Resident memory of the server's processes together, MB."""
        total = 0.0
        for pid in self.pids():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            total += sum(int(line.split()[1]) / 1024 for line in lines if line.startswith("VmRSS:"))
        return total

    async def sample_rss(self) -> None:
        """Note the resident memory every RSS_EVERY_S until cancelled."""
        while True:
            self.rss_mb.append(self.rss())
            await asyncio.sleep(RSS_EVERY_S)

    def rss_summary(self) -> dict[str, float]:
        values = self.rss_mb or [self.rss()]
        return {
            "start": round(values[0], 1),
            "peak": round(max(values), 1),
            "end": round(values[-1], 1),
        }


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores, /proc/stat), so far."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
