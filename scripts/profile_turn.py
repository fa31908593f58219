"""Profile turns: the Rasa server and the action server under cProfile while WeChat messages of the bench
mix arrive, then the functions that cost most in each (issue 14, "profile one turn").

    .venv/bin/python scripts/profile_turn.py [--messages 120] [--per-customer 8] [--concurrency 4] [--top 40]

Both servers run as `make bench` runs them (SQLite demo data, fake WeChat API); each writes its profile
(``rasa.prof``, ``actions.prof``, readable with ``python -m pstats``) to the directory printed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench  # scripts/ is on sys.path when this runs as a script

ROOT = bench.ROOT


#: Runs a program (``sys.argv[2:]``: a script path, or ``-m module``) with a profiler that SIGUSR1 switches on
#: and SIGUSR2 switches off, writing the profile to ``sys.argv[1]``: start-up and model loading stay out.
WRAPPER = """
import cProfile, runpy, signal, sys
out, argv = sys.argv[1], sys.argv[2:]
profiler = cProfile.Profile()
signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
def dump(*_):
    profiler.disable()
    profiler.dump_stats(out)
signal.signal(signal.SIGUSR2, dump)
if argv[0] == "-m":
    sys.argv = argv[1:]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
else:
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")
"""


class ProfiledBot(bench.Bot):
    """A bench bot whose two servers run under a profiler switched by signals (see :data:`WRAPPER`)."""

    def start(self) -> tuple:
        original = subprocess.Popen

        def popen(argv: list, **kwargs: object) -> subprocess.Popen:
            name = "actions" if "action_server" in " ".join(map(str, argv)) or "actions" in argv else "rasa"
            if argv[0] == bench.RASA:
                argv = [sys.executable, *argv]
            argv = [sys.executable, "-c", WRAPPER, str(self.workdir / f"{name}.prof"), *argv[1:]]
            return original(argv, **kwargs)

        subprocess.Popen = popen  # type: ignore[assignment,misc]
        try:
            return super().start()
        finally:
            subprocess.Popen = original  # type: ignore[misc]

    def profile(self, on: bool) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGUSR1 if on else signal.SIGUSR2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=120)
    parser.add_argument("--per-customer", type=int, default=bench.PER_CUSTOMER)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    from tests.fakes.wechat import FakeWeChatApi

    fake = FakeWeChatApi()
    workdir = Path(tempfile.mkdtemp(prefix="profile-turn-"))
    bot = ProfiledBot(workdir, extra_env={**fake.bot_env(), "WECHAT_TOKEN": bench.TOKEN})
    try:
        bot.prepare()
        bot.start()
        asyncio.run(bench.load(bot.url, "wechat", args.concurrency, 24, args.per_customer))  # warm-up
        started = time.perf_counter()
        bot.profile(True)
        row = asyncio.run(bench.load(bot.url, "wechat", args.concurrency, args.messages, args.per_customer))
        bot.profile(False)
        time.sleep(2)  # the profiles are written
        print(f"{row['requests']} messages in {time.perf_counter() - started:.1f} s, errors {row['errors']}")
    finally:
        bot.stop()
        fake.stop()
    for name in ("rasa", "actions"):
        path = workdir / f"{name}.prof"
        if path.exists():
            print(f"\n===== {name}: by own time =====")
            pstats.Stats(str(path)).sort_stats("tottime").print_stats(args.top)
            print(f"\n===== {name}: by cumulative time =====")
            pstats.Stats(str(path)).sort_stats("cumulative").print_stats(args.top)
    print(f"profiles in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
