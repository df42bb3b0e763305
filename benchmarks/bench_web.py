"""Benchmark: ``sendcast serve`` under 20 concurrent clients on the loopback address.

Starts the server (``sendcast serve --port P``, its own process), waits for it, for its
background forecast of every council (the England map's forecast growth) and for its fits
for the scenario form, warms the caches once, then sends bounded traffic: 20 clients x 10
requests to each of the England page, a council page (Norfolk) and the forecast API (Norfolk,
1000 draws, 10 years; cached), and reports p50 / p95 latency. Then one scenario run for
Norfolk (1000 draws, 10 years) through
``POST /api/scenarios/run``: first (the baseline is simulated and costed; the fit of every
council for 10 years ahead was made in the background at start) and warm (five more runs,
each a different lever value: the baseline is cached, the scenario is simulated, costed and
compared draw by draw, and its levers judged).

Targets: cached pages p95 < 250 ms; a scenario run < 2 s.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from _common import record

CLIENTS, REQUESTS_EACH, TIME_CAP_S = 20, 10, 120.0
DRAWS, HORIZON = 1000, 10
CACHED_P95_TARGET_MS, SCENARIO_TARGET_S = 250.0, 2.0
NORFOLK = "E10000020"
SCENARIO = """name: Bench {i}
description: New plans below trend and a shift out of independent special schools.
levers:
  - {{kind: incidence, change_percent: -{pct}, ages: [0, 15], start: 2025, ramp: 2}}
  - {{kind: placement_shift, from: independent_special, to: state_special, share_percent: 20, start: 2025}}
  - {{kind: running_cost, gbp_per_year: 2000000, start: 2025, end: 2029}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the server process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    """Peak resident memory of the server process (Linux /proc, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _percentile(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))]


def _load(base: str, path: str) -> dict[str, float]:
    """20 clients x 10 requests of ``path``; latencies in ms."""
    times: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + TIME_CAP_S

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=60) as c:
            for _ in range(REQUESTS_EACH):
                if time.monotonic() > deadline:
                    return
                t = time.perf_counter()
                r = c.get(path)
                dt = (time.perf_counter() - t) * 1000
                with lock:
                    times.append(dt)
                    errors += r.status_code != 200

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    return {
        "requests": len(times),
        "errors": errors,
        "p50_ms": round(_percentile(times, 0.5), 1),
        "p95_ms": round(_percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
        "requests_per_second": round(len(times) / wall, 1),
    }


def main() -> None:
    load_at_start = round(os.getloadavg()[0], 2)  # other work on the machine slows every figure
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-c", "from sendcast.cli import app; app()", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL)
    try:
        t = time.perf_counter()
        for _ in range(600):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        startup = time.perf_counter() - t
        # the server forecasts every council (for the map) and fits every council for the
        # scenario form in the background at start: let that finish before measuring
        t = time.perf_counter()
        for _ in range(900):
            if httpx.get(base + "/healthz", timeout=60).json().get("background") == "idle":
                break
            time.sleep(1)
        background = time.perf_counter() - t
        forecast_path = f"/api/councils/{NORFOLK}/forecast?draws={DRAWS}&horizon={HORIZON}"
        paths = {"england_page": "/", "council_page": f"/council/{NORFOLK}", "forecast_api_cached": forecast_path}
        first: dict[str, float] = {}
        for name, path in paths.items():
            t = time.perf_counter()
            for _ in range(3000):  # a council seen first answers "preparing" until its page is built
                r = httpx.get(base + path, timeout=300)
                r.raise_for_status()
                if 'id="building"' not in r.text:
                    break
                time.sleep(0.1)
            first[name] = round(time.perf_counter() - t, 2)
        loads = {}
        for name, path in paths.items():
            cpu = _cpu_seconds(proc.pid)
            loads[name] = _load(base, path)
            # CPU the server spent per request: what the latency would be on an idle core,
            # whatever else the machine is doing
            loads[name]["server_cpu_ms_per_request"] = round(
                (_cpu_seconds(proc.pid) - cpu) * 1000 / max(loads[name]["requests"], 1), 1
            )
        runs = []
        cpus = []
        with httpx.Client(base_url=base, timeout=300) as c:
            for i, pct in enumerate((10, 12, 14, 16, 18, 20)):
                t = time.perf_counter()
                cpu = _cpu_seconds(proc.pid)
                r = c.post(
                    f"/api/scenarios/run?la={NORFOLK}&draws={DRAWS}&horizon={HORIZON}",
                    content=SCENARIO.format(i=i, pct=pct),
                    headers={"content-type": "application/yaml"},
                )
                r.raise_for_status()
                runs.append(time.perf_counter() - t)
                cpus.append(_cpu_seconds(proc.pid) - cpu)
        warm = runs[1:]
        cached_p95 = max(v["p95_ms"] for v in loads.values())
        record(
            "web",
            {
                "load_average_1min_at_start": load_at_start,
                "load_average_1min_at_end": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
                "clients": CLIENTS,
                "requests_each": REQUESTS_EACH,
                "server_startup_seconds": round(startup, 2),
                "background_startup_work_seconds": round(background, 1),
                "first_request_seconds": first,
                **loads,
                "cached_p95_ms_worst": cached_p95,
                "cached_p95_ratio_to_target": round(cached_p95 / CACHED_P95_TARGET_MS, 3),
                "scenario_draws": DRAWS,
                "scenario_horizon": HORIZON,
                "scenario_first_seconds": round(runs[0], 2),
                "scenario_warm_seconds": [round(x, 2) for x in warm],
                "scenario_warm_median_seconds": round(statistics.median(warm), 2),
                "server_peak_rss_mb": round(_peak_rss_mb(proc.pid), 1),
                "scenario_first_server_cpu_seconds": round(cpus[0], 2),
                "scenario_warm_server_cpu_seconds": [round(x, 2) for x in cpus[1:]],
                "scenario_warm_ratio_to_target": round(statistics.median(warm) / SCENARIO_TARGET_S, 3),
            },
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
