"""Validates every example and `mlk init` template against the committed JSON Schemas.

    python .ci/validate-schemas.py        # with a python that has jsonschema (the validator venv)

The schemas come from the loader (`mlk schema`), so this checks that the schema accepts every
file mlk accepts; it complements the drift test in tests/mlk/schema.rs.
"""

import json
import pathlib
import sys
import tomllib

import jsonschema

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = {
    "pipeline": ["examples/pipelines/*.toml", "src/cli/init/*/pipeline.toml"],
    "stack": ["examples/stacks/*.toml", "src/cli/init/*/stacks/*.toml"],
}

failures = 0
checked = 0
for kind, patterns in FILES.items():
    schema = json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    for pattern in patterns:
        for path in sorted(ROOT.glob(pattern)):
            checked += 1
            doc = tomllib.loads(path.read_text())
            for error in validator.iter_errors(doc):
                failures += 1
                where = ".".join(str(p) for p in error.path) or "(top level)"
                print(f"{path.relative_to(ROOT)}: {where}: {error.message}")
if checked == 0:
    sys.exit("validate-schemas: no files found")
print(f"{checked} files valid against schemas/" if not failures else f"{failures} problems")
sys.exit(1 if failures else 0)
