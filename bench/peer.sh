# Sourced by .ci/run (and usable by hand): installs llmock, a mock
# OpenAI-compatible server from PyPI, into a virtualenv outside the repo,
# starts it on a free 127.0.0.1 port and exports AIX_TEST_LLMOCK_URL.
#
#   . bench/peer.sh && start_llmock && cargo test --locked; stop_llmock

LLMOCK_VERSION=0.2.2
LLMOCK_VENV="${LLMOCK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/aix-test/llmock-$LLMOCK_VERSION}"

install_llmock() {
    if [ ! -x "$LLMOCK_VENV/bin/llmock" ]; then
        python3 -m venv "$LLMOCK_VENV"
        "$LLMOCK_VENV/bin/pip" install --quiet --disable-pip-version-check "llmock==$LLMOCK_VERSION"
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_llmock() {
    install_llmock
    local port log
    port=$(free_port)
    log=$(mktemp)
    "$LLMOCK_VENV/bin/llmock" serve --host 127.0.0.1 --port "$port" \
        --log-level warning --response-style echo >"$log" 2>&1 &
    LLMOCK_PID=$!
    for _ in $(seq 1 100); do
        if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
            "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then
            export AIX_TEST_LLMOCK_URL="http://127.0.0.1:$port/v1"
            return 0
        fi
        if ! kill -0 "$LLMOCK_PID" 2>/dev/null; then break; fi
        sleep 0.2
    done
    echo "llmock did not start; its log:" >&2
    cat "$log" >&2
    return 1
}

stop_llmock() {
    if [ -n "${LLMOCK_PID:-}" ]; then
        kill "$LLMOCK_PID" 2>/dev/null || true
        wait "$LLMOCK_PID" 2>/dev/null || true
    fi
}
