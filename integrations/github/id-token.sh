#!/usr/bin/env bash
# Print the bearer token for changegate: the API token given (CHANGEGATE_API_TOKEN), else a
# fresh OIDC ID token of this job for the audience CHANGEGATE_AUDIENCE, requested from GitHub
# (the job needs `permissions: id-token: write`). The calling step masks it.
set -euo pipefail
if [ -n "${CHANGEGATE_API_TOKEN:-}" ]; then
  printf '%s' "$CHANGEGATE_API_TOKEN"
  exit 0
fi
if [ -z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] || [ -z "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]; then
  echo "::error::no OIDC ID token: give the job 'permissions: id-token: write' (or pass changegate-token)" >&2
  exit 2
fi
answer=$(curl -sS --fail-with-body --max-time 30 \
  -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
  --get --data-urlencode "audience=${CHANGEGATE_AUDIENCE:-changegate}" \
  "$ACTIONS_ID_TOKEN_REQUEST_URL")
token=$(printf '%s' "$answer" | python -c 'import json, sys; print(json.load(sys.stdin)["value"])')
printf '%s' "$token"
