# -*- coding: utf-8 -*-
# Copyright: (c) 2026, aurora-ansible developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the collection's compiled executable for a module task.

Every module of aurora.scheduler is one static executable per platform, shipped in the
collection's ``executables/`` directory. Each module's action plugin is this class: it picks the
executable built for the platform the task runs on and, when that is the controller itself (a
local connection without become), runs it in place instead of copying it into a temporary
directory; anywhere else it hands it to ansible-core's usual binary-module path (copy, run,
remove), so become, async and remote temporary directories behave as for any module.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.executor.module_common import _BuiltModule
from ansible.module_utils.common.json import Direction, get_module_encoder
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.vars.clean import remove_internal_keys

display = Display()

# The serialization ansible-core uses for binary modules (binary-modules.md section 1.1).
PROFILE = "legacy"

# The machine names ``uname -m`` (or Python's platform.machine()) gives, per executable name.
MACHINES = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "aarch64",
}

# Where the executables live, relative to the collection root.
EXECUTABLES_DIR = "executables"

# Overrides the executable for every task on every platform (a development build, say).
EXECUTABLE_ENV = "AURORA_ANSIBLE_EXECUTABLE"


def collection_root():
    """The directory of this collection (plugins/plugin_utils/ is two levels below it)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def executable_name(system, machine):
    """The file name of the executable for ``uname -s``/``uname -m``, or None when none is built."""
    arch = MACHINES.get(machine.strip().lower())
    if system.strip().lower() != "linux" or arch is None:
        return None
    return "aurora-ansible-linux-%s" % arch


def shipped_executables():
    directory = os.path.join(collection_root(), EXECUTABLES_DIR)
    try:
        return sorted(name for name in os.listdir(directory) if name.startswith("aurora-ansible-"))
    except OSError:
        return []


def executable_path(system, machine, where):
    """The executable to run for a platform, or AnsibleActionFail saying what to do instead."""
    override = os.environ.get(EXECUTABLE_ENV)
    if override:
        return override
    name = executable_name(system, machine)
    shipped = ", ".join(shipped_executables()) or "none"
    if name is None:
        raise AnsibleActionFail(
            "aurora.scheduler has no executable for %s, which is %s %s; it ships executables for "
            "Linux on x86_64 and aarch64 (here: %s). Run the task on such a host, for example with "
            "delegate_to: localhost on a Linux controller." % (where, system.strip(), machine.strip(), shipped)
        )
    path = os.path.join(collection_root(), EXECUTABLES_DIR, name)
    if not os.path.isfile(path):
        raise AnsibleActionFail(
            "aurora.scheduler's executable %s for %s (%s %s) is missing from %s (it has: %s); "
            "install a collection built with `make collection`, or from a checkout run `make build`"
            % (name, where, system.strip(), machine.strip(), os.path.dirname(path), shipped)
        )
    return path


def controller_executable():
    """The executable for the controller's own platform (the inventory plugin runs it)."""
    uname = platform.uname()
    return executable_path(uname.system, uname.machine, "the controller")


class ExecutableAction(ActionBase):
    """The action of every aurora.scheduler module: run the module's executable for the task."""

    _supports_check_mode = True
    _supports_async = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._executable = None

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp  # unused, as in ansible-core's own action plugins

        if self._runs_on_controller():
            result.update(self._run_in_place(task_vars))
            return result

        system, machine = self._target_platform(task_vars)
        self._executable = executable_path(system, machine, "host %s" % self._host_name(task_vars))
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result.update(self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _runs_on_controller(self):
        """A local connection without become and without async: the executable can run in place."""
        # ansible.builtin.local's class says transport 'local'; no other connection does.
        return (
            getattr(self._connection, "transport", None) == "local"
            and not self._play_context.become
            and not self._task.async_val
        )

    def _host_name(self, task_vars):
        """The host the task runs on: the delegated one, if any."""
        return self._task.delegate_to or task_vars.get("inventory_hostname", "?")

    def _target_platform(self, task_vars):
        """``(system, machine)`` of the host the task runs on: from its facts when gathered, else uname."""
        facts = task_vars.get("ansible_facts", {})
        if self._task.delegate_to:
            facts = task_vars.get("ansible_delegated_vars", {}).get(self._task.delegate_to, {}).get("ansible_facts", {})
        if facts.get("system") and facts.get("architecture"):
            return facts["system"], facts["architecture"]
        probe = self._low_level_execute_command("uname -s -m", sudoable=False)
        words = probe.get("stdout", "").split()
        if probe.get("rc") != 0 or len(words) != 2:
            raise AnsibleActionFail(
                "aurora.scheduler could not tell the platform of host %s (uname -s -m: rc %s, %r); "
                "gather facts first (ansible.builtin.setup with gather_subset: [min])"
                % (self._host_name(task_vars), probe.get("rc"), (probe.get("stderr") or probe.get("stdout", ""))[:200])
            )
        return words[0], words[1]

    def _configure_module(self, module_name, module_args, task_vars):
        """The platform's executable as a binary module; other modules (async_wrapper) as core builds them."""
        if module_name != self._task.action or self._executable is None:
            return super()._configure_module(module_name, module_args, task_vars)
        module = _BuiltModule(b_module_data=b"", module_style="binary", shebang=None, serialization_profile=PROFILE)
        return module, self._executable

    def _run_in_place(self, task_vars):
        """Runs the controller's executable directly: one args file, no copy, no remote commands."""
        executable = controller_executable()
        module_args = dict(self._task.args)
        self._update_module_args(self._task.action, module_args, task_vars)
        environment = {}
        self._compute_environment_string(environment)
        env = dict(os.environ)
        env.update((key, str(value)) for key, value in environment.items())
        display.vvv("Running %s in place for %s" % (executable, self._task.action))

        # The arguments may hold a password: a private directory, removed whatever happens.
        with tempfile.TemporaryDirectory(prefix="aurora-ansible-") as directory:
            args_path = os.path.join(directory, "args")
            with open(os.open(args_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as args_file:
                json.dump(module_args, args_file, cls=get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE))
            try:
                run = subprocess.run([executable, args_path], env=env, capture_output=True, check=False)
            except OSError as error:
                raise AnsibleActionFail("aurora.scheduler could not run %s: %s" % (executable, error)) from error
        output = {
            "rc": run.returncode,
            "stdout": run.stdout.decode("utf-8", errors="surrogateescape"),
            "stderr": run.stderr.decode("utf-8", errors="surrogateescape"),
        }
        data = self._parse_returned_data(output, PROFILE)
        remove_internal_keys(data)
        return data
