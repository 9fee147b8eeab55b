#!/bin/sh
# A throwaway hook for the agent-host tests (not the product's): saves the payload it is given as
# $RECORD_DIR/<nanoseconds>-<pid>.json and answers "no opinion" (`{}`), or, when the payload contains
# $DENY_MATCH, the deny answer Claude Code and Codex both read:
#   {"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":$DENY_REASON}}
# Proves the harness (CLI + scripted model + hook wiring) before the real adapter is involved.
f="$RECORD_DIR/$(date +%s%N)-$$.json"
cat > "$f"
if [ -n "$DENY_MATCH" ] && grep -qF -- "$DENY_MATCH" "$f"; then
  printf '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"%s"}}\n' "${DENY_REASON:-denied by the recording hook}"
else
  echo '{}'
fi
