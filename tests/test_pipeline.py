"""One judgement: the file, the archive (first scoring and --rescore) and the end of a live
call give the same report, compared as typed records (rules, occurrences, timeline with word
times, measures, score), not as rounded JSON."""
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from phonecoach.archive.store import Store
from phonecoach.cli.main import main
from phonecoach.core.verdict import CallReport
from phonecoach.judging.rulepack import DEFAULT_PACK, load_pack
from phonecoach.live.session import LiveSession
from phonecoach.live.sources import ReplaySource
from phonecoach.pipeline import ScoreOptions, score_call

from .test_live_replay import ko_setup  # noqa: F401 - the fixture


def facts_aside(report: CallReport) -> CallReport:
    """The verdict without what says how it was made (the file or folder it came from, the
    notes a live session adds about itself)."""
    return replace(report, source="", notes=[])


@pytest.mark.slow
def test_file_archive_rescore_and_live_give_one_report(ko_setup, ko_model, tmp_path):
    path = Path(ko_setup[0])
    pack = load_pack()
    by_file = score_call(pack, path, None, ScoreOptions(model=str(ko_model)))
    assert by_file.measures is not None and by_file.timeline.utterances and by_file.score is not None

    live = LiveSession(pack, ReplaySource(str(path), speed=0), str(ko_model), tmp_path / "live").run().report

    db = tmp_path / "calls.db"
    r = CliRunner().invoke(main, ["batch", str(path), "--store", str(db), "--model", str(ko_model)])
    assert r.exit_code == 0, r.output
    edited = tmp_path / "same-rules.toml"  # a new pack version with the same rules: re-judged, not re-heard
    edited.write_text(DEFAULT_PACK.read_text(encoding="utf-8") + "\n# reviewed\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["batch", "--rescore", "--store", str(db), "--rules", str(edited)])
    assert r.exit_code == 0, r.output
    stored = sorted(Store(db).calls(errors=False), key=lambda c: c.pack_version)
    assert len(stored) == 2 and len({c.pack_version for c in stored}) == 2
    first, rescored = (c.report for c in stored)

    expected = facts_aside(by_file)
    for name, report in (("live", live), ("batch", first), ("rescore", rescored)):
        got = facts_aside(report)
        assert got.results == expected.results, name
        assert got.timeline == expected.timeline, name
        assert got.measures == expected.measures, name
        assert got == expected and got.score == by_file.score, name
