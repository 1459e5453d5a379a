"""Time to first render of the Candidates page with 10,000 clips in the store.

Builds a catalog of 10,000 clips (2 segments each, with descriptions and scores, as `ltvad run`
leaves them), starts `ltvad ui` on 127.0.0.1 and measures, in headless Chromium, the time from
navigation to the candidates table being on screen: cold (first visit) and warm (a reload, cached
query). Target: under 2 s. Run: `python bench/bench_ui.py [--clips 10000]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from ltvad_search.records import clip_id_for, segment_id_for
from ltvad_search.store import Catalog

DESCRIBER, SCORER = "cpu:cv-v1|describe@bench", "llamacpp:bench|score_description@bench"


def build_store(root: Path, clips: int) -> None:
    import random

    rng = random.Random(0)
    with Catalog(root / "catalog.sqlite") as cat, cat.transaction() as db:
        now = time.time()
        for i in range(clips):
            source = f"/fleet/2026-11-{1 + i % 28:02d}/cam{i % 7}/clip_{i:06d}.mp4"
            cid = clip_id_for(source)
            db.execute("INSERT INTO clips VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (cid, source, 30.0, 30.0, 900, 1280, 720, 10_000_000, "mp4", now))
            for j in range(2):
                sid = segment_id_for(cid, 15.0 * j, 15.0 * (j + 1))
                times = json.dumps([15.0 * j + t / 2 for t in range(30)])
                db.execute("INSERT INTO segments VALUES (?,?,?,?,?,?,?)",
                           (sid, cid, j, 2, 15.0 * j, 15.0 * (j + 1), times))
                db.execute("INSERT INTO descriptions VALUES (?,?,?,?,?,?)",
                           (sid, DESCRIBER, "describe@bench", f"Segment {j} of clip {i}: the vehicle moves forward "
                            "at a steady pace in daylight.", 0.2, now))
                db.execute("INSERT INTO scores VALUES (?,?,?,?,?,?,?,?,?)",
                           (sid, DESCRIBER, SCORER, "score_description@bench", rng.random(), 0.4, "[0.4]", 1.0, now))
        db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?)",
                   ("bench", "run", now, now + 1, "{}",
                    json.dumps({"describer_key": DESCRIBER, "scorer_key": SCORER, "k": 2})))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10_000)
    args = parser.parse_args()
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        sys.exit("needs Debian's chromium and chromium-driver (make browser)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        start = time.perf_counter()
        build_store(store, args.clips)
        print(f"catalog with {args.clips} clips built in {time.perf_counter() - start:.1f} s")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "ltvad_search.cli", "--set", f"store.root={store}", "ui",
                                   "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            options = webdriver.ChromeOptions()
            options.binary_location = chromium
            for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--no-first-run",
                         f"--user-data-dir={Path(tmp) / 'profile'}"):
                options.add_argument(flag)
            driver = webdriver.Chrome(service=Service(driver_path), options=options)
            try:
                # warm the browser itself (its first start is not the app's render time)
                driver.get("about:blank")
                times = []
                for visit in ("cold", "warm", "warm"):
                    start = time.perf_counter()
                    driver.get(url)
                    WebDriverWait(driver, 60).until(
                        lambda d: f"of {args.clips} scored clips" in d.find_element("tag name", "body").text
                        and d.find_elements("css selector", '[data-testid="stDataFrame"] canvas'))
                    times.append((visit, time.perf_counter() - start))
            finally:
                driver.quit()
        finally:
            server.terminate()
            server.wait(10)
    target = 2.0
    for visit, seconds in times:
        print(f"first render of Candidates, {visit:4}: {seconds:5.2f} s  "
              f"(target {target:.1f} s: {target / seconds:.1f}x inside)")


if __name__ == "__main__":
    main()
