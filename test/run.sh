#!/bin/sh
# npm test: every test file under c8. When a test fails, its report is printed again after the
# coverage table, at the very end, where the tail of a CI log shows it.
set -u
log=$(mktemp /tmp/berth-test-log-XXXXXX)
trap 'rm -f "$log" "$log.status"' EXIT
{ npx c8 uvu build/test '\.test\.js$' 2>&1; echo $? >"$log.status"; } | tee "$log"
status=$(cat "$log.status")
if [ "$status" != 0 ]; then
  echo
  echo "npm test: FAILED (exit $status). The failures, again:"
  # uvu's report of a failed test: its file's name earlier, a FAIL line, the message and the stack.
  sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '/\.test\.js$/{file=$0} /^ *FAIL /{n=14; print "--- " file} n>0{print; n--}' | head -300
  # A run that ended without uvu's totals crashed: what it printed last before the coverage report.
  grep -aqE '^ *Total:' "$log" || sed 's/\x1b\[[0-9;]*m//g' "$log" | sed '/Coverage summary/,$d' | tail -40
  grep -aE '^ *(Total|Passed|Skipped):' "$log" | sed 's/\x1b\[[0-9;]*m//g'
fi
exit "$status"
