"""``scenecraft eval world-model-history``: the shipped world model's learning curve across
sessions, from its training record (``training.json``): a table, a JSON and a PNG.

Each shipped session is a filled point on the main line (its UNet steps in all, its judged
single-object accuracy and grounded recall); a session that trained on but measured no better is
a hollow point joined by a dashed line to the steps it started from. No model is run: every
figure is the one ``scenecraft eval world-model`` measured when that session ended, so the
curve is as noisy as those evals (about +-0.05 at n=96 prompts and ~110 objects).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenecraft.eval.common import print_table, write_json
from scenecraft.training.ship import shipped_record

TARGETS = {"single_object": 0.95, "grounded_recall": 0.90}
NAMES = {"single_object": "single object", "grounded_recall": "grounded"}


def sessions(record: dict) -> list[dict[str, Any]]:
    """Every session of the record, shipped or not, in the order of their steps."""
    rows = [{**h, "shipped": True} for h in record["history"]]
    rows += [{**h, "shipped": False} for h in record.get("not_shipped", [])]
    return sorted(rows, key=lambda h: (h["steps"], h["date"]))


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shipped = [h for h in rows if h["shipped"]]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for key, colour in (("single_object", "tab:blue"), ("grounded_recall", "tab:orange")):
        ax.plot(
            [h["steps"] for h in shipped],
            [h[key] for h in shipped],
            "o-",
            color=colour,
            label=f"{NAMES[key]} (shipped)",
        )
        for h in rows:
            if h["shipped"]:
                continue
            parent = max(
                (s for s in shipped if s["steps"] <= h["from_steps"]),
                key=lambda s: s["steps"],
                default=None,
            )
            if parent is not None:
                xs, ys = [parent["steps"], h["steps"]], [parent[key], h[key]]
                ax.plot(xs, ys, "--", color=colour, alpha=0.6)
            ax.plot(h["steps"], h[key], "o", mfc="white", color=colour)
        ax.axhline(TARGETS[key], color=colour, lw=0.8, ls=":")
    for h in shipped:
        ax.annotate(
            h["on"],
            (h["steps"], h["single_object"]),
            fontsize=7,
            xytext=(3, 4),
            textcoords="offset points",
        )
    ax.plot([], [], "o", mfc="white", color="grey", label="trained on, not shipped")
    ax.plot([], [], ":", color="grey", label="targets")
    ax.set_xlabel("UNet steps in all (batch 32 on the CPU; the first row: 512 on a GPU)")
    ax.set_ylabel("accuracy (held-out, judged)")
    ax.set_ylim(0, 1)
    ax.set_title("shapes-sd: accuracy at the end of each session")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(model: Path, out: Path) -> list[dict]:
    record = shipped_record(model)
    if record is None:
        raise ValueError(f"{model} has no training record (training.json)")
    rows = sessions(record)
    print_table(
        f"{model}: one row a session",
        ["date", "session", "steps", "minutes", "single", "grounded", "LMD", "shipped"],
        [
            [
                h["date"],
                h["label"],
                f"{h.get('from_steps', '')}{' -> ' if 'from_steps' in h else ''}{h['steps']}",
                f"{h['minutes']:.0f} {h['on']}",
                h["single_object"],
                h["grounded_recall"],
                h["lmd_overall"],
                "yes" if h["shipped"] else "no",
            ]
            for h in rows
        ],
    )
    write_json(out, {"model": str(model), "targets": TARGETS, "sessions": rows})
    plot(rows, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return rows
