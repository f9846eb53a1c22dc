"""A stand-in for pip's get-pip.py, which ansible-test downloads from ci-files.testing.ansible.com
(a host this machine and CI cannot reach) to put pip into each sanity test's virtual environment.
It does the same with what is at hand: Python's own ensurepip, then pip from PyPI at the version
ansible-test asks for. `make lint` copies it into ansible-test's cache.
"""

import ensurepip
import os
import subprocess
import sys

# ansible-test passes pip's options and the packages (pip==X), plus two get-pip.py options.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

ensurepip.bootstrap()
# ensurepip turns pip's configuration off for this process (PIP_CONFIG_FILE=/dev/null); the pip
# below must read it, as it may name the certificates or the index to use.
os.environ.pop("PIP_CONFIG_FILE", None)
arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *arguments])
