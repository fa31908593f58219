"""Benchmarks: training time, start-up time, NLU parse latency, and the WeChat webhook against Rasa's
REST channel on the same model under concurrency. Writes reports/bench.md.

    .venv/bin/python scripts/bench.py [--skip-train] [--requests N] [--fanout-only]      (make bench)

The notice fan-out figure (a planned outage for 5,000 customers against the rate-limited fake WeChat API)
comes from scripts/bench_fanout.py.

Everything runs on this machine against a throw-away SQLite database with the demo data set; the
WeChat path posts correctly signed XML exactly as WeChat does.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import aiohttp
import bench_fanout  # scripts/ is on sys.path when this runs as a script
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RASA = str(ROOT / ".venv" / "bin" / "rasa")
TOKEN = "bench-wechat-token"
ENV = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", SQLALCHEMY_SILENCE_UBER_WARNING="1")
PER_CUSTOMER = 8  # messages per simulated customer (a conversation's tracker grows with every turn)
# what customers send most; a mix of FAQ answers, chit-chat and questions that reach the action server
MESSAGES = ["你好", "电费怎么交", "阶梯电价怎么算", "用了300度电多少钱", "光伏并网怎么申请", "今天天气怎么样",
            "电线杆歪了", "峰谷电价是多少", "谢谢", "我要查电费"]


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_training() -> float:
    out = Path(tempfile.mkdtemp(prefix="bench-train-"))
    started = time.monotonic()
    subprocess.run([RASA, "train", "--config", "config.yml", "--domain", "domain.yml", "--data", "data", "--out",
                    str(out), "--force"], cwd=ROOT, env={**ENV, "RASA_MAX_CACHE_SIZE": "0"}, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    shutil.rmtree(out, ignore_errors=True)
    return elapsed


class Bot:
    """The bot as `bot run` starts it, on a throw-away demo database, with the HTTP API on for /model/parse."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port, self.actions_port = free_port(), free_port()
        self.api_token = secrets.token_urlsafe(16)
        self.procs: List[subprocess.Popen] = []
        self.env = {**ENV, "POWERBOT_VAR_DIR": str(workdir / "var"),
                    "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}", "REST_CHANNEL_ENABLED": "true",
                    "WECHAT_TOKEN": TOKEN, "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
                    "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
                    "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.port}", "LOG_LEVEL": "WARNING"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        bot_cli = str(ROOT / ".venv" / "bin" / "bot")
        for args in (["migrate"], ["seed-demo", "--if-empty"]):
            subprocess.run([bot_cli, *args], cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL)

    def start(self) -> Tuple[float, float]:
        """Start both servers; returns (seconds until the action server answers, seconds until /ready)."""
        import urllib.request

        def wait(url: str, proc: subprocess.Popen) -> float:
            start = time.monotonic()
            while time.monotonic() - start < 180:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited; see {self.workdir}")
                try:
                    with urllib.request.urlopen(url, timeout=2) as resp:
                        if resp.status == 200:
                            return time.monotonic()
                except OSError:
                    time.sleep(0.1)
            raise RuntimeError(f"{url} not ready")

        model = sorted((ROOT / "models").glob("*.tar.gz"))[-1]
        t0 = time.monotonic()
        self.procs.append(subprocess.Popen([sys.executable, "-m", "bot.action_server", "--port",
                                            str(self.actions_port)], cwd=ROOT, env=self.env,
                                           stdout=open(self.workdir / "actions.log", "wb"), stderr=subprocess.STDOUT))
        t1 = time.monotonic()
        self.procs.append(subprocess.Popen([RASA, "run", "--model", str(model), "--credentials", "credentials.yml",
                                            "--endpoints", "endpoints.yml", "--port", str(self.port), "--enable-api",
                                            "--auth-token", self.api_token, "--interface", "127.0.0.1"],
                                           cwd=ROOT, env=self.env, stdout=open(self.workdir / "rasa.log", "wb"),
                                           stderr=subprocess.STDOUT))
        actions_ready = wait(f"http://127.0.0.1:{self.actions_port}/health", self.procs[0]) - t0
        server_ready = wait(f"{self.url}/ready", self.procs[1]) - t1
        return actions_ready, server_ready

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def test_texts(limit: int) -> List[str]:
    texts: List[str] = []
    for path in sorted((ROOT / "tests" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in block.get("examples", "").splitlines():
                line = line.strip()[2:]
                if line:
                    import re

                    texts.append(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line))
    return texts[:limit]


async def parse_latency(bot: Bot, texts: Sequence[str]) -> List[float]:
    times = []
    async with aiohttp.ClientSession() as http:
        for i, text in enumerate([*texts[:20], *texts]):
            start = time.perf_counter()
            async with http.post(f"{bot.url}/model/parse?token={bot.api_token}", json={"text": text}) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            if i >= 20:  # the first 20 warm up
                times.append(time.perf_counter() - start)
    return times


def wechat_request(openid: str, text: str, msg_id: int) -> Tuple[str, bytes]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    body = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>")
    return f"?signature={signature}&timestamp={timestamp}&nonce={nonce}", body.encode()


async def load(bot: Bot, path: str, concurrency: int, total: int) -> Dict[str, float]:
    """``total`` messages from ``concurrency`` customers at once; latency of each HTTP request."""
    latencies: List[float] = []
    errors = 0
    counter = iter(range(total))
    run_id = secrets.randbelow(10**9)

    async def customer(http: aiohttp.ClientSession, worker: int) -> None:
        nonlocal errors
        for n, i in enumerate(counter):
            text = MESSAGES[i % len(MESSAGES)]
            who = f"{worker}-{n // PER_CUSTOMER}"  # a customer sends a few messages, then the next one writes
            start = time.perf_counter()
            try:
                if path == "wechat":
                    query, body = wechat_request(f"bench-{run_id}-{who}", text, run_id * 100000 + i)
                    async with http.post(f"{bot.url}/webhooks/wechat/webhook{query}", data=body,
                                         headers={"Content-Type": "text/xml"}) as resp:
                        reply = (await resp.read()).decode("utf-8", "replace")
                        ok = resp.status == 200 and "系统暂时" not in reply  # an apology is a failure
                else:
                    async with http.post(f"{bot.url}/webhooks/rest/webhook",
                                         json={"sender": f"bench-{run_id}-{who}", "message": text}) as resp:
                        reply = (await resp.read()).decode("utf-8", "replace")
                        ok = resp.status == 200 and "系统暂时" not in reply
            except aiohttp.ClientError:
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += 0 if ok else 1

    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        await asyncio.gather(*(customer(http, w) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies), "errors": errors, "throughput": len(latencies) / elapsed,
        "p50": percentile(latencies, 50) * 1000, "p95": percentile(latencies, 95) * 1000,
        "p99": percentile(latencies, 99) * 1000, "over_4_5s": sum(1 for x in latencies if x > 4.5),
    }


def render(results: Dict[str, object]) -> str:
    lines = [
        "# Benchmarks", "",
        f"Generated by `make bench` on {time.strftime('%Y-%m-%d %H:%M')} — {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; demo data set on SQLite, one Rasa server, "
        "one action server, load generated on the same machine.", "",
        "## Model and start-up", "",
        "| measure | value | goal |", "|---|---|---|",
    ]
    if results.get("train_s") is not None:
        lines.append(f"| `rasa train` of the whole project (NLU + policies, no cache) | {results['train_s']:.0f} s | ≤ 300 s |")
    lines += [
        f"| Rasa server ready (process start → `/ready` 200) | {results['ready_s']:.1f} s | ≤ 20 s |",
        f"| action server ready | {results['actions_ready_s']:.1f} s | |",
    ]
    p = results["parse"]
    lines += [
        "", "## NLU parse latency (`/model/parse`, sequential, held-out texts)", "",
        "| n | p50 | p95 | p99 | goal |", "|---|---|---|---|---|",
        f"| {p['n']} | {p['p50']:.1f} ms | {p['p95']:.1f} ms | {p['p99']:.1f} ms | p95 ≤ 30 ms |",
        "", "## WeChat webhook vs Rasa REST channel (same model, same messages)", "",
        "Each request is one customer message; WeChat requests are signed XML with unique MsgIds. The WeChat",
        "path answers passively within the reply budget, otherwise `success` at once and the answer later.", "",
        "| path | concurrency | requests | errors | throughput (msg/s) | p50 | p95 | p99 | over 4.5 s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["load"]:
        lines.append(f"| {row['path']} | {row['concurrency']} | {row['requests']} | {row['errors']} | "
                     f"{row['throughput']:.1f} | {row['p50']:.0f} ms | {row['p95']:.0f} ms | {row['p99']:.0f} ms | "
                     f"{row['over_4_5s']} |")
    by = {(r["path"], r["concurrency"]): r for r in results["load"]}
    lines += ["", "Goals: zero WeChat requests over 4.5 s at every concurrency; WeChat throughput within 10% of REST;",
              "WeChat p95 ≤ 300 ms at concurrency 8.", ""]
    for c in sorted({r["concurrency"] for r in results["load"]}):
        w, r = by.get(("wechat", c)), by.get(("rest", c))
        if w and r:
            lines.append(f"- concurrency {c}: WeChat/REST throughput = {w['throughput'] / r['throughput']:.2f}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description="benchmarks → reports/bench.md")
    parser.add_argument("--skip-train", action="store_true", help="do not measure a full training run")
    parser.add_argument("--requests", type=int, default=320, help="messages per path and concurrency")
    parser.add_argument("--fanout-only", action="store_true",
                        help="only the notice fan-out figure (replaces its section in reports/bench.md)")
    args = parser.parse_args()
    report = ROOT / "reports" / "bench.md"
    fanout_dir = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    print("notice fan-out: 5,000 customers, WeChat limited to 100 requests/s …", flush=True)
    fanout = bench_fanout.render(bench_fanout.run_fanout(fanout_dir))
    shutil.rmtree(fanout_dir, ignore_errors=True)
    if args.fanout_only:
        previous = report.read_text(encoding="utf-8") if report.exists() else "# Benchmarks\n"
        kept = previous.split("## Notice fan-out", 1)[0].rstrip("\n")
        report.write_text(kept + "\n\n" + fanout, encoding="utf-8")
        print(f"wrote {report.relative_to(ROOT)}")
        return 0
    results: Dict[str, object] = {"train_s": None}
    if not args.skip_train:
        print("measuring a full training run …", flush=True)
        results["train_s"] = measure_training()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    bot = Bot(workdir)
    try:
        bot.prepare()
        results["actions_ready_s"], results["ready_s"] = bot.start()
        print(f"server ready in {results['ready_s']:.1f} s", flush=True)
        times = asyncio.run(parse_latency(bot, test_texts(300)))
        results["parse"] = {"n": len(times), "p50": percentile(times, 50) * 1000,
                            "p95": percentile(times, 95) * 1000, "p99": percentile(times, 99) * 1000}
        print("parse p50 {p50:.1f} ms p95 {p95:.1f} ms".format(**results["parse"]), flush=True)
        rows = []
        for concurrency in (1, 8, 32):
            for path in ("rest", "wechat"):
                asyncio.run(load(bot, path, concurrency, 40))  # warm-up
                row = {"path": path, "concurrency": concurrency,
                       **asyncio.run(load(bot, path, concurrency, args.requests))}
                rows.append(row)
                print(json.dumps(row), flush=True)
        results["load"] = rows
    finally:
        bot.stop()
    report.parent.mkdir(exist_ok=True)
    report.write_text(render(results) + "\n" + fanout, encoding="utf-8")
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"wrote {report.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
