#!/bin/sh
# PrairieLearn's external grader runs this (the question's entrypoint) in
# a container with the student's files in /grade/student. It builds and
# grades them with the question's spec, and writes
# /grade/results/results.json, which <pl-external-grader-results> shows.
#
# The grading container has no network: sockrun is a static binary in
# serverFilesCourse/sockrun/ beside this script (see the README). The
# question's tests/ folder holds the spec (spec.yaml) and, optionally,
# grading.conf, a shell file that sets:
#   RUN     the program under test, as sockrun's --run NAME=COMMAND
#   BUILD   how to build the student's files, run in their folder
# The paths are PrairieLearn's; GRADE moves them (default /grade).
GRADE=${GRADE:-/grade}
SOCKRUN=${SOCKRUN:-$GRADE/serverFilesCourse/sockrun/sockrun}
SPEC=$GRADE/tests/spec.yaml
RUN='echo=./echo_server {{port}}'
BUILD='make echo_server'
if [ -f "$GRADE/tests/grading.conf" ]; then
	. "$GRADE/tests/grading.conf"
fi
results=$GRADE/results/results.json

# PrairieLearn does not make the results folder.
mkdir -p "$GRADE/results"
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT

"$SOCKRUN" grade "$SPEC" "$GRADE/student" --run "$RUN" --build "$BUILD" \
	--format prairielearn --reports "$reports" -o "$reports/grades.csv"
status=$?
if [ -f "$reports/student.json" ]; then
	cp "$reports/student.json" "$results"
else
	# sockrun could not grade at all (a spec error, say): not gradable,
	# so that the student loses no attempt.
	cat >"$results" <<'JSON'
{"gradable": false, "format_errors": ["The grader could not run: tell your instructor."], "tests": []}
JSON
	echo "sockrun grade exited $status" >&2
fi
cat "$reports/grades.csv"
