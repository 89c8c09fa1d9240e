"""Load time of the national map in headless Chromium against the map before issue 17 (benchmark).

Issue 17 asks that the map's load time be "no more than today's", "today" being the map the issue
was filed against. The reference is therefore that map itself, rebuilt in the same run: the tree
of commit ``REFERENCE_REF`` (the parent of the commit that put the findings panel in, 10.2 MB)
is exported with ``git archive`` to a temporary folder and its ``cli.py run`` writes the national
map from its own embedded default data. The candidate is the current tree's national map
(``--map``, else ``out/vietnam/map.html``, else a run of ``cli.py run`` into the bench folder).

Both files are opened alternately (reference, candidate, reference, ...) ``--repeats`` times
each, each time in a fresh headless Chromium (the Chrome DevTools Protocol client of
``../shared/tools/check_html.py``, network cut, cache disabled), and timed from
``Page.navigate`` to:

- ``load``: the load event (``performance`` navigation entry ``loadEventEnd``), i.e. the HTML
  parsed and every inline script (Leaflet, the GeoJSON layers, the page's script) run;
- ``drawn``: two animation frames after the load event (what was drawn has been painted).

The figure is the ratio of the medians, candidate / reference (target <= 1). JSON lines are
appended to ``$BENCH_DIR/results.jsonl`` (``section = "map_load"``, as ``bench/run_bench.py``
writes them) and a markdown summary to ``map_load.md`` beside it.

Usage: ``python bench/map_load.py [--map MAP.html] [--reference REF.html | --ref GITREF]
[--repeats 5] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]
CHECK_HTML = ROOT.parent / "shared" / "tools" / "check_html.py"
# the parent of 3b85515 "Map findings first (issue 17 item 1)": the map of the issue (10.2 MB)
REFERENCE_REF = "3b85515^"

WAIT_DRAWN_JS = (
    "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => {"
    "const n = performance.getEntriesByType('navigation')[0];"
    "r({load: n.loadEventEnd, dcl: n.domContentLoadedEventEnd, drawn: performance.now(),"
    " paths: document.querySelectorAll('path').length});"
    "})))"
)


def _check_html() -> Any:
    spec = importlib.util.spec_from_file_location("check_html", CHECK_HTML)
    if spec is None or spec.loader is None:
        raise SystemExit(f"map_load: cannot import {CHECK_HTML}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def open_once(ch: Any, path: Path, *, timeout: float = 120.0) -> dict[str, float]:
    """Open ``path`` in a fresh headless Chromium; milliseconds from navigation to load/drawn."""
    chromium = ch.find_chromium(None)
    if not chromium:
        raise SystemExit("map_load: chromium not found (../shared/tools/install.sh)")
    udd = tempfile.mkdtemp(prefix="map_load-profile-")
    cdp = ch.CDP(chromium, [*ch.FLAGS, "--window-size=1280,900"], udd, time.monotonic() + timeout)
    st: dict[str, Any] = {"sid": None, "loaded": False, "errors": 0}

    def on_event(m: dict) -> None:
        if m.get("sessionId") != st["sid"]:
            return
        meth, p = m.get("method"), m.get("params", {})
        if meth == "Fetch.requestPaused":  # offline: anything but the file itself is refused
            ok = p["request"]["url"].startswith("file:")
            cdp.send(
                "Fetch.continueRequest" if ok else "Fetch.failRequest",
                {"requestId": p["requestId"]}
                if ok
                else {"requestId": p["requestId"], "errorReason": "InternetDisconnected"},
                st["sid"],
            )
        elif meth == "Page.loadEventFired":
            st["loaded"] = True
        elif meth == "Runtime.exceptionThrown":
            st["errors"] += 1

    cdp.on_event = on_event
    try:
        tid = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = cdp.call("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        st["sid"] = sid
        for m in ("Page.enable", "Runtime.enable", "Network.enable"):
            cdp.call(m, session=sid)
        cdp.call("Network.setCacheDisabled", {"cacheDisabled": True}, session=sid)
        cdp.call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=sid)
        cdp.call("Page.navigate", {"url": path.resolve().as_uri()}, session=sid)
        while not st["loaded"]:
            cdp.pump(0.05)
        r = cdp.call(
            "Runtime.evaluate",
            {"expression": WAIT_DRAWN_JS, "awaitPromise": True, "returnByValue": True},
            session=sid,
        )["result"]["value"]
    finally:
        cdp.close()
        shutil.rmtree(udd, ignore_errors=True)
    return {
        "load_ms": float(r["load"]),
        "dcl_ms": float(r["dcl"]),
        "drawn_ms": float(r["drawn"]),
        "paths": int(r["paths"]),
        "errors": int(st["errors"]),
    }


def build_map(tree: Path, out: Path) -> Path:
    """``cli.py run --region vietnam`` of the tree at ``tree`` into ``out``; the map's path."""
    cmd = [sys.executable, "cli.py", "run", "--region", "vietnam", "--out", str(out)]
    cmd.append("--overwrite")
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=tree, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"map_load: {' '.join(cmd)} in {tree} failed:\n{p.stderr[-3000:]}")
    print(f"# built {out / 'map.html'} in {time.perf_counter() - t:.0f} s", flush=True)
    return out / "map.html"


def reference_map(ref: str, cache: Path) -> tuple[Path, str]:
    """The national map of commit ``ref`` (built once per commit, kept in ``cache``)."""
    sha = subprocess.run(
        ["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    html = cache / f"reference_{sha[:12]}" / "map.html"
    if html.is_file():
        return html, sha
    with tempfile.TemporaryDirectory(prefix="map_load_ref-") as tmp:
        tar = subprocess.run(["git", "archive", sha], cwd=ROOT, capture_output=True, check=True)
        with tarfile.open(fileobj=io.BytesIO(tar.stdout)) as tf:
            tf.extractall(tmp, filter="data")
        built = build_map(Path(tmp), Path(tmp) / "out")
        html.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, html)
    return html, sha


def measure(maps: dict[str, Path], repeats: int) -> dict[str, list[dict[str, float]]]:
    """Open each map ``repeats`` times, alternating, after one unrecorded warm-up of each."""
    ch = _check_html()
    for p in maps.values():
        open_once(ch, p)  # warm the page cache of the OS and Chromium's own start-up
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in maps}
    for i in range(repeats):
        for k, p in maps.items():
            runs[k].append(open_once(ch, p))
            print(f"# {k} {i + 1}/{repeats}: {runs[k][-1]}", flush=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--map", type=Path, help="candidate map [default: out/vietnam/map.html]")
    ap.add_argument("--reference", type=Path, help="reference map (skips building --ref)")
    ap.add_argument("--ref", default=REFERENCE_REF, help=f"reference commit [{REFERENCE_REF}]")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=os.environ.get("BENCH_DIR", "/tmp/infra_overlap_bench"))
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cand = a.map or ROOT / "out" / "vietnam" / "map.html"
    if not cand.is_file():
        cand = build_map(ROOT, out / "candidate")
    if a.reference:
        ref_html, ref_name = a.reference, str(a.reference)
    else:
        ref_html, sha = reference_map(a.ref, out)
        ref_name = f"{a.ref} ({sha[:12]})"
    runs = measure({"reference": ref_html, "candidate": cand}, a.repeats)
    med = {
        k: {m: statistics.median(r[m] for r in v) for m in ("dcl_ms", "load_ms", "drawn_ms")}
        for k, v in runs.items()
    }
    row = {
        "section": "map_load",
        "reference": ref_name,
        "reference_bytes": ref_html.stat().st_size,
        "candidate": str(cand),
        "candidate_bytes": cand.stat().st_size,
        "repeats": a.repeats,
        "median_ms": med,
        "ratio_load": med["candidate"]["load_ms"] / med["reference"]["load_ms"],
        "ratio_drawn": med["candidate"]["drawn_ms"] / med["reference"]["drawn_ms"],
        "js_errors": {k: sum(r["errors"] for r in v) for k, v in runs.items()},
        "runs": runs,
    }
    with open(out / "results.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")
    text = report(row)
    (out / "map_load.md").write_text(text + "\n")
    print(text)
    return 0 if row["ratio_load"] <= 1.0 and row["ratio_drawn"] <= 1.0 else 1


def report(r: dict) -> str:
    m = r["median_ms"]
    lines = [
        "## Map load in headless Chromium (median of "
        f"{r['repeats']} alternating opens, fresh browser each, offline)",
        "",
        "| map | bytes | DOMContentLoaded ms | load event ms | drawn ms |",
        "|---|---|---|---|---|",
    ]
    for k in ("reference", "candidate"):
        lines.append(
            f"| {k}: {r[k]} | {r[f'{k}_bytes']:,} | {m[k]['dcl_ms']:.0f} | {m[k]['load_ms']:.0f} "
            f"| {m[k]['drawn_ms']:.0f} |"
        )
    lines += [
        "",
        f"candidate / reference: load {r['ratio_load']:.2f}, drawn {r['ratio_drawn']:.2f} "
        "(target <= 1: no more than the map of issue 17); "
        f"JS errors {r['js_errors']}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
