#!/usr/bin/env bash
# Copies the pinned front-end libraries from npm into static/vendor/.
# The result is committed, so running the CRM never needs npm or a CDN;
# run this script again after changing a version in package.json.
set -euo pipefail
cd "$(dirname "$0")/.."
npm install --no-audit --no-fund --ignore-scripts >/dev/null
dest=static/vendor
rm -rf "$dest" && mkdir -p "$dest/bootstrap" "$dest/bootstrap-icons/fonts" "$dest/htmx" "$dest/chartjs" "$dest/sortablejs" "$dest/axe-core"
cp node_modules/bootstrap/dist/css/bootstrap.min.css "$dest/bootstrap/"
cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js "$dest/bootstrap/"
cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css "$dest/bootstrap-icons/"
cp node_modules/bootstrap-icons/font/fonts/bootstrap-icons.woff2 node_modules/bootstrap-icons/font/fonts/bootstrap-icons.woff "$dest/bootstrap-icons/fonts/"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx/"
cp node_modules/chart.js/dist/chart.umd.min.js "$dest/chartjs/" 2>/dev/null || cp node_modules/chart.js/dist/chart.umd.js "$dest/chartjs/chart.umd.min.js"
cp node_modules/sortablejs/Sortable.min.js "$dest/sortablejs/"
cp node_modules/axe-core/axe.min.js "$dest/axe-core/"
# Source maps are not shipped; their references would break collectstatic's manifest.
find "$dest" \( -name '*.js' -o -name '*.css' \) -exec sed -i -E 's@/[/*]# sourceMappingURL=[^ *]*( \*/)?$@@' {} +
echo "vendored into $dest"
