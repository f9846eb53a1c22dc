"""Prints the keys of a registered module result that the module's RETURN docs (as ansible-doc
reads them) do not document, one path a line, and exits 1 when there are any.
Dicts and lists of dicts are followed where the docs say what they contain.

Usage: undocumented_keys.py MODULE RESULT.json
"""

import json
import subprocess
import sys

# Keys Ansible adds to every result.
ANSIBLE_KEYS = {"changed", "failed", "invocation", "warnings", "deprecations", "skipped"}


def undocumented(value, docs, path=""):
    for key, item in value.items():
        if not path and (key in ANSIBLE_KEYS or key.startswith("_ansible")):
            continue
        if key not in docs:
            yield path + key
            continue
        contains = docs[key].get("contains")
        if not contains:
            continue
        items = item if isinstance(item, list) else [item]
        for element in items:
            if isinstance(element, dict):
                yield from undocumented(element, contains, f"{path}{key}.")


def main():
    module, result_path = sys.argv[1], sys.argv[2]
    with open(result_path, encoding="utf-8") as f:
        result = json.load(f)
    doc = json.loads(subprocess.check_output(["ansible-doc", "--json", module]))
    missing = sorted(set(undocumented(result, doc[module]["return"])))
    for path in missing:
        print(f"{module} returns {path}, which its RETURN docs do not document")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
