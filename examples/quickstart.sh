#!/bin/sh
# The README quick start as a script: add a local Ollama server and a
# remote gateway whose key comes from the environment, inspect them, save
# a prompt template and dry-run it, then remove a provider. Run it against a throw-away home:
#
#   AIX_HOME="$(mktemp -d)" sh examples/quickstart.sh
#
# Nothing here talks to the network; it only edits $AIX_HOME/config.json.
set -eu
# Which aix: $AIX, else `aix` on PATH, else where `cargo install` puts it
# (so the README's set-up command works before ~/.cargo/bin is on PATH).
if [ -z "${AIX:-}" ]; then
    if command -v aix >/dev/null 2>&1; then
        AIX=aix
    else
        AIX="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin/aix"
        if [ ! -x "$AIX" ]; then
            echo "quickstart: aix is not on PATH and not at $AIX; install it with" >&2
            echo "  cargo install --locked --path .   (or set AIX=/path/to/aix)" >&2
            exit 1
        fi
        echo "quickstart: using $AIX (add its folder to PATH for everyday use)" >&2
    fi
fi

"$AIX" provider add ollama http://localhost:11434/v1 --model llama3.2 \
    --header "X-Custom: value"
"$AIX" provider add work https://llm.example.com/v1 --model big-model \
    --auth-type api-key --header 'X-API-Key: ${env:WORK_LLM_KEY}'
printf '%s\n' sk-example-not-real | "$AIX" api-key ollama

"$AIX" provider list
"$AIX" provider info ollama
"$AIX" provider info work --json
"$AIX" config list

# A prompt template, rendered in a dry run: shows exactly what would be
# sent (URL, model, headers with secrets masked, messages) and sends
# nothing. Add --execute (-e) with a server running to get an answer.
"$AIX" create summarize 'Summarize this in {words} words:

{input}' --description "Short summaries" --system "You are concise."
"$AIX" list
echo "Rust is a language empowering everyone to build reliable software." |
    "$AIX" run summarize --param words=10 --provider ollama

"$AIX" provider remove work

# Providers as code: plan the bundled manifests (a base file shared by every
# machine plus this machine's own), apply them, and plan again.
here=$(dirname "$0")
"$AIX" plan -f "$here/overlay/base.toml" -f "$here/overlay/laptop.toml" || true
"$AIX" apply -f "$here/overlay/base.toml" -f "$here/overlay/laptop.toml" --force
"$AIX" plan -f "$here/overlay/base.toml" -f "$here/overlay/laptop.toml" --detailed-exitcode
"$AIX" provider list

# One manifest for every tool: the same providers written into llm's,
# Codex's and a LiteLLM proxy's config files. HOME (and aix's home) point
# into the throw-away home here, so your own tools' files are not touched.
tools_home="${AIX_HOME:-$HOME/.prompts}/example-home"
mkdir -p "$tools_home"
export WORK_LLM_KEY=sk-example-not-real
HOME="$tools_home" AIX_HOME="$tools_home/aix" "$AIX" plan -f "$here/targets.toml"
HOME="$tools_home" AIX_HOME="$tools_home/aix" "$AIX" apply -f "$here/targets.toml"
cat "$tools_home/.config/io.datasette.llm/extra-openai-models.yaml"
HOME="$tools_home" AIX_HOME="$tools_home/aix" "$AIX" plan -f "$here/targets.toml" --detailed-exitcode
