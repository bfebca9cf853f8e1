#!/usr/bin/env bash
# Makes a virtualenv with the third-party clients the tests check hookwatch with (the OpenAPI
# validators, a GraphQL client, schemathesis) and exports HOOKWATCH_TEST_PYTHON. Source it:
#   source .ci/python.sh && cargo test
set -euo pipefail

HOOKWATCH_PY_DIR="${HOOKWATCH_PY_DIR:-/tmp/hookwatch-py}"
if [ ! -x "$HOOKWATCH_PY_DIR/bin/python" ]; then
  python3 -m venv "$HOOKWATCH_PY_DIR"
fi
"$HOOKWATCH_PY_DIR/bin/pip" install -q --disable-pip-version-check \
  'openapi-spec-validator==0.9.0' 'openapi-schema-validator==0.9.0' 'gql[requests]==4.4.0' \
  'schemathesis==4.32.5'
export HOOKWATCH_TEST_PYTHON="$HOOKWATCH_PY_DIR/bin/python"
