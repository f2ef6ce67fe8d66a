#!/usr/bin/env bash
# The loader's instructions per quiz, counted by valgrind (callgrind): unlike CPU time on a
# shared two-core machine, the count is the same from run to run, so a change of a few percent
# shows. Seeds N + 1 quizzes of P x Q on the running local stack (scripts/stack.sh start), loads
# one with `load` (the start-up's cost) and then the other N in one `load`, and prints the
# difference per quiz, with the share of the functions that take the most.
#   scripts/bench-instructions.sh [-n N] [-p P] [-q Q] [--binary PATH]   (default 200 of 20 x 10)
# valgrind's CPU has no SHA extensions, so OpenSSL hashes the request body the slow way there:
# the SHA-256 share is printed apart and left out of the figure.
set -euo pipefail
cd "$(dirname "$0")/.."
n=200 p=20 q=10 binary="$PWD/build/quiz-result-loader"
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    -p) p=$2; shift 2 ;;
    -q) q=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "valgrind is needed (Debian package valgrind)" >&2; exit 1; }
eval "$(scripts/stack.sh env)"
# dynalite itself, also where the tests' SigV4 checker stands before it (it knows only their keys).
export DYNAMODB_ENDPOINT_URL="$QRL_DYNALITE_URL"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export QUESTION_SET_PATH="$work/question-sets" DYNAMODB_TABLE="quiz-instructions-$$" LOADER_LOG_LEVEL=warn
mkdir -p "$QUESTION_SET_PATH"
ids=$(build/quiz-result-loader seed -n $((n + 1)) -p "$p" -q "$q" --no-publish --print-ids 2>/dev/null)
count() { # out-file quiz-ids... : runs load under callgrind, prints the instructions counted
  local out=$1
  shift
  valgrind --tool=callgrind --callgrind-out-file="$out" "$binary" load "$@" >"$out.log" 2>&1
  [ "$(grep -c 'loaded$' "$out.log")" = $# ] || { echo "load failed:" >&2; tail -5 "$out.log" >&2; exit 1; }
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}
sha() { # out-file: instructions in libcrypto's SHA-256 (exclusive)
  callgrind_annotate "$1" 2>/dev/null | awk '/libcrypto/ {gsub(",", "", $1); s += $1} END {print s + 0}'
}
one=$(count "$work/one" $(echo "$ids" | head -1))
all=$(count "$work/all" $(echo "$ids" | tail -n "$n"))
sha_one=$(sha "$work/one")
sha_all=$(sha "$work/all")
per_quiz=$(((all - one - (sha_all - sha_one)) / n))
echo "quizzes:               $n of $p participants x $q questions, loaded by one \`load\`"
echo "instructions per quiz: $per_quiz (start-up and OpenSSL's SHA-256 left out)"
echo "SHA-256 per quiz:      $(((sha_all - sha_one) / n)) under valgrind (a few percent of the CPU on a CPU with SHA extensions)"
echo "the functions with the most instructions of their own, in all $n loads:"
callgrind_annotate "$work/all" 2>/dev/null | awk 'f && NF && n < 12 {print "  " $0; n++} /^Ir +file:function/ {getline; f = 1}' |
  sed -E 's/std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >/std::string/g' | cut -c1-150
