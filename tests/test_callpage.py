"""The replay page and the dashboard as files: what they say, what they link, what they embed,
and that a transcript's HTML is text. The browser tests (test_browser.py) click through them."""
import base64
import io
import json
import re
from dataclasses import replace
from html import unescape
from pathlib import Path

import soundfile as sf
from click.testing import CliRunner

from phonecoach.cli.main import main
from phonecoach.core.verdict import CallReport, Occurrence
from phonecoach.inputs.audio import load_call
from phonecoach.judging.rulepack import load_pack
from phonecoach.pipeline import ScoreOptions, score_call
from phonecoach.sinks.callpage import call_page

from .conftest import SAMPLES
from .test_batch import archive, batch

HOSTILE = ['<script>window.__pwned = 1</script>', '<img src=x onerror="window.__pwned = 2">', '"><svg onload=alert(1)>']


def scored(name: str) -> CallReport:
    """The sample as 'phonecoach score' judges it (no model here: its reference transcript)."""
    return score_call(load_pack(), SAMPLES / f"{name}.flac", None, ScoreOptions())


def test_every_broken_rule_is_shown_with_its_fix_and_moments(tmp_path):
    out = tmp_path / "blame.html"
    r = CliRunner().invoke(main, ["report", str(SAMPLES / "blame_call.flac"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    report = scored("blame_call").to_dict()
    broken = [x for x in report["rules"] if x["status"] == "fail"]
    assert len(re.findall(r'<article class="finding', page)) == len(broken) > 3
    for rule in broken:
        assert f'data-rule="{rule["rule"]}"' in page
        assert unescape(page).count(rule["fix"]) >= 1
        for o in rule["occurrences"]:
            if o["start"] is not None:  # each moment is a button to hear it
                assert f'class="occ" data-rule="{rule["rule"]}" data-start="{o["start"]}"' in page
    # the transcript: one line per utterance, in order, each playable from its start
    starts = [float(x) for x in re.findall(r'<li class="utt [a-z]+[^"]*" data-start="([\d.]+)"', page)]
    assert starts == [u["start"] for u in report["utterances"]]
    # the phrase that broke never.shift_blame is marked where it was said, with its fix beside it
    said = next(u["start"] for u in report["utterances"] if "与我无关" in u["text"])  # where the sample says it
    hit = re.search(rf'<mark class="hit[^"]*" data-rule="never.shift_blame" data-start="{said}" title="[^"]*">([^<]*)</mark>',
                    page)
    assert hit and hit.group(1) == "与我无关"


def test_the_audio_is_embedded_at_a_voice_bitrate_and_lasts_the_call(tmp_path):
    call = load_call(SAMPLES / "hold_call.flac")
    page = call_page(scored("hold_call"), call)
    data = re.search(r'<script id="audio-data" type="application/octet-stream" data-mime="audio/mpeg">([^<]+)</script>',
                     page)
    mp3 = base64.b64decode(data.group(1))
    x, sr = sf.read(io.BytesIO(mp3))
    assert sr == 8000  # the telephone band, as the customer heard the call
    assert abs(len(x) / sr - call.duration) < 0.15
    kbps = len(mp3) * 8 / call.duration / 1000
    assert 16 <= kbps <= 32
    assert len(page.encode()) < 1.5 * len(mp3) + 200_000  # the page is the audio plus text


def test_a_page_without_audio_still_shows_the_verdict(tmp_path):
    page = call_page(scored("blame_call"))
    assert '<audio' not in page and 'id="audio-data" type' not in page
    assert "No audio with this report" in page and 'data-rule="never.shift_blame"' in page


def test_transcript_and_evidence_html_is_text(tmp_path):
    report = scored("blame_call")
    said = [replace(u, text=bad + u.text) for u, bad in zip(report.timeline.utterances, HOSTILE * 3)]
    first = report.results[0]
    shown_as = replace(first, status="fail", occurrences=(Occurrence(None, None, HOSTILE[1]),))
    report = replace(report, source=HOSTILE[0] + ".wav", notes=report.notes + [HOSTILE[2]],
                     timeline=replace(report.timeline, utterances=said), results=[shown_as] + report.results[1:])
    page = call_page(report)
    for bad in HOSTILE:
        assert bad not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;window.__pwned = 2&#34;&gt;" in page
    # the only scripts are the page's own, allowed by a nonce its Content-Security-Policy names
    nonce = re.search(r"script-src 'nonce-([\w-]+)'", page).group(1)
    assert re.findall(r"<script\b[^>]*>", page) == [f'<script nonce="{nonce}">']


def test_score_html_writes_a_page_per_call(tmp_path):
    r = CliRunner().invoke(main, ["score", str(SAMPLES), "--html", str(tmp_path / "pages")])
    assert r.exit_code == 0, r.output
    assert sorted(p.stem for p in (tmp_path / "pages").glob("*.html")) == sorted(p.stem for p in SAMPLES.glob("*.flac"))


def test_report_errors_are_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt nonsense")
    r = CliRunner().invoke(main, ["report", str(bad), "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 1 and "broken.wav" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()
    r = CliRunner().invoke(main, ["report", "--store", str(tmp_path / "none.db"), "-o", str(tmp_path / "d.html")])
    assert r.exit_code == 1 and "none.db: no such results store" in r.stderr
    r = CliRunner().invoke(main, ["report", str(bad), "--store", str(tmp_path / "none.db"), "-o", str(tmp_path / "d.html")])
    assert r.exit_code == 2


def dashboard_store(tmp_path: Path) -> Path:
    calls = archive(tmp_path / "arch", copies=2)
    manifest = tmp_path / "calls.csv"
    lines = ["file,agent,started_at"]
    for i, c in enumerate(calls):  # one agent's name is hostile: it must show as text
        agent = "zhao<b>&" if i % 3 == 0 else c.stem.split("_")[0]
        lines.append(f"{c},{agent},2026-11-{2 + 7 * (i % 3):02d}T10:00:00")
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "results.db"
    r = batch(str(manifest), "--store", str(db), "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    return db


def test_dashboard_lists_agents_rules_and_calls_worst_first_linking_their_pages(tmp_path):
    db = dashboard_store(tmp_path)
    out = tmp_path / "site" / "dashboard.html"
    r = CliRunner().invoke(main, ["report", "--store", str(db), "-o", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    summary = json.loads(CliRunner().invoke(main, ["summary", "--store", str(db), "--json"]).stdout)
    agents = re.findall(r'<tr class="agent" data-agent="([^"]*)">', page)
    assert [unescape(a) for a in agents] == [a["agent"] for a in summary["agents"]]
    assert "zhao&lt;b&gt;&amp;" in page and "zhao<b>" not in page
    scores = [float(s) for s in re.findall(r'<tr class="call"[^>]*>\s*<td class="num">([\d.]+)</td>', page)]
    assert len(scores) == summary["calls"] and scores == sorted(scores)
    links = re.findall(r'<a href="([^"]+)">', page)
    assert len(links) == summary["calls"]
    for link in links:  # each call's page exists, beside the dashboard
        assert (out.parent / link).is_file() and (out.parent / link).read_text(encoding="utf-8").count("data-rule") > 3
    assert len(re.findall(r'<tr class="rule" data-rule=', page)) == len(summary["rules"])
    # complaint calls apart, per agent: as many as the store holds, each one marked in the call list
    upset = re.findall(r'<tr class="complaint-agent" data-agent="([^"]*)"><td>[^<]*</td><td class="num">(\d+)</td>', page)
    assert [(unescape(a), int(n)) for a, n in upset] == [(a["agent"], a["complaint_calls"]) for a in summary["complaints"]]
    assert sum(int(n) for _, n in upset) == page.count('data-complaint="1"') > 0
    # a second run keeps the pages it already wrote
    r = CliRunner().invoke(main, ["report", "--store", str(db), "-o", str(out)])
    assert r.exit_code == 0 and f"0 written, {len(links)} already there" in r.stderr


def test_findings_land_on_the_line_a_scan_of_every_line_would_pick():
    """The page finds each finding's line by bisection (a scan per finding made 100k-turn calls
    never finish); on random, overlapping and untimed lines it picks what the scan picks."""
    import random

    from phonecoach.sinks.callpage import Line, _LineIndex

    def scan(lines, t, text):
        timed = [i for i, ln in enumerate(lines) if ln.start is not None]
        inside = [i for i in timed if lines[i].start - 0.05 <= t <= (lines[i].end or lines[i].start) + 0.05]
        same = [i for i in inside if text is not None and lines[i].pieces[0][0] == text]
        before = [i for i in timed if lines[i].start <= t]
        return (same or inside or before[-1:] or timed[:1] or [None])[0]

    rng = random.Random(7)
    for _ in range(300):
        lines = []
        for _ in range(rng.randint(0, 30)):
            start = None if rng.random() < 0.1 else round(rng.uniform(0, 60), 2)
            end = None if start is None or rng.random() < 0.1 else start + round(rng.uniform(0, 8), 2)
            lines.append(Line("agent", start, end, [(rng.choice("abc"), None)]))
        index = _LineIndex(lines)
        for _ in range(30):
            t, text = round(rng.uniform(-5, 70), 2), rng.choice(["a", "b", "c", None])
            assert index.line_at(t, text) == scan(lines, t, text), (t, text)



def test_the_complaint_is_marked_and_the_answer_shown_step_by_step():
    call = scored("loud_call")  # the caller complains; the agent answers some steps, not others
    assert call.complaints, "loud_call's caller complains"
    page = call_page(call)
    section = page[page.index('<section id="complaint">'): page.index("</section>", page.index('<section id="complaint">'))]
    c = call.complaints[0]
    assert f'data-start="{c.start}"' in section and unescape(c.evidence) in unescape(section)
    steps = re.findall(r'<li class="step (pass|fail[^"]*|na)" data-rule="([^"]+)"(?: data-start="([^"]+)")?', section)
    status = {r.rule.id: r.status for r in call.results}
    for kind, rule, _ in steps:
        assert status[rule] == {"pass": "pass", "na": "not_applicable"}.get(kind, "fail"), rule
    assert {rule for _, rule, _ in steps} >= {"complaint.apologise", "complaint.next_step", "never.blame_customer"}
    taken = [float(t) for kind, _, t in steps if kind == "pass" and t]
    assert taken == sorted(taken) and taken and all(t >= c.start for t in taken)  # the steps in the order taken
    assert re.search(r'class="mark complaint" [^>]*data-start="' + re.escape(str(c.start)), page) or \
        re.search(r'<rect class="mark complaint"[^>]*data-start="' + re.escape(str(c.start)), page)


def test_a_complaint_in_hostile_words_is_text_on_the_page():
    from phonecoach.core.timeline import Timeline, Utterance
    from phonecoach.judging.engine import judge

    tl = Timeline([Utterance("agent", "您好，请问有什么可以帮您", 0.0, 2.0),
                   Utterance("customer", "我要投诉" + HOSTILE[0], 2.5, 5.0),
                   Utterance("agent", "非常抱歉", 5.5, 6.5)])
    page = call_page(judge(load_pack(), tl, "hostile"))
    assert "<script>window.__pwned" not in page and "&lt;script&gt;window.__pwned" in page
