#!/bin/sh
# Seed the reference RAG service with two tenants' documents: sh documents.sh http://127.0.0.1:8765
url=${1:-http://127.0.0.1:8765}
post() { curl -sf "$url/ingest" -H 'content-type: application/json' -d "$1" >/dev/null; }
post '{"tenant": "acme", "doc_id": "acme-refunds", "text": "Acme accepts refunds within 30 days of purchase with the receipt."}'
post '{"tenant": "acme", "doc_id": "acme-hours", "text": "The Acme support desk is open Monday to Friday from 9am to 5pm."}'
post '{"tenant": "globex", "doc_id": "globex-refunds", "text": "Globex accepts refunds within 14 days of delivery."}'
post '{"tenant": "globex", "doc_id": "globex-hours", "text": "Globex support answers around the clock."}'
echo "seeded $url"
