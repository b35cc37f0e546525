#!/usr/bin/env bash
# Set up a development checkout. Idempotent: run it as often as you like.
#
#   scripts/setup.sh              the virtualenv .venv with the project installed
#                                 (pip runs only when pyproject.toml changed since last time)
#   scripts/setup.sh --test-deps  also the Debian packages the tests need (root installs them;
#                                 anyone else is told the apt-get line to run)
#
# PYTHON=/path/to/python3.x picks the interpreter for a new .venv (default: python3).
set -euo pipefail

# Debian packages the test suite needs: PostgreSQL (every database test runs on it too),
# a virtual X server with GL for the Kivy app's UI tests, CJK fonts for screenshots and
# exports, and Chromium for the web admin's browser tests.
TEST_DEBS="postgresql xvfb xauth libgl1-mesa-dri fonts-noto-cjk chromium"

MIN_PYTHON="3.11"
EXTRAS="server,app,dev"

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

test_deps=0
for arg in "$@"; do
    case "$arg" in
        --test-deps) test_deps=1 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) die "unknown argument: $arg (try --help)" ;;
    esac
done

python_ok() {  # python_ok INTERPRETER: true if it runs and is at least MIN_PYTHON
    "$1" -c "import sys; sys.exit(sys.version_info < tuple(map(int, '$MIN_PYTHON'.split('.'))))" \
        >/dev/null 2>&1
}

# --- (a) the virtualenv and the project in it -----------------------------------------------
VENV=.venv
STAMP="$VENV/.installed-stamp"

if [ -x "$VENV/bin/python" ] && ! python_ok "$VENV/bin/python"; then
    die "$VENV uses Python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())'), older than $MIN_PYTHON; remove $VENV and run this again"
fi

if [ ! -x "$VENV/bin/python" ]; then
    PYTHON="${PYTHON:-python3}"
    command -v "$PYTHON" >/dev/null 2>&1 \
        || die "$PYTHON not found: install Python $MIN_PYTHON or newer (on Debian: apt-get install python3 python3-venv), or set PYTHON=/path/to/python3.x"
    python_ok "$PYTHON" \
        || die "$PYTHON is Python $("$PYTHON" -c 'import platform; print(platform.python_version())'), but Whistle needs $MIN_PYTHON or newer; set PYTHON=/path/to/python3.x"
    say "creating $VENV with $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    "$PYTHON" -m venv "$VENV" \
        || die "could not create $VENV (on Debian: apt-get install python3-venv)"
    rm -f "$STAMP"
fi

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    say "installing the project into $VENV (pip install -e \".[$EXTRAS]\")"
    "$VENV/bin/python" -m pip install --quiet -e ".[$EXTRAS]"
    touch "$STAMP"
else
    say "$VENV is up to date (pyproject.toml unchanged since the last install)"
fi

# --- (b) the Debian packages the tests need ------------------------------------------------
if [ "$test_deps" -eq 1 ]; then
    command -v dpkg >/dev/null 2>&1 \
        || die "not a Debian-like system (no dpkg): install the equivalents of: $TEST_DEBS"
    missing=()
    for pkg in $TEST_DEBS; do
        dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        say "test packages present: $TEST_DEBS"
    elif [ "$(id -u)" -eq 0 ]; then
        say "installing test packages: ${missing[*]}"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    else
        printf 'setup: missing Debian packages: %s\n' "${missing[*]}" >&2
        printf 'setup: install them as root with:\n' >&2
        printf '  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y %s\n' \
            "${missing[*]}" >&2
        exit 1
    fi
fi
