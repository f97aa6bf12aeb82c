#!/usr/bin/env bash
# Rebuild the pages' static assets from npm: GOV.UK Frontend (the design system) and our
# stylesheet on top of it, without the GOV.UK brand. The result is committed under
# qa_service/pages/static/, so the service needs no network and no Node.js to run.
# To update GOV.UK Frontend: change VERSION, run this, look at the pages, commit.
set -euo pipefail
VERSION=6.6.0
here="$(cd "$(dirname "$0")" && pwd)"
static="$here/../static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund "govuk-frontend@$VERSION" sass@1
npx sass --no-source-map --style=compressed --load-path=node_modules "$here/qa.scss" "$static/qa.css"
mkdir -p "$static/govuk"
cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js "$static/govuk/"
cp node_modules/govuk-frontend/package.json "$static/govuk/"  # its version and licence (MIT)
echo "GOV.UK Frontend $VERSION and qa.css written to $static"
