#!/usr/bin/env bash
# The step of the cgpin GitHub Action (.github/actions/cgpin/action.yml):
# installs docker cgpin from this repository when it is not installed, runs
# it in check or update mode with the inputs given as INPUT_* variables, and
# writes the outputs (changed, json, markdown) to $GITHUB_OUTPUT and a
# summary to $GITHUB_STEP_SUMMARY. It runs outside GitHub too, given those
# files and $RUNNER_TEMP.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
: "${RUNNER_TEMP:?}" "${GITHUB_OUTPUT:?}"
summary=${GITHUB_STEP_SUMMARY:-/dev/null}
export DOCKER_CONFIG="${DOCKER_CONFIG:-$HOME/.docker}"

if ! docker cgpin --help >/dev/null 2>&1; then
	echo "Installing docker cgpin from $repo"
	make -s -C "$repo" install DOCKER_CONFIG="$DOCKER_CONFIG" BINDIR="$RUNNER_TEMP/cghistory-bin"
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
# Paths are separated by spaces or lines; "--" ends the flags before them.
read -r -d '' -a paths <<<"${INPUT_PATHS:-.}" || true
set +f

json=$RUNNER_TEMP/cgpin.json
markdown=$RUNNER_TEMP/cgpin.md
status=0
case "${INPUT_MODE:-check}" in
check)
	docker cgpin --check --format markdown "${args[@]}" -- "${paths[@]}" >"$markdown" || true
	docker cgpin --check --format json "${args[@]}" -- "${paths[@]}" >"$json" || status=$?
	;;
update)
	docker cgpin --update --dry-run --explain --format markdown "${args[@]}" -- "${paths[@]}" >"$markdown"
	docker cgpin --update --format json "${args[@]}" -- "${paths[@]}" >"$json"
	;;
*)
	echo "mode must be check or update, not \"$INPUT_MODE\"" >&2
	exit 2
	;;
esac

changed=false
[ -s "$json" ] && changed=true
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
else
	echo "### docker cgpin failed (exit $status): see the step's log" >>"$summary"
fi
exit "$status"
