"""Fill in a file of deploy/: every ``@NAME@`` is replaced by its value; a name left without a
value is an error (nothing half-filled is written). The deployment test uses the same step.

    python3 deploy/render.py deploy/nginx/lms-site.conf LISTEN=443 ... > /etc/nginx/sites-available/lms
"""

from __future__ import annotations

import re
import sys

PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


def render(text: str, values: dict[str, str]) -> str:
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    values = dict(pair.split("=", 1) for pair in argv[2:])
    with open(argv[1], encoding="utf-8") as handle:
        try:
            sys.stdout.write(render(handle.read(), values))
        except KeyError as error:
            print(f"render: {error.args[0]}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
