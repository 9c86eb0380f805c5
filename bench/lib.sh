# Shared by the bench scripts (sourced, not run).

# stop_own_pids WORKDIR PID...: SIGTERM each PID that is still ours (alive, and its command line names a file
# inside WORKDIR, which guards against PID reuse), wait up to 5 s, then SIGKILL what is left. Never by name.
stop_own_pids() {
  local work=$1; shift
  local p i alive=()
  for p in "$@"; do
    if kill -0 "$p" 2>/dev/null && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$work/"; then
      kill -TERM "$p" 2>/dev/null || true
      alive+=("$p")
    fi
  done
  for i in $(seq 1 50); do
    local still=()
    for p in "${alive[@]}"; do kill -0 "$p" 2>/dev/null && still+=("$p"); done
    alive=("${still[@]}")
    [ ${#alive[@]} -eq 0 ] && break
    sleep 0.1
  done
  for p in "${alive[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}
