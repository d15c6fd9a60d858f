"""Benchmark report: the README table and the scaling plot, generated from ``bench/results/*.json``.

The table goes between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` in README.md; nothing
else in the README is touched. Each row is a task of a results file at its largest size, with
the growth exponent of our time between consecutive sizes and the commit the results name.

Usage::

    python bench/report.py                 # rewrite the README block, write bench/results/scaling.png
    python bench/report.py --check         # exit 1 if the README block differs from the results
    python bench/report.py --results DIR --readme none   # print the table for other results

The plot needs matplotlib (``pip install ".[bench]"``); without it the table is still written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"
ORDER = ("crs", "zoning", "rivers", "loads", "siting", "startup")


def load_results(results_dir: Path) -> list[dict]:
    """All results files in ``results_dir``, in the README's order."""
    records = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(records, key=lambda r: (rank.get(r.get("bench"), len(ORDER)), r.get("bench", "")))


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 100:
        return f"{seconds:.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.01:
        return f"{seconds:.3f} s"
    return f"{seconds * 1000:.2f} ms"


def growth(record: dict, key: str) -> str:
    steps = [s for s in record.get("scaling", []) if s["key"] == key]
    if not steps:
        return "-"
    return ", ".join(f"{s['exponent']:.2f}" + (" (super-linear)" if s["super_linear"] else "") for s in steps)


def table(records: list[dict]) -> str:
    """The markdown block: one row per task at the largest size, then the run details."""
    lines = [
        "| script | task | size | ours | baseline | speedup | growth of ours (exponent per step) | commit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for rec in records:
        last = rec["results"][-1]
        times = last["times_s"]
        commit = rec["git"]["commit"][:7] + (" (dirty)" if rec["git"].get("dirty_paths") else "")
        for task in rec["tasks"]:
            ours, base = times.get(task["ours"]), times.get(task["baseline"])
            if ours is None:
                continue
            ratio = f"{base / ours:.2f}x" if base and ours else "-"
            note = f" ({task['note']})" if task.get("note") else ""
            lines.append(
                f"| `bench_{rec['bench']}.py` | {task['label']}{note} | {last['size']:,} | {fmt_s(ours)} "
                f"| {task['baseline_label']} {fmt_s(base)} | {ratio} | {growth(rec, task['ours'])} | `{commit}` |"
            )
        flagged = [
            f"`{s['key']}` {s['from_size']:,} -> {s['to_size']:,}: n^{s['exponent']:.2f}"
            for s in rec.get("scaling", [])
            if s["super_linear"]
        ]
        if flagged:
            notes.append(f"- `bench_{rec['bench']}.py`, super-linear steps: " + "; ".join(flagged) + ".")
    sizes = "; ".join(f"`{r['bench']}` {', '.join(f'{n:,}' for n in r['sizes'])} {r['size_unit']}" for r in records)
    machines = sorted({f"{r['machine']['cores']} cores, {r['machine']['cpu_model']}" for r in records})
    dates = sorted(r["date"][:10] for r in records)
    total = sum(r.get("total_wall_s", 0) for r in records)
    lines += [
        "",
        f"Sizes: {sizes}. Times are medians of up to 3 runs (fewer when the runs pass 20 s), ours and the "
        "baseline in the same run; `snap` and `sjoin_nearest` are timed in turn, three rounds. "
        "Growth: log(t2/t1)/log(n2/n1) between consecutive sizes "
        "(1 = linear); steps above 1.3 with a time of at least 0.1 s are flagged as super-linear.",
        "",
        f"Machine: {'; '.join(machines)}. Run on {dates[0]}"
        + (f" to {dates[-1]}" if dates[-1] != dates[0] else "")
        + f"; the runs took {total / 60:.0f} min in all.",
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def replace_block(readme: str, block: str) -> str:
    """``readme`` with the text between the bench markers replaced by ``block``."""
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise SystemExit(f"README.md needs exactly one {START} ... {END} block")
    head, rest = readme.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{block}\n{END}{tail}"


def plot(records: list[dict], out: Path) -> Path | None:
    """Log-log time against size, ours (solid) and baselines (dashed), one panel per bench."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib is not installed: no plot written (pip install ".[bench]")', file=sys.stderr)
        return None
    from matplotlib.ticker import NullFormatter

    ncols = min(3, len(records))
    nrows = -(-len(records) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.9 * nrows), squeeze=False)
    for ax in axes.flat[len(records) :]:
        ax.set_visible(False)
    for ax, rec in zip(axes.flat, records, strict=False):
        sizes = [r["size"] for r in rec["results"]]
        keys: list[tuple[str, bool]] = []
        for task in rec["tasks"]:
            for key, is_ours in ((task["ours"], True), (task["baseline"], False)):
                if (key, is_ours) not in keys:
                    keys.append((key, is_ours))
        top = 0.0
        for key, is_ours in keys:
            ys = [r["times_s"].get(key) for r in rec["results"]]
            if all(y is not None for y in ys):
                label = key.removesuffix("_s").removeprefix("baseline_")
                ax.loglog(sizes, ys, "o-" if is_ours else "s--", ms=3, lw=1.2, label=label)
                top = max(top, *ys)
        lo, hi = min(sizes), max(sizes)
        if top > 0:  # a linear slope through the largest time, for reference
            ax.loglog([lo, hi], [top * lo / hi, top], ":", color="0.6", lw=1, label="linear")
        ax.set_title(f"bench_{rec['bench']}.py", fontsize=9)
        ax.set_xlabel(rec["size_unit"].split(" (")[0], fontsize=8)
        ax.set_xlim(lo / 1.5, hi * 1.5)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=5.5, loc="upper left")
        ax.grid(True, which="major", lw=0.3)
    for row in axes:
        row[0].set_ylabel("seconds", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    print(f"wrote {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="README benchmark table and scaling plot from results JSON")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--readme", default=str(REPO / "README.md"), help='README to rewrite, or "none" to print')
    parser.add_argument("--plot", type=Path, help="PNG to write (default <results>/scaling.png)")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 if the README block is not up to date")
    args = parser.parse_args(argv)
    records = load_results(args.results)
    if not records:
        print(f"no results in {args.results}", file=sys.stderr)
        return 1
    block = table(records)
    if args.readme == "none":
        print(block)
    else:
        readme = Path(args.readme)
        text = readme.read_text()
        new = replace_block(text, block)
        if args.check:
            if new != text:
                print(f"{readme} benchmark table is out of date: run python bench/report.py", file=sys.stderr)
                return 1
            return 0
        readme.write_text(new)
        print(f"rewrote the benchmark block of {readme}")
    if not args.no_plot and not args.check:
        plot(records, args.plot or args.results / "scaling.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
