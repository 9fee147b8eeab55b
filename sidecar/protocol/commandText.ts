/**
 * A shell command line as a grant or a proposed guardrail binds it (issue 13, "Approve for this session" and
 * "Always allow…"). Pure: the sidecar keys session grants by {@link normalizeCommand}; the editor builds an
 * "Always allow…" guardrail with {@link commandRegex}; both read the line with the same walk, so a grant and a
 * proposed rule agree on what "the same command" means.
 *
 * "The same" is deliberately narrow: only whitespace OUTSIDE quotes is folded (a run of spaces and tabs, or a
 * line continuation, becomes one space; a run containing a newline becomes one newline), and the ends are
 * trimmed. Quoted text, operators, redirections and every word stay exactly as written. The guard's shell
 * parser (guard/shell.ts parseShell) was not used for this on purpose: it expands the line into the simple
 * commands that would run and drops redirections and the `&&` / `||` / `;` between them, so
 * `echo x > a` and `echo x > /etc/passwd` would read the same there — a grant keyed on it could widen.
 */

interface Piece {
  /** Literal text, or a whitespace run folded to " " (blank) or "\n" (newline). */
  kind: "text" | "blank" | "newline";
  text: string;
}

/** The line split into literal text and folded unquoted whitespace, trimmed at both ends. */
function pieces(command: string): Piece[] {
  const out: Piece[] = [];
  let text = "";
  let quote: "'" | '"' | null = null;
  let space: "blank" | "newline" | null = null;
  const flushSpace = (): void => {
    if (space !== null && out.length + text.length > 0) out.push({ kind: space, text: space === "blank" ? " " : "\n" });
    space = null;
  };
  const flushText = (): void => {
    if (text !== "") out.push({ kind: "text", text });
    text = "";
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote === null) {
      const continuation = c === "\\" && command[i + 1] === "\n";
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || continuation) {
        flushText();
        if (continuation) i++;
        space = c === "\n" || c === "\r" || space === "newline" ? "newline" : "blank";
        continue;
      }
      flushSpace();
      if (c === "\\" && i + 1 < command.length) {
        text += c + command[++i]!;
        continue;
      }
      if (c === "'" || c === '"') quote = c;
      text += c;
      continue;
    }
    text += c;
    if (c === "\\" && quote === '"' && i + 1 < command.length) text += command[++i]!;
    else if (c === quote) quote = null;
  }
  flushText();
  return out;
}

/** The command with unquoted whitespace folded and the ends trimmed (see above). */
export function normalizeCommand(command: string): string {
  return pieces(command)
    .map((p) => p.text)
    .join("");
}

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/]/g;

/**
 * An anchored regular expression (JavaScript syntax, for a policy matcher's `regex`) matching this command
 * and every spelling of it that {@link normalizeCommand} folds to the same text — and nothing else.
 */
export function commandRegex(command: string): string {
  const body = pieces(command)
    .map((p) => (p.kind === "text" ? p.text.replace(REGEX_SPECIAL, "\\$&") : p.kind === "blank" ? "(?:[ \\t]|\\\\\\n)+" : "[ \\t]*(?:\\\\?\\r?\\n[ \\t]*)+"))
    .join("");
  return `^\\s*${body}\\s*$`;
}
