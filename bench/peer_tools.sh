# Sourced by hand or by .ci/run: installs the real LLM tools whose config
# files aix writes, each pinned, from its package registry, into
# ${XDG_CACHE_HOME:-$HOME/.cache}/aix-test/<tool>-<version> (outside the repo,
# cached, idempotent: a half-made install is removed and redone), and starts
# bench/mock_openai.py, a stdlib mock OpenAI/Responses/Anthropic server that
# logs every request.
#
#   . bench/peer_tools.sh && install_llm && start_mock &&
#       "$AIX_TOOL_LLM" --version; stop_mock
#
# Each install_X returns non-zero on failure and sets AIX_TOOL_X to the
# tool's executable on success. Cold install times measured on the 2-core
# dev machine (Dec 2026): llm 31 s, aichat 328 s (cargo build), codex 18 s,
# opencode 19 s, continue 11 s.
#
# @charmland/crush has no install_crush: its npm postinstall (node install.js)
# downloads the binary from GitHub releases, which is not reachable here
# ("getaddrinfo ENOTFOUND github.com"), so `npm install` fails.

AIX_LLM_VERSION=0.36
AIX_AICHAT_VERSION=0.30.0
AIX_CODEX_VERSION=0.171.0
AIX_OPENCODE_VERSION=1.18.33
AIX_CONTINUE_VERSION=1.5.47

_aix_tools_root() {
    printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/aix-test"
}

# A finished install carries this marker; a directory without it is a
# half-made install from an interrupted run and is removed first.
_AIX_DONE=.aix-installed

_aix_begin() { # dir -> 0 if already installed, 1 if it must be installed
    if [ -f "$1/$_AIX_DONE" ]; then return 0; fi
    rm -rf "$1"
    mkdir -p "$(dirname "$1")"
    return 1
}

install_llm() {
    local dir
    dir="$(_aix_tools_root)/llm-$AIX_LLM_VERSION"
    if ! _aix_begin "$dir"; then
        # A venv has absolute paths in its scripts: built in place, not moved.
        if ! { python3 -m venv "$dir" &&
            "$dir/bin/pip" install --quiet --disable-pip-version-check \
                "llm==$AIX_LLM_VERSION" &&
            "$dir/bin/llm" --version >/dev/null; }; then
            echo "installing llm==$AIX_LLM_VERSION from PyPI failed" >&2
            rm -rf "$dir"
            return 1
        fi
        touch "$dir/$_AIX_DONE"
    fi
    export AIX_TOOL_LLM="$dir/bin/llm"
}

install_aichat() {
    local dir
    dir="$(_aix_tools_root)/aichat-$AIX_AICHAT_VERSION"
    if ! _aix_begin "$dir"; then
        # A cold build takes about 5.5 minutes on 2 cores.
        if ! { cargo install --quiet --locked "aichat@$AIX_AICHAT_VERSION" --root "$dir" &&
            "$dir/bin/aichat" --version >/dev/null; }; then
            echo "cargo install aichat@$AIX_AICHAT_VERSION failed" >&2
            rm -rf "$dir"
            return 1
        fi
        touch "$dir/$_AIX_DONE"
    fi
    export AIX_TOOL_AICHAT="$dir/bin/aichat"
}

_aix_npm_install() { # dir package@version bin -> installs, checks `bin --version`
    # --ignore-scripts would break opencode (its postinstall hard-links the
    # platform binary from the opencode-linux-x64 optional dependency).
    if ! { npm install --silent --no-fund --no-audit --prefix "$1" "$2" &&
        "$1/node_modules/.bin/$3" --version >/dev/null; }; then
        echo "npm install $2 failed" >&2
        rm -rf "$1"
        return 1
    fi
    touch "$1/$_AIX_DONE"
}

install_codex() {
    local dir
    dir="$(_aix_tools_root)/codex-$AIX_CODEX_VERSION"
    if ! _aix_begin "$dir"; then
        _aix_npm_install "$dir" "@openai/codex@$AIX_CODEX_VERSION" codex || return 1
    fi
    export AIX_TOOL_CODEX="$dir/node_modules/.bin/codex"
}

install_opencode() {
    local dir
    dir="$(_aix_tools_root)/opencode-$AIX_OPENCODE_VERSION"
    if ! _aix_begin "$dir"; then
        _aix_npm_install "$dir" "opencode-ai@$AIX_OPENCODE_VERSION" opencode || return 1
    fi
    export AIX_TOOL_OPENCODE="$dir/node_modules/.bin/opencode"
}

install_continue() {
    local dir
    dir="$(_aix_tools_root)/continue-$AIX_CONTINUE_VERSION"
    if ! _aix_begin "$dir"; then
        _aix_npm_install "$dir" "@continuedev/cli@$AIX_CONTINUE_VERSION" cn || return 1
    fi
    export AIX_TOOL_CONTINUE="$dir/node_modules/.bin/cn"
}

# start_mock: starts bench/mock_openai.py on a free 127.0.0.1 port; exports
# AIX_TEST_MOCK_URL (http://127.0.0.1:P/v1) and AIX_TEST_MOCK_LOG (a JSON
# line per request: method, path, headers, body).
start_mock() {
    local here dir
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    dir=$(mktemp -d)
    AIX_MOCK_DIR=$dir
    python3 "$here/mock_openai.py" --host 127.0.0.1 --port 0 \
        --log "$dir/requests.jsonl" --port-file "$dir/port" >"$dir/stderr" 2>&1 &
    AIX_MOCK_PID=$!
    for _ in $(seq 1 100); do
        if [ -s "$dir/port" ]; then
            export AIX_TEST_MOCK_URL="http://127.0.0.1:$(cat "$dir/port")/v1"
            export AIX_TEST_MOCK_LOG="$dir/requests.jsonl"
            return 0
        fi
        if ! kill -0 "$AIX_MOCK_PID" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "mock_openai.py did not start; its stderr:" >&2
    cat "$dir/stderr" >&2
    stop_mock
    return 1
}

stop_mock() {
    if [ -n "${AIX_MOCK_PID:-}" ]; then
        kill "$AIX_MOCK_PID" 2>/dev/null || true
        wait "$AIX_MOCK_PID" 2>/dev/null || true
        AIX_MOCK_PID=
    fi
    if [ -n "${AIX_MOCK_DIR:-}" ]; then
        rm -rf "$AIX_MOCK_DIR"
        AIX_MOCK_DIR=
    fi
}
