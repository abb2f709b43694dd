#!/usr/bin/env bash
# Installs docker-cghistory as a docker CLI plugin under its three names:
#   ${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-cghistory  (the binary)
#   .../docker-cgdiff, .../docker-cgpin                            (symlinks)
# and, once it exists, the credential helper into ${BINDIR:-$HOME/.local/bin}.
# Usage: scripts/install.sh [--uninstall]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-bin}
[[ $bin = /* ]] || bin=$root/$bin
plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
bindir=${BINDIR:-$HOME/.local/bin}
names=(docker-cghistory docker-cgdiff docker-cgpin)

if [[ ${1:-} == --uninstall ]]; then
	for n in "${names[@]}"; do rm -f "$plugins/$n"; done
	rm -f "$bindir/docker-credential-cghistory"
	echo "removed docker-cghistory from $plugins"
	exit 0
fi

[[ -x $bin/docker-cghistory ]] || { echo "install.sh: $bin/docker-cghistory not built; run 'make install'" >&2; exit 1; }
mkdir -p "$plugins"
# Copy to a temp name and rename, so a running plugin is never half-written.
install -m 0755 "$bin/docker-cghistory" "$plugins/.docker-cghistory.tmp"
mv -f "$plugins/.docker-cghistory.tmp" "$plugins/docker-cghistory"
for n in docker-cgdiff docker-cgpin; do
	ln -sfn docker-cghistory "$plugins/$n"
done
echo "installed ${names[*]} into $plugins"

if [[ -x $bin/docker-credential-cghistory ]]; then
	mkdir -p "$bindir"
	install -m 0755 "$bin/docker-credential-cghistory" "$bindir/docker-credential-cghistory"
	echo "installed docker-credential-cghistory into $bindir"
	case ":$PATH:" in *":$bindir:"*) ;; *) echo "note: add $bindir to your PATH so docker finds the credential helper" ;; esac
fi

if command -v docker >/dev/null 2>&1; then
	docker cghistory --help >/dev/null 2>&1 && echo "docker cghistory is ready: try 'docker cghistory nginx'" ||
		echo "warning: 'docker cghistory' did not run; is DOCKER_CONFIG=${DOCKER_CONFIG:-} the config docker uses?" >&2
fi
