#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's
# image: it installs a C compiler for the students' code and builds
# sockrun from the copy of its source in the zip (sockrun/), installing Go
# first if the image has no Go recent enough.
#
# The paths are Gradescope's; the environment may move them, which is how
# sockrun's own tests run this script in a temporary folder:
#   AUTOGRADER   the autograder's folder (default /autograder)
#   SOCKRUN_SRC  sockrun's source (default $AUTOGRADER/source/sockrun)
#   SOCKRUN_BIN  where sockrun is installed (default /usr/local/bin)
set -euo pipefail

AUTOGRADER=${AUTOGRADER:-/autograder}
SOCKRUN_SRC=${SOCKRUN_SRC:-$AUTOGRADER/source/sockrun}
SOCKRUN_BIN=${SOCKRUN_BIN:-/usr/local/bin}
GO_VERSION=${GO_VERSION:-1.26.0}

if ! command -v cc >/dev/null || ! command -v make >/dev/null; then
	apt-get install -y --no-install-recommends build-essential
fi

# The Go that go.mod asks for, or newer: Ubuntu's golang package is older.
want=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$SOCKRUN_SRC/go.mod")
have=$(go env GOVERSION 2>/dev/null | sed 's/^go//' || true)
if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" != "$want" ]; then
	apt-get install -y --no-install-recommends ca-certificates curl
	curl -fsSL "https://go.dev/dl/go${GO_VERSION}.linux-amd64.tar.gz" | tar -C /usr/local -xz
	export PATH=/usr/local/go/bin:$PATH
fi

mkdir -p "$SOCKRUN_BIN"
(cd "$SOCKRUN_SRC" && CGO_ENABLED=0 go build -o "$SOCKRUN_BIN/sockrun" ./cmd/sockrun)
"$SOCKRUN_BIN/sockrun" version
