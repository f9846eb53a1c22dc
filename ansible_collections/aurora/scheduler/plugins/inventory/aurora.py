# The agent hosts of an Aurora scheduler as Ansible inventory: runs the collection's executable
# (its host_info module) and turns its answer into hosts, groups and host variables.
# Copyright: (c) 2026, aurora-ansible developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aurora
short_description: Agent hosts of an Apache Aurora scheduler, grouped by maintenance mode and attribute
version_added: "0.1.0"
author:
  - aurora-ansible developers (@aurora-ansible)
description:
  - Lists every agent host the Aurora scheduler knows, the way an operator would against a real
    scheduler (the Thrift API cannot list hosts), so the hosts come from the scheduler's C(/agents)
    page and their modes from C(/maintenance), read by the collection's own executable (its
    M(aurora.scheduler.host_info) module). No Python dependency beyond ansible-core.
  - Adds each host to the group C(aurora_agents), to C(aurora_mode_<mode>) (C(aurora_mode_none),
    C(aurora_mode_scheduled), C(aurora_mode_draining), C(aurora_mode_drained)), and to
    C(aurora_<attribute>_<value>) for every attribute value (for example C(aurora_rack_r1)).
    Characters not allowed in group names become C(_).
  - Sets the host variables C(aurora_mode), C(aurora_attributes) (attribute name to list of values),
    C(aurora_task_count), C(aurora_agent_id), and C(aurora_tasks) when O(tasks) is true.
  - Hosts are added sorted by name, so that a play with C(order=inventory) and C(serial) takes them
    in a stable order.
  - The configuration file's name must end in C(aurora.yml) or C(aurora.yaml).
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: Marks the file as a source for this plugin.
    required: true
    choices: ["aurora.scheduler.aurora"]
  scheduler_url:
    description:
      - Base URL of the Aurora scheduler, for example C(http://aurora.example.com:8081). Either
        this or O(cluster) is needed, not both. The environment variable is used only when neither
        is set in the file, as for the modules.
      - A URL with credentials (C(user:password@)) is refused; use O(username) and O(password).
    type: str
    env:
      - name: AURORA_SCHEDULER_URL
  cluster:
    description:
      - Name of a cluster in Aurora's C(clusters.json), looked up as the Aurora client does.
      - Set in the file, it wins over E(AURORA_SCHEDULER_URL).
    type: str
  username:
    description: User for HTTP basic authentication.
    type: str
    env:
      - name: AURORA_USERNAME
  password:
    description: Password for HTTP basic authentication. Never printed.
    type: str
    env:
      - name: AURORA_PASSWORD
  validate_certs:
    description: Whether to verify the scheduler's TLS certificate.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of CA certificates to trust, in addition to the system's. A certificate in it is
        also accepted as the server's own (a self-signed one), when it names the host and is valid.
    type: path
  timeout:
    description: Seconds to wait for each call to the scheduler.
    type: int
    default: 30
  modes:
    description: Only hosts in these maintenance modes.
    type: list
    elements: str
    choices: [none, scheduled, draining, drained]
  attributes:
    description: Only hosts that have, for every entry, that attribute with that value.
    type: dict
  group_attributes:
    description:
      - The attributes that make C(aurora_<attribute>_<value>) groups. By default every
        attribute; for example C([rack, zone]) leaves out C(host), which names one host only.
    type: list
    elements: str
  tasks:
    description: Also set C(aurora_tasks), the active tasks of each host (job key, instance, status).
    type: bool
    default: false
  executable:
    description:
      - The collection's module executable. By default the one the collection ships for the
        controller's platform (C(executables/aurora-ansible-linux-x86_64) or C(-aarch64)).
    type: path
    env:
      - name: AURORA_ANSIBLE_EXECUTABLE
"""

EXAMPLES = r"""
---
# inventory/prod.aurora.yml
plugin: aurora.scheduler.aurora
scheduler_url: http://aurora.example.com:8081

---
# inventory/r3.aurora.yml: only the hosts of rack r3 that are not in maintenance, a group per zone
plugin: aurora.scheduler.aurora
cluster: prod
attributes:
  rack: r3
modes: [none]
keyed_groups:
  - key: aurora_attributes.zone
    prefix: zone

# Then: ansible-playbook -i inventory/prod.aurora.yml aurora.scheduler.host_maintenance -l aurora_rack_r3
"""

import json
import os
import subprocess
import tempfile

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

from ansible_collections.aurora.scheduler.plugins.plugin_utils.executable import controller_executable

CONNECTION_OPTIONS = ("scheduler_url", "cluster", "username", "password", "validate_certs", "ca_path", "timeout")
# Room for the scheduler's own timeout plus the executable's read retries.
RUN_GRACE_SECONDS = 60


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "aurora.scheduler.aurora"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("aurora.yml", "aurora.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        for host in self._read_hosts():
            self._add_host(host)

    def _module_args(self):
        # Options from the environment are left to the executable, which reads the same variables
        # with the modules' rule: what the file sets wins (cluster over AURORA_SCHEDULER_URL), and
        # scheduler_url with cluster, both set in the file, is an error.
        args = {}
        for name in CONNECTION_OPTIONS:
            value, origin = self.get_option_and_origin(name)
            if value is not None and not str(origin).startswith("env:"):
                args[name] = value
        args["tasks"] = bool(self.get_option("tasks"))
        if self.get_option("modes"):
            args["modes"] = self.get_option("modes")
        if self.get_option("attributes"):
            args["attributes"] = {str(k): str(v) for k, v in self.get_option("attributes").items()}
        args["_ansible_module_name"] = "aurora.scheduler.host_info"
        args["_ansible_check_mode"] = True
        return args

    def _executable(self):
        configured = self.get_option("executable")
        if configured:
            return configured
        try:
            return controller_executable()
        except AnsibleError as e:
            raise AnsibleParserError("aurora.scheduler.aurora: %s" % to_native(e.message))

    def _read_hosts(self):
        """Runs host_info through the executable, as Ansible runs a binary module: one JSON args file."""
        executable = self._executable()
        if not os.access(executable, os.X_OK):
            raise AnsibleParserError(
                "aurora.scheduler.aurora: the collection's executable %s is missing or not executable; "
                "install the collection built with `make collection` (a checkout: `make build`), or set the inventory option `executable` "
                "(or AURORA_ANSIBLE_EXECUTABLE) to its path" % executable
            )
        # The args file may hold the password: NamedTemporaryFile is created readable by us only.
        with tempfile.NamedTemporaryFile("w", prefix="aurora-inventory-", suffix=".json") as args_file:
            json.dump(self._module_args(), args_file)
            args_file.flush()
            try:
                run = subprocess.run(
                    [executable, args_file.name],
                    capture_output=True,
                    text=True,
                    timeout=int(self.get_option("timeout")) + RUN_GRACE_SECONDS,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as e:
                raise AnsibleParserError("aurora.scheduler.aurora: could not run %s: %s" % (executable, to_native(e)))
        try:
            result = json.loads(run.stdout)
        except ValueError:
            raise AnsibleParserError(
                "aurora.scheduler.aurora: %s did not answer with JSON (exit status %d): %s"
                % (executable, run.returncode, (run.stderr or run.stdout).strip()[:500])
            )
        if result.get("failed"):
            raise AnsibleParserError("aurora.scheduler.aurora: cannot list the scheduler's hosts: %s" % result.get("msg"))
        return result.get("hosts", [])

    def _add_host(self, host):
        name = host["name"]
        self.inventory.add_host(name)
        mode = host.get("mode", "NONE")
        attributes = host.get("attributes") or {}
        host_vars = {
            "aurora_mode": mode,
            "aurora_attributes": attributes,
            "aurora_task_count": host.get("task_count", 0),
            "aurora_agent_id": host.get("agent_id"),
        }
        if self.get_option("tasks"):
            host_vars["aurora_tasks"] = host.get("tasks", [])
        for var, value in host_vars.items():
            self.inventory.set_variable(name, var, value)

        groups = ["aurora_agents", "aurora_mode_%s" % mode.lower()]
        grouped = self.get_option("group_attributes")
        for attribute, values in sorted(attributes.items()):
            if grouped is not None and attribute not in grouped:
                continue
            for value in values:
                groups.append("aurora_%s_%s" % (attribute, value))
        for group in groups:
            group = self._sanitize_group_name(group)
            self.inventory.add_group(group)
            self.inventory.add_child(group, name)

        strict = self.get_option("strict")
        all_vars = self.inventory.get_host(name).get_vars()
        self._set_composite_vars(self.get_option("compose"), all_vars, name, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), all_vars, name, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), all_vars, name, strict=strict)
