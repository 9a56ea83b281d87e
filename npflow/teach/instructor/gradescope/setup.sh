#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu), from the
# folder the zip was unpacked in (/autograder/source). It installs what the copy of npflow in
# the zip needs (NumPy, SciPy and autograd, in a virtual environment of their own, with a Python
# of at least 3.11), and makes the unprivileged user that runs the students' code.
set -euo pipefail

venv="${NPFLOW_VENV:-/opt/npflow-venv}"
user="${NPFLOW_STUDENT_USER:-npflow-student}"

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv
python=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then  # tomllib, for the course file
    if ! apt-cache show python3.11-venv >/dev/null 2>&1; then  # before Ubuntu 22.04: from the deadsnakes archive
        apt-get install -y --no-install-recommends software-properties-common gpg-agent
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update
    fi
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    python=python3.11
fi
"$python" -m venv "$venv"
"$venv/bin/pip" install --no-cache-dir "numpy>=1.22" "scipy>=1.8" "autograd>=1.6"
chmod -R a+rX "$venv"  # the student's user imports NumPy, SciPy and autograd from here

# the students' code runs as this user: no login, no home, none of the grader's files
id -u "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
