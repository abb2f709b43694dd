#!/usr/bin/env bash
# The step of the cgpin GitHub Action (.github/actions/cgpin/action.yml):
# installs docker cgpin (the release at a release tag, else built from this
# repository) when it is not installed, runs
# it once in check or update mode with the inputs given as INPUT_* variables,
# and writes the outputs (changed, json, markdown: both from that one run) to
# $GITHUB_OUTPUT and a summary to $GITHUB_STEP_SUMMARY. It runs outside
# GitHub too, given those files, $RUNNER_TEMP, docker and jq.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
: "${RUNNER_TEMP:?}" "${GITHUB_OUTPUT:?}"
summary=${GITHUB_STEP_SUMMARY:-/dev/null}
export DOCKER_CONFIG="${DOCKER_CONFIG:-$HOME/.docker}"
command -v jq >/dev/null || { echo "cgpin action: jq is not installed (GitHub's runners have it)" >&2; exit 2; }

# installed says whether docker itself lists cgpin as a working plugin of
# this project. (docker exits 0 for "docker cgpin --help" even when cgpin
# is no command at all: it prints its own help.) docker info answers this
# from its plugin directories alone, without a daemon.
installed() {
	[ "$(docker info --format '{{range .ClientInfo.Plugins}}{{if and (eq .Name "cgpin") (not .Err)}}{{.Vendor}}{{end}}{{end}}' 2>/dev/null)" = docker-cghistory ]
}
# At a release tag (the action's own ref, CGPIN_ACTION_REF) it installs that
# release's archive, verified against its checksums.txt by scripts/get.sh
# (CGHISTORY_DOWNLOAD_URL overrides where from); on any other ref it builds
# this checkout with make (the action set up Go for it).
if ! installed; then
	case "${CGPIN_ACTION_REF:-}" in
	v[0-9]*)
		echo "Installing docker cgpin $CGPIN_ACTION_REF (release) into $DOCKER_CONFIG/cli-plugins"
		BINDIR="$RUNNER_TEMP/cghistory-bin" sh "$repo/scripts/get.sh" --version "$CGPIN_ACTION_REF" || {
			echo "cgpin action: installing release $CGPIN_ACTION_REF failed" >&2
			exit 2
		}
		;;
	*)
		echo "Installing docker cgpin from $repo into $DOCKER_CONFIG/cli-plugins"
		make -s -C "$repo" install DOCKER_CONFIG="$DOCKER_CONFIG" BINDIR="$RUNNER_TEMP/cghistory-bin"
		;;
	esac
	installed || { echo "cgpin action: installed, but docker does not list cgpin as a plugin (DOCKER_CONFIG=$DOCKER_CONFIG)" >&2; exit 2; }
fi

# As actions/checkout does for git (safe.directory): a container job runs
# as root on a workspace the runner's user owns, whose .cgpin.yaml cgpin
# would refuse as another user's. Only the owner is excused: a policy file
# that other users can write is still refused.
if [ "${INPUT_SET_SAFE_DIRECTORY:-true}" = true ] && [ -n "${GITHUB_WORKSPACE:-}" ]; then
	export CGHISTORY_SAFE_DIRECTORY="${CGHISTORY_SAFE_DIRECTORY:+$CGHISTORY_SAFE_DIRECTORY:}$GITHUB_WORKSPACE"
fi

args=()
[ -n "${INPUT_COOLDOWN:-}" ] && args+=(--cooldown "$INPUT_COOLDOWN")
[ -n "${INPUT_ONLY_IF_CHANGED:-}" ] && args+=("--only-if-changed=$INPUT_ONLY_IF_CHANGED")
[ -n "${INPUT_KINDS:-}" ] && args+=(--kind "$INPUT_KINDS")
[ -n "${INPUT_PLATFORM:-}" ] && args+=(--platform "$INPUT_PLATFORM")
set -f # inputs are words, never file-name globs
for f in ${INPUT_FIXES:-}; do args+=(--fixes "$f"); done
for g in ${INPUT_IGNORE_IMAGES:-}; do args+=(--ignore-image "$g"); done
for m in ${INPUT_REGISTRY_MAP:-}; do args+=(--registry-map "$m"); done
# One path per line, so paths may hold spaces; "--" ends the flags before
# them.
mapfile -t paths < <(printf '%s\n' "${INPUT_PATHS:-.}" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d')
[ "${#paths[@]}" -gt 0 ] || paths=(.)
set +f

# One cgpin run gives both outputs: the markdown is rendered from the JSON
# of the changes it made (update) or would make (check), so the body of a
# pull request always describes the digests written, even when a tag moves
# meanwhile.
json=$RUNNER_TEMP/cgpin.json
markdown=$RUNNER_TEMP/cgpin.md
status=0
case "${INPUT_MODE:-check}" in
check) docker cgpin --check --format json "${args[@]}" -- "${paths[@]}" >"$json" || status=$? ;;
update) docker cgpin --update --explain --format json "${args[@]}" -- "${paths[@]}" >"$json" || status=$? ;;
*)
	echo "mode must be check or update, not \"$INPUT_MODE\"" >&2
	exit 2
	;;
esac

# Every value is untrusted text (file names, references, package names):
# each goes into a code span, with control characters shown escaped (\u001b),
# the fence longer than any run of backticks in it, and pipes escaped for
# the table, so none can add markup, links, HTML or rows. The objects with
# "Skipped" are what cgpin left alone (templated values, variables, images
# Compose builds, files it does not edit): listed after the changes, with
# the reason; they change nothing.
: >"$markdown"
if [ -s "$json" ]; then
	jq -rs '
	def visible: [explode[] | if . < 32 or (. >= 127 and . < 160) then
		"\\u" + ([(. / 4096 | floor) % 16, (. / 256 | floor) % 16, (. / 16 | floor) % 16, . % 16] | map("0123456789abcdef"[.:. + 1]) | add)
		else [.] | implode end] | add // "";
	def code: tostring | visible | gsub("\\|"; "\\|") as $v
		| ([$v | scan("`+") | length] | max // 0) as $n
		| ("`" * ($n + 1)) as $f
		| (if $n > 0 then " " else "" end) as $pad
		| $f + $pad + $v + $pad + $f;
	def short: sub("^(?<a>sha256:[0-9a-f]{12})[0-9a-f]*$"; "\(.a)");
	map(select(.Skipped | not)) as $changes | map(select(.Skipped)) as $skipped
	| if $changes != [] then
		"### Base image updates (docker cgpin)\n\n| where | image | digest | what changed |\n|---|---|---|---|",
		($changes[] | (.Old | capture("@(?<d>sha256:[0-9a-f]+)$").d // null) as $old
			| "| \("\(.File):\(.Line)" | code) | \(.Old | sub("@sha256:[0-9a-f]+$"; "") | code) | \(if $old then $old | short | code else "(unpinned)" end) → \(.Digest | short | code) | \(if (.Changes // "") != "" then .Changes | code else "" end) |"),
		(if $skipped != [] then "" else empty end)
	else empty end,
	if $skipped != [] then
		"#### Left alone (docker cgpin)\n\n| where | reference | why |\n|---|---|---|",
		($skipped[] | "| \(if .Line then "\(.File):\(.Line)" else .File end | code) | \(if .Old then .Old | code else "" end) | \(.Reason | code) |")
	else empty end
	' "$json" >"$markdown"
fi

# Changed: cgpin pinned (check: would pin) or moved a reference; what it
# left alone changes nothing.
changed=false
if [ -s "$json" ] && jq -se 'any(.[]; .Skipped | not)' "$json" >/dev/null; then
	changed=true
fi
delim="cgpin-$RANDOM$RANDOM$RANDOM"
{
	echo "changed=$changed"
	echo "json<<$delim"
	cat "$json"
	echo "$delim"
	echo "markdown<<$delim"
	cat "$markdown"
	echo "$delim"
} >>"$GITHUB_OUTPUT"

if [ "$changed" = true ]; then
	cat "$markdown" >>"$summary"
elif [ "$status" -eq 0 ]; then
	echo "### docker cgpin: every image reference is pinned and current" >>"$summary"
	if [ -s "$markdown" ]; then
		echo
		cat "$markdown"
	fi >>"$summary"
else
	echo "### docker cgpin failed (exit $status): see the step's log" >>"$summary"
fi
exit "$status"
