"""Time to first render of the Candidates page with 10,000 clips in the store.

Builds a catalog of 10,000 clips (2 segments each, with descriptions and scores, as `ltvad run`
leaves them), starts `ltvad ui` on 127.0.0.1 and measures, in headless Chromium, the time from
navigation to the candidates table being on screen: cold (first visit) and warm (a reload, cached
query). Target: under 2 s. The same visits against plain `streamlit run ui/app.py` on the same store
show what `ltvad ui`'s server set-up (ui/serve.py) is worth. The browser cache is cleared before each
cold visit. Run: `python bench/bench_ui.py [--clips 10000]`.
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

from ltvad_search.catalog import Catalog
from ltvad_search.records import clip_id_for, segment_id_for

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


def serve(store: Path, port: int, plain: bool) -> subprocess.Popen:  # type: ignore[type-arg]
    """`ltvad ui`, or, for comparison, plain `streamlit run ui/app.py` on the same store (no
    prewarmed query, Streamlit's own socket with Nagle's algorithm on)."""
    if plain:
        app = Path(__file__).resolve().parents[1] / "ui" / "app.py"
        cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats",
               "false", "--", f"--set=store.root={store}"]
    else:
        cmd = [sys.executable, "-m", "ltvad_search.cli", "--set", f"store.root={store}", "ui",
               "--port", str(port)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def visits(driver, url: str, clips: int) -> list[tuple[str, float]]:
    from selenium.webdriver.support.ui import WebDriverWait

    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    times = []
    for visit in ("cold", "warm", "warm"):
        if visit == "cold":
            driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        start = time.perf_counter()
        driver.get(url)
        WebDriverWait(driver, 60).until(
            lambda d: f"of {clips} scored clips" in d.find_element("tag name", "body").text
            and d.find_elements("css selector", '[data-testid="stDataFrame"] canvas'))
        times.append((visit, time.perf_counter() - start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10_000)
    args = parser.parse_args()
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        sys.exit("needs Debian's chromium and chromium-driver (make browser)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        start = time.perf_counter()
        build_store(store, args.clips)
        print(f"catalog with {args.clips} clips built in {time.perf_counter() - start:.1f} s")
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--no-first-run",
                     f"--user-data-dir={Path(tmp) / 'profile'}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        try:
            driver.get("about:blank")  # the browser's own start is not the app's render time
            for name, plain in (("streamlit run ui/app.py", True), ("ltvad ui", False)):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                server = serve(store, port, plain)
                try:
                    results[name] = visits(driver, f"http://127.0.0.1:{port}", args.clips)
                finally:
                    server.terminate()
                    server.wait(10)
        finally:
            driver.quit()
    target = 2.0
    for name, times in results.items():
        for visit, seconds in times:
            print(f"{name:24} first render of Candidates, {visit:4}: {seconds:5.2f} s  "
                  f"(target {target:.1f} s: {target / seconds:.1f}x inside)")
    ours, plain = results["ltvad ui"][0][1], results["streamlit run ui/app.py"][0][1]
    print(f"cold first render, plain streamlit run / ltvad ui: {plain / ours:.2f}x")


if __name__ == "__main__":
    main()
