"""Print the project's third-party requirements for the given extras, one a line.

The image installs these (pinned by constraints.txt) before it copies the source, so a code
change does not reinstall every dependency: `python requirements.py worker flower`.
"""

import sys
import tomllib

with open("pyproject.toml", "rb") as file:
    project = tomllib.load(file)["project"]
extras = project["optional-dependencies"]
print("\n".join(project["dependencies"] + [d for name in sys.argv[1:] for d in extras[name]]))
