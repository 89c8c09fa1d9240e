"""The Markdown report of ``run_bench.py`` from its JSON lines (moved from ``run_bench.py``)."""

from __future__ import annotations

import json
from pathlib import Path


# ----------------------------------------------------------------------------- report
def _fmt(x: float | None, tag: str = "") -> str:
    return "–" if x is None else f"{tag}{x:.3g}"


def _cov_text(c: dict | None) -> str:
    if not c:
        return "– | –"
    ps = "/".join(f"{c[f'p_{s}']}{'' if c[f'p_{s}_proved'] else '?'}" for s in (90, 95, 99))
    return f"{c['curve_points_proved']} of {c['curve_points']} | {ps}"


def report(out: Path) -> str:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    lines = [
        "",
        "## Kernel: seconds (ratios vs ours = numba chain kernel; ~ = extrapolated from a prefix)",
        "",
        "| graph | n | m | K | cutoff | osmnx ego | nx | scipy raw | scipy min_only | chain (scipy reference) | chain (numba) | node kernel | ego/ours | nx/ours | ours/scipy | scipy ref/scipy raw | nodes = scipy, nx = scipy | chain numba = chain scipy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["section"] != "kernel" or r["graph"].startswith("scaling"):
            continue
        ours = r["chain_kernel_s"]
        ego, nxs = r.get("osmnx_ego_s"), r.get("nx_s")
        agree = (
            r["ours_vs_scipy_mismatch_nodes"] == 0 and r.get("nx_vs_scipy_mismatch_nodes", 0) == 0
        )
        same = "yes" if r["chain_kernel_equals_chain_scipy"] else "NO"
        lines.append(
            f"| {r['graph']} | {r['n']} | {r['m']} | {r['K']} | {r['cutoff_min']:g} | {_fmt(ego, '~')} | {_fmt(nxs, '~')} | "
            f"{r['scipy_s']:.3g} | {r['scipy_multi_min_only_s']:.3g} | {r['chain_scipy_s']:.3g} | {ours:.3g} | {r['ours_node_s']:.3g} | "
            f"{_fmt(ego / ours if ego else None)} | {_fmt(nxs / ours if nxs else None)} | {ours / r['scipy_s']:.2f} | "
            f"{r['chain_scipy_s'] / r['scipy_s']:.2f} | {'yes' if agree else 'NO'} | {same} |"
        )
    sc = [r for r in rows if r["section"] == "kernel" and r["graph"].startswith("scaling")]
    if sc:
        lines += [
            "",
            "## Scaling (facilities grow with the graph): ratio of ratios = (t_k / t_1) / (m_k / m_1), target <= 1.2",
            "",
            "| size | m | K | chain numba s | ratio of ratios | chain scipy (reference) s | ratio of ratios | scipy raw s | ratio of ratios |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        b = sc[0]
        for r in sc:
            q = r["m"] / b["m"]
            lines.append(
                f"| {r['graph']} | {r['m']} | {r['K']} | {r['chain_kernel_s']:.3g} | {r['chain_kernel_s'] / b['chain_kernel_s'] / q:.2f} | "
                f"{r['chain_scipy_s']:.3g} | {r['chain_scipy_s'] / b['chain_scipy_s'] / q:.2f} | {r['scipy_s']:.3g} | {r['scipy_s'] / b['scipy_s'] / q:.2f} |"
            )
    for r in rows:
        if r["section"] == "national":
            lines += [
                "",
                f"## National chain: n={r['n']} m={r['m']} cells={r['cells']} facilities={r['facilities']} "
                f"(graph tiled over Vietnam in {r['tile_build_s']:.1f} s, not counted)",
                "",
                f"graph_from_edges {r['graph_from_edges_s']:.2f} s, snap cells {r['snap_cells_s']:.2f} s",
                "",
                "| type | K | limit min | pairs | snap fac s | travel_times numba s | travel_times scipy s | within | coverage | overlaps | province matrix | nearest_two | removal | polygons s | analyse_type s (all measures + polygons; curve greedy + bound) | analyse_type s, default (p_90/95/99 exact) | curve points proved | p 90/95/99 (proved) |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            ]
            for t in r["types"]:
                lines.append(
                    f"| {t['type']} | {t['facilities']} | {t['limit_min']:g} | {t['pairs']} | {t['snap_facilities_s']:.2f} | {t['travel_times_kernel_s']:.2f} | "
                    f"{_fmt(t['travel_times_scipy_s'])} | {t['within_s']:.2f} | {t['coverage_s']:.2f} | {t['overlaps_s']:.2f} | {t['province_matrix_s']:.2f} | "
                    f"{t['nearest_two_s']:.2f} | {t['removal_penalty_s']:.2f} | {t['polygons_s']:.2f} | {_fmt(t['analyse_type_s'])} | "
                    f"{_fmt(t.get('analyse_type_default_s'))} | {_cov_text(t.get('covering'))}"
                    + (f" ERROR {t['analyse_type_error'][:80]}" if t["analyse_type_error"] else "")
                    + " |"
                )
            kern = sum(t["travel_times_kernel_s"] for t in r["types"])
            poly = sum(t["polygons_s"] for t in r["types"])
            lines += [
                "",
                f"analysis total: {r['analysis_total_s_kernel']:.1f} s with the numba kernel, "
                f"{_fmt(r['analysis_total_s_scipy'])} s with the scipy reference kernel (target < 60 s); "
                f"{_fmt(r.get('analysis_total_s_default'))} s with the default curve (quoted p exact); "
                f"peak RSS {r['peak_rss_mb'] / 1024:.2f} GB (target < 4 GB; {r['rss_after_inputs_mb'] / 1024:.2f} GB after loading inputs)",
                f"polygons / catchments (numba kernel) = {poly:.2f} / {kern:.2f} s = {poly / kern:.2f} (target <= 1); "
                "method: raster-to-vector of the demand grid, the reached cells' outline traced along cell edges "
                "(analysis/polygons.py), exact by construction:",
            ]
            for a in r["polygon_accuracy"]:
                lines.append(
                    f"- polygons {a['type']}: {a['polygons']} polygons; reached cells outside the simplified polygon "
                    f"{100 * a['reached_outside_share']:.2f}%; unreached cells inside per reached cell {100 * a['unreached_inside_per_reached']:.2f}%"
                )
        if r["section"] == "startup":
            lines += [
                "",
                f"startup: `python cli.py --help` {r['cli_help_s']:.2f} s (bare python {r['python_bare_s']:.2f} s; target < 1 s)",
            ]
        if r["section"] == "harness":
            lines += [
                "",
                f"harness ({r['graph']}, exit code {r['exit_code']}; 0 = all agree):",
                "```",
                r["stdout"].strip(),
                "```",
            ]
    return "\n".join(lines)
