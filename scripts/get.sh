#!/bin/sh
# Installs a release of docker-cghistory, verified, without Go:
#
#   curl -fsSL https://raw.githubusercontent.com/docker-cghistory/docker-cghistory/main/scripts/get.sh | sh
#   curl -fsSL …/get.sh | sh -s -- --version v1.2.0
#   curl -fsSL …/get.sh | sh -s -- --uninstall
#
# It downloads this platform's archive and checksums.txt from the release
# (CGHISTORY_DOWNLOAD_URL, default GitHub's releases: …/latest/download/NAME
# or …/download/VERSION/NAME), refuses an archive whose SHA-256 is not the
# one checksums.txt lists, and, when cosign is on PATH, a checksums.txt whose
# Sigstore bundle does not verify as signed by this project's release
# workflow. Then it installs the plugin into
# ${DOCKER_CONFIG:-~/.docker}/cli-plugins (cghistory-full, cghistory-hot,
# then the front docker-cghistory, and docker-cgdiff and docker-cgpin as
# symlinks to it, copies on windows) and the credential helper into
# ${BINDIR:-~/.local/bin}. It writes nowhere else but
# a temp directory it removes. Running it again replaces the files in place.
# (scripts/install.sh is the contributor's "make install" from a checkout.)
# POSIX sh: it runs under dash, busybox sh and Git Bash.
set -eu

project=docker-cghistory
helper=docker-credential-cghistory
# The binaries the front runs, installed before it (scripts/install.sh).
full=cghistory-full
hot=cghistory-hot
base_url=${CGHISTORY_DOWNLOAD_URL:-https://github.com/docker-cghistory/docker-cghistory/releases}
version=${CGHISTORY_VERSION:-latest}
identity='^https://github\.com/docker-cghistory/docker-cghistory/\.github/workflows/release\.yml@refs/tags/v'
issuer=https://token.actions.githubusercontent.com
uninstall=

die() {
	echo "get.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--version) [ $# -ge 2 ] || die "--version needs a value (e.g. v1.2.0)"; version=$2; shift ;;
	--version=*) version=${1#--version=} ;;
	--uninstall) uninstall=1 ;;
	-h | --help) sed -n '2,20p' "$0" 2>/dev/null || true; exit 0 ;;
	*) die "unknown argument \"$1\" (want --version VERSION or --uninstall)" ;;
	esac
	shift
done
case $version in
latest | v[0-9]*) ;;
*) die "version \"$version\" is not a release tag (want latest or vMAJOR.MINOR.PATCH)" ;;
esac
case $version in *[!A-Za-z0-9._+-]*) die "version \"$version\" holds characters no release tag has" ;; esac

plugins=${DOCKER_CONFIG:-${HOME:?HOME is not set}/.docker}/cli-plugins
bindir=${BINDIR:-${HOME:?HOME is not set}/.local/bin}

# Platform: the names of the release's archives.
os=$(uname -s)
case $os in
Linux) os=linux ;;
Darwin) os=darwin ;;
MINGW* | MSYS* | CYGWIN* | Windows_NT) os=windows ;;
*) die "no release for the operating system \"$os\" (there are linux, darwin and windows builds; build from source with make install)" ;;
esac
arch=$(uname -m)
case $arch in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
armv7* | armv8l) arch=arm-v7 ;;
*) die "no release for the architecture \"$arch\" (there are amd64, arm64 and, on linux, arm/v7 builds; build from source with make install)" ;;
esac
[ "$arch" != arm-v7 ] || [ "$os" = linux ] || die "no release for $os on 32-bit arm"
exe=
ext=tar.gz
if [ "$os" = windows ]; then exe=.exe ext=zip; fi
archive=${project}_${os}_${arch}.$ext

# ours FILE: FILE is this project's plugin (its metadata names our vendor):
# the front and cghistory-full answer docker's metadata probe themselves,
# cghistory-hot through the cghistory-full next to it.
ours() {
	[ -f "$1" ] && "$1" docker-cli-plugin-metadata 2>/dev/null | grep -q '"Vendor": *"docker-cghistory"'
}

if [ -n "$uninstall" ]; then
	# Remove only what an install made: the plugin's binaries when they are
	# ours, its two names when they lead to the front, the helper when it
	# names this project. The front goes first (docker stops listing the
	# plugin), cghistory-full last (cghistory-hot's check runs through it).
	removed=
	for n in cgdiff cgpin; do
		f=$plugins/docker-$n$exe
		if [ -L "$f" ] && [ "$(readlink "$f")" = "$project$exe" ]; then
			rm -f "$f" && removed="$removed $f"
		elif [ ! -L "$f" ] && ours "$f"; then
			rm -f "$f" && removed="$removed $f"
		fi
	done
	for n in "$project" "$hot" "$full"; do
		f=$plugins/$n$exe
		if [ ! -L "$f" ] && ours "$f"; then rm -f "$f" && removed="$removed $f"; fi
	done
	f=$bindir/$helper$exe
	if [ -f "$f" ] && "$f" version 2>/dev/null | grep -q "^$helper "; then rm -f "$f" && removed="$removed $f"; fi
	if [ -n "$removed" ]; then echo "removed$removed"; else echo "nothing of $project to remove in $plugins or $bindir"; fi
	exit 0
fi

# Tools: a downloader, a SHA-256 and an unpacker.
if command -v curl >/dev/null 2>&1; then
	fetch() { curl -fsSL --proto '=https,http,file' --retry 2 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
	fetch() { wget -q -O "$2" "$1"; }
else
	die "needs curl or wget"
fi
if command -v sha256sum >/dev/null 2>&1; then
	sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
	sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
	die "needs sha256sum or shasum to verify the download"
fi
if [ "$ext" = zip ]; then command -v unzip >/dev/null 2>&1 || die "needs unzip"; fi

if [ "$version" = latest ]; then
	url=$base_url/latest/download
else
	url=$base_url/download/$version
fi

# Everything downloaded goes to a temp directory, removed on every exit.
tmp=$(mktemp -d 2>/dev/null || mktemp -d -t cghistory)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "Downloading $project $version for $os/$arch from $url"
if ! fetch "$url/checksums.txt" "$tmp/checksums.txt"; then
	die "could not download $url/checksums.txt: no release $version there, or no network (set CGHISTORY_DOWNLOAD_URL for a mirror); nothing installed"
fi
if ! fetch "$url/$archive" "$tmp/$archive"; then
	die "could not download $url/$archive: release $version has no $os/$arch archive, or the network failed; nothing installed"
fi

if command -v cosign >/dev/null 2>&1; then
	fetch "$url/checksums.txt.sigstore.json" "$tmp/checksums.txt.sigstore.json" ||
		die "cosign is installed but release $version has no checksums.txt.sigstore.json to verify; nothing installed"
	cosign verify-blob --bundle "$tmp/checksums.txt.sigstore.json" \
		--certificate-identity-regexp "$identity" --certificate-oidc-issuer "$issuer" \
		"$tmp/checksums.txt" >/dev/null 2>&1 ||
		die "the Sigstore signature of checksums.txt does not verify as this project's release workflow's; nothing installed"
	echo "checksums.txt: Sigstore signature verified (cosign)"
fi

want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/checksums.txt")
[ -n "$want" ] || die "checksums.txt lists no $archive: refusing to install an unverified archive; nothing installed"
got=$(sha256 "$tmp/$archive")
[ "$got" = "$want" ] || die "$archive: SHA-256 $got is not the $want of checksums.txt (corrupted or tampered with); nothing installed"
echo "$archive: SHA-256 verified"

mkdir "$tmp/x"
if [ "$ext" = zip ]; then
	unzip -q -o "$tmp/$archive" "$full$exe" "$hot$exe" "$project$exe" "$helper$exe" -d "$tmp/x" || die "$archive: cannot unpack; nothing installed"
else
	tar -xzf "$tmp/$archive" -C "$tmp/x" "$full$exe" "$hot$exe" "$project$exe" "$helper$exe" || die "$archive: cannot unpack; nothing installed"
fi
for f in "$full$exe" "$hot$exe" "$project$exe" "$helper$exe"; do
	[ -f "$tmp/x/$f" ] && [ ! -L "$tmp/x/$f" ] || die "$archive holds no file $f; nothing installed"
	chmod 0755 "$tmp/x/$f"
done
for f in "$full$exe" "$hot$exe" "$project$exe"; do
	ours "$tmp/x/$f" || die "$f from $archive does not run here as a docker plugin; nothing installed"
done

# Replace only what an install made: a file of another project under one of
# these names stays, and nothing is installed.
for f in "$plugins/$full$exe" "$plugins/$hot$exe" "$plugins/$project$exe" "$plugins/docker-cgdiff$exe" "$plugins/docker-cgpin$exe" "$bindir/$helper$exe"; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	case $f in */docker-cgdiff$exe | */docker-cgpin$exe)
		if [ -L "$f" ] && [ "$(readlink "$f")" = "$project$exe" ]; then continue; fi ;;
	esac
	if [ ! -L "$f" ] && ours "$f"; then continue; fi
	if [ "$f" = "$bindir/$helper$exe" ] && [ ! -L "$f" ] && "$f" version 2>/dev/null | grep -q "^$helper "; then continue; fi
	die "$f exists and is not $project's: move it away first; nothing installed"
done

# Install: copy to a temp name beside the target, then rename, so a running
# plugin is never half-written; the front last, once what it runs is in
# place.
place() { # place SRC DIR NAME
	cp "$1" "$2/.$3.tmp" && chmod 0755 "$2/.$3.tmp" && mv -f "$2/.$3.tmp" "$2/$3"
}
mkdir -p "$plugins" "$bindir"
for n in "$full" "$hot" "$project"; do
	place "$tmp/x/$n$exe" "$plugins" "$n$exe"
done
for n in cgdiff cgpin; do
	if [ "$os" = windows ]; then
		place "$tmp/x/$project$exe" "$plugins" "docker-$n$exe"
	else
		ln -sfn "$project" "$plugins/docker-$n"
	fi
done
place "$tmp/x/$helper$exe" "$bindir" "$helper$exe"
echo "installed $full, $hot, $project, docker-cgdiff and docker-cgpin into $plugins"
echo "installed $helper into $bindir"
case ":$PATH:" in *":$bindir:"*) ;; *) echo "note: add $bindir to your PATH so docker finds the credential helper" ;; esac

# Ready when the plugin answers docker's metadata probe (above) and, when
# docker is here, docker itself lists all three as working plugins ("docker
# cghistory --help" exits 0 even for no plugin at all).
if command -v docker >/dev/null 2>&1; then
	listed=$(docker info --format '{{range .ClientInfo.Plugins}}{{if and (not .Err) (eq .Vendor "docker-cghistory")}}{{.Name}} {{end}}{{end}}' 2>/dev/null || true)
	for n in cghistory cgdiff cgpin; do
		case " $listed " in
		*" $n "*) ;;
		*) echo "warning: docker does not list docker $n as a working plugin ('docker info' shows why); is DOCKER_CONFIG=${DOCKER_CONFIG:-} the config docker uses?" >&2; exit 1 ;;
		esac
	done
	echo "docker cghistory $("$plugins/$project$exe" docker-cli-plugin-metadata | sed -n 's/.*"Version": *"\([^"]*\)".*/\1/p') is ready: try 'docker cghistory nginx'"
else
	echo "$project is installed; docker is not on PATH to run it"
fi
