# Sourced by .ci/run (and usable by hand): installs the LiteLLM proxy from
# PyPI into a virtualenv outside the repo, starts it on a free 127.0.0.1
# port with `mock_response` models and a generated master key, and exports
# AIX_TEST_LITELLM_URL (no /v1) and AIX_TEST_LITELLM_KEY. install_litellm
# exports AIX_TOOL_LITELLM, the proxy's executable.
#
#   . bench/peer_litellm.sh && start_litellm &&
#       cargo test --locked --test cli peer_litellm:: -- --ignored; stop_litellm

LITELLM_VERSION=1.106.2
LITELLM_VENV="${LITELLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/aix-test/litellm-$LITELLM_VERSION}"

install_litellm() {
    if [ ! -x "$LITELLM_VENV/bin/litellm" ]; then
        # A half-made venv from an interrupted install would be reused as is.
        rm -rf "$LITELLM_VENV"
        python3 -m venv "$LITELLM_VENV" || return 1
        # Without prisma beside it, a request without a key answers 500.
        if ! "$LITELLM_VENV/bin/pip" install --quiet --disable-pip-version-check \
            "litellm[proxy]==$LITELLM_VERSION" prisma; then
            echo "installing litellm[proxy]==$LITELLM_VERSION from PyPI failed" >&2
            rm -rf "$LITELLM_VENV"
            return 1
        fi
    fi
    # The tests of aix's LiteLLM target start their own proxy with it.
    export AIX_TOOL_LITELLM="$LITELLM_VENV/bin/litellm"
}

_litellm_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_litellm() {
    install_litellm || return 1
    local port dir key
    port=$(_litellm_free_port)
    dir=$(mktemp -d)
    LITELLM_DIR=$dir
    key="sk-aix-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    cat >"$dir/cfg.yaml" <<'EOF'
model_list:
  - model_name: mock-gpt
    litellm_params:
      model: openai/mock-gpt
      api_key: sk-fake
      mock_response: "Hello from litellm"
  - model_name: mock-claude
    litellm_params:
      model: openai/mock-claude
      api_key: sk-fake
      mock_response: "Hello from litellm"
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
EOF
    # The bundled cost map, not a download at start; errors only in the log.
    (cd "$dir" && LITELLM_MASTER_KEY="$key" LITELLM_LOCAL_MODEL_COST_MAP=True \
        LITELLM_LOG=ERROR \
        exec "$LITELLM_VENV/bin/litellm" --config "$dir/cfg.yaml" \
        --host 127.0.0.1 --port "$port" >"$dir/log" 2>&1) &
    LITELLM_PID=$!
    # Bounded: 300 tries of 0.2 s plus the request time, about 60 s.
    for _ in $(seq 1 300); do
        if python3 - "http://127.0.0.1:$port/v1/models" "$key" >/dev/null 2>&1 <<'EOF'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
urllib.request.urlopen(req, timeout=2)
EOF
        then
            export AIX_TEST_LITELLM_URL="http://127.0.0.1:$port"
            export AIX_TEST_LITELLM_KEY="$key"
            return 0
        fi
        if ! kill -0 "$LITELLM_PID" 2>/dev/null; then break; fi
        sleep 0.2
    done
    echo "the LiteLLM proxy did not start within ~60 s; its log:" >&2
    cat "$dir/log" >&2
    stop_litellm
    return 1
}

stop_litellm() {
    if [ -n "${LITELLM_PID:-}" ]; then
        kill "$LITELLM_PID" 2>/dev/null || true
        wait "$LITELLM_PID" 2>/dev/null || true
        LITELLM_PID=
    fi
    if [ -n "${LITELLM_DIR:-}" ]; then
        rm -rf "$LITELLM_DIR"
        LITELLM_DIR=
    fi
}
