"""Sinks for call reports: the terminal (rich) and JSON.

Both render the same ``CallReport``; nothing here judges anything.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.safeio import printable
from ..core.timeline import clock
from ..judging.engine import CallReport


def render_terminal(report: CallReport, console: Console) -> None:
    """Broken rules in full (time, evidence, fix); kept and unjudged rules in one line each."""
    score = "n/a" if report.score is None else f"{report.score:.1f}"
    failed = [r for r in report.results if r.status == "fail"]
    kept = [r for r in report.results if r.status == "pass"]
    unjudged = [r for r in report.results if r.status == "not_applicable"]
    console.print()
    console.print(Text.assemble(("Call ", "bold"), (printable(report.source), "bold cyan"),
                                ("  score ", "bold"), (score, "bold yellow"),
                                (f"/100  ({len(kept)} kept, {len(failed)} broken, {len(unjudged)} not judged)", "")))
    for note in report.notes:
        console.print(Text(f"  note: {printable(note)}", style="italic"))
    if failed:
        table = Table(show_header=True, header_style="bold", pad_edge=False, show_lines=True)
        table.add_column("at", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("what happened / fix", overflow="fold")
        for r in failed:
            body = Text()
            body.append(r.rule.message, style="bold red")
            for o in r.occurrences[:3]:
                if o.evidence:
                    body.append(f"\n{clock(o.start) + ' ' if o.start is not None else ''}“{printable(o.evidence)}”")
            if len(r.occurrences) > 3:
                body.append(f"\n… {len(r.occurrences) - 3} more")
            if r.detail:
                body.append(f"\n{printable(r.detail)}", style="dim")
            body.append(f"\nfix: {r.rule.fix}", style="green")
            when = clock(r.occurrences[0].start) if r.occurrences else ""
            table.add_row(when, f"{r.rule.id}\n[{r.rule.severity}]", body)
        console.print(table)
    if kept:
        console.print(Text("  kept: ", style="bold green") + Text(", ".join(r.rule.id for r in kept)))
    for r in unjudged:
        console.print(Text(f"  not judged: {r.rule.id} — {printable(r.detail)}", style="dim"))
    if report.measures is not None:
        for line in report.measures.describe():
            console.print(Text(f"  {printable(line)}"))



def json_payload(reports: Iterable[CallReport | dict[str, Any]], single: bool) -> str:
    items = [r.to_dict() if isinstance(r, CallReport) else r for r in reports]
    return json.dumps(items[0] if single and len(items) == 1 else items, ensure_ascii=False, indent=2)
