#!/bin/sh
# The README quick start as a script: add a local Ollama server and a
# remote gateway whose key comes from the environment, inspect them, then
# remove one. Run it against a throw-away home:
#
#   AIX_HOME="$(mktemp -d)" sh examples/quickstart.sh
#
# Nothing here talks to the network; it only edits $AIX_HOME/config.json.
set -eu
: "${AIX:=aix}"

"$AIX" provider add ollama http://localhost:11434/v1 --model llama3.2 \
    --header "X-Custom: value"
"$AIX" provider add work https://llm.example.com/v1 --model big-model \
    --auth-type api-key --header 'X-API-Key: ${env:WORK_LLM_KEY}'
printf '%s\n' sk-example-not-real | "$AIX" api-key ollama

"$AIX" provider list
"$AIX" provider info ollama
"$AIX" provider info work --json
"$AIX" config list
"$AIX" provider remove work
"$AIX" provider list
