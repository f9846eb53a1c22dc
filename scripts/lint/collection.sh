#!/usr/bin/env bash
# The collection's review gates, as a Galaxy reviewer runs them: ansible-test sanity (every test,
# no ignore file), ansible-lint with the production profile, and antsibull-changelog's lint of
# the changelog fragments. Run by `make lint-collection` with the lint venv's tools.
# Usage: collection.sh LINT_VENV COLLECTION_DIR
set -euo pipefail
venv=$(cd "$1" && pwd) collection=$2
here=$(cd "$(dirname "$0")" && pwd)
# ansible-test fetches pip's get-pip.py from a host this machine cannot reach; the stand-in does
# the same from PyPI. Its cache name carries the pip version ansible-test asks for.
pip_version=$("$venv/bin/python3" -c 'import re, ansible_test, pathlib; print(re.search(r"pip=.([0-9.]+).", (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()).group(1))')
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$cache")"
cmp -s "$here/get_pip.py" "$cache" || cp "$here/get_pip.py" "$cache"
python=$("$venv/bin/python3" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
cd "$collection"
echo "--- ansible-test sanity"
"$venv/bin/ansible-test" sanity --local --python "$python" --color no 2>&1 | grep -v '^Installing\|^Using cached\|^Collecting\|^  Downloading\|^Successfully\|^Looking in\|^Processing\|━'
echo "--- ansible-lint (production profile)"
"$venv/bin/ansible-lint" --nocolor --project-dir . --profile production
echo "--- antsibull-changelog lint"
"$venv/bin/antsibull-changelog" lint
