#!/usr/bin/env bash
# Fuzzes the template parser and executor (discovery-node template) with Jazzer, coverage-guided, for a bounded
# time: 60 s, the @FuzzTest maxDuration.
#   bench/fuzz-template.sh
# A crash (any exception but a TemplateException, or a hang) fails the run and Jazzer writes the input under
# discovery-node/src/test/resources/io/failoverkit/discovery/template/TemplateParserFuzzTestInputs/, where plain
# `mvn test` replays it from then on (fix it, keep the file).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JAVA_HOME=$("$root/bin/java-home"); export JAVA_HOME
cd "$root"
start=$(date +%s)
JAZZER_FUZZ=1 mvn -B -ntp -pl discovery-node -am test -Dtest='TemplateParserFuzzTest#anyTextIsATemplateOrATemplateError' \
  -Dsurefire.failIfNoSpecifiedTests=false | grep -E "Tests run|FAIL|crash|DONE|exec/s" | tail -5 || true
out=$(ls -t discovery-node/target/surefire-reports/*TemplateParserFuzzTest-output.txt 2>/dev/null | head -1)
if [ -n "$out" ]; then grep -E "^#[0-9]+\s+(DONE|pulse)|exec/s|== Java Exception|Crash" "$out" | tail -5 || true; fi
echo "fuzz run took $(( $(date +%s) - start )) s in all (60 s of fuzzing)"
grep -q 'failures="0"' discovery-node/target/surefire-reports/TEST-io.failoverkit.discovery.template.TemplateParserFuzzTest.xml \
  && grep -q 'errors="0"' discovery-node/target/surefire-reports/TEST-io.failoverkit.discovery.template.TemplateParserFuzzTest.xml
