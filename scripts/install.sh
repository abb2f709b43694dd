#!/usr/bin/env bash
# Installs docker-cghistory as a docker CLI plugin under its three names:
#   ${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-cghistory  (the front)
#   .../docker-cgdiff, .../docker-cgpin                            (symlinks)
#   .../cghistory-full, .../cghistory-hot  (the binaries the front runs)
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
	for n in "${names[@]}" cghistory-full cghistory-hot; do rm -f "$plugins/$n"; done
	rm -f "$bindir/docker-credential-cghistory"
	echo "removed docker-cghistory from $plugins"
	exit 0
fi

for n in cghistory-full cghistory-hot docker-cghistory; do
	[[ -x $bin/$n ]] || { echo "install.sh: $bin/$n not built; run 'make install'" >&2; exit 1; }
done
mkdir -p "$plugins"
# Copy to a temp name and rename, so a running plugin is never half-written;
# the front last, once what it runs is in place.
for n in cghistory-full cghistory-hot docker-cghistory; do
	install -m 0755 "$bin/$n" "$plugins/.$n.tmp"
	mv -f "$plugins/.$n.tmp" "$plugins/$n"
done
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

# Ready when docker itself lists all three as working plugins of this
# project: "docker cghistory --help" exits 0 even when cghistory is no
# command at all (docker prints its own help). docker info answers this from
# its plugin directories alone, without a daemon.
if command -v docker >/dev/null 2>&1; then
	listed=$(docker info --format '{{range .ClientInfo.Plugins}}{{if and (not .Err) (eq .Vendor "docker-cghistory")}}{{.Name}} {{end}}{{end}}' 2>/dev/null || true)
	missing=()
	for n in cghistory cgdiff cgpin; do
		[[ " $listed " == *" $n "* ]] || missing+=("docker $n")
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		echo "docker cghistory is ready: try 'docker cghistory nginx'"
	else
		echo "warning: docker does not list ${missing[*]} as working plugins ('docker info' shows why); is DOCKER_CONFIG=${DOCKER_CONFIG:-} the config docker uses?" >&2
	fi
fi
