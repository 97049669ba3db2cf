#!/usr/bin/env bash
# Install phonecoach as users do (a wheel into a clean environment, no checkout in sight) and
# score a sample call from a temporary folder: a packaging slip (a pack, template or model
# path that only exists in the checkout) fails here, not on a user's machine.
#   bash scripts/wheel_check.sh          (CI runs it from .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -x .venv/bin/python ] || bash scripts/setup.sh  # a Python with pip (Debian's python3 may lack it)
PY=.venv/bin/python
"$PY" -m pip wheel -q --disable-pip-version-check --no-deps -w "$work/dist" . >/dev/null
wheel=$(ls "$work"/dist/phonecoach-*.whl)
"$PY" -m venv "$work/env"
"$work/env/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt "$wheel" 2>&1 \
  | grep -v -E "^WARNING: Location .* is ignored" >&2 || true

mkdir "$work/elsewhere"
cp samples/blame_call.transcript.json "$work/elsewhere/call.json"
cd "$work/elsewhere"
export HOME="$work/home"  # the user's data folder is fresh: no model installed, none from the checkout
unset PHONECOACH_MODELS_DIR PHONECOACH_MODEL
pc="$work/env/bin/phonecoach"

"$pc" rules check >/dev/null
"$pc" score --transcript call.json --json > report.json
"$work/env/bin/python" - "$repo" <<'EOF'
import json, sys
from pathlib import Path

report = json.loads(Path("report.json").read_text(encoding="utf-8"))
expected = json.loads((Path(sys.argv[1]) / "samples" / "blame_call.expected.json").read_text(encoding="utf-8"))
statuses = {r["rule"]: r["status"] for r in report["rules"]}
assert len(statuses) > 20, statuses
assert statuses["never.shift_blame"] == "fail", statuses  # the shipped pack judged the call
wrong = [r for r in expected["fails"] if statuses.get(r) not in ("fail", "not_applicable")]
assert not wrong, f"the sample's faults not found: {wrong}"  # (acoustic rules need the audio)
import phonecoach
assert "site-packages" in phonecoach.__file__, phonecoach.__file__  # the installed copy, not the checkout
from phonecoach.inputs.audio import load_call
from phonecoach.hearing.speech import SpeechTracker
heard = SpeechTracker("agent")  # the speech detector's weights ship inside the wheel
heard.feed(load_call(Path(sys.argv[1]) / "samples" / "blame_call.flac").parties["agent"])
heard.finish()
assert heard.turns, "the installed speech detector heard no speech in the sample call"
print(f"wheel check: installed wheel scored a call from {Path.cwd()}: score {report['score']}, "
      f"{sum(s == 'fail' for s in statuses.values())} rules broken; {len(heard.turns)} agent turns heard")
EOF
models=$("$pc" models list 2>&1 || true)
case "$models" in
  *"$HOME/.local/share/phonecoach/models"*) ;;
  *) echo "wheel check: models folder is not the user's data folder: $models" >&2; exit 1 ;;
esac
ls "$work/elsewhere" | grep -qv -E '^(call|report)\.json$' && { echo "wheel check: files left in the working folder" >&2; exit 1; }
echo "wheel check: ok"
