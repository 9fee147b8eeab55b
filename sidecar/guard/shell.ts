/**
 * Shell command analyzer for the guardrail engine. It "sees through" shell syntax (quoting,
 * separators, groups, substitutions, wrappers such as sudo / env / bash -c / xargs / find -exec)
 * so that a rule judges every simple command a command line would actually run.
 *
 * Why a hand-written lexer instead of a library:
 *  - shell-quote treats backticks as literal word text and does not parse `$(…)` as a command,
 *    not even inside double quotes, where bash does run it;
 *  - mvdan-sh is deprecated and ~1.5 MB; sh-syntax is async WASM (the engine is synchronous);
 *  - bash-parser has been unmaintained since 2017.
 *
 * Contract: pure, synchronous, no I/O, every regex is a module constant, and no input makes it
 * throw. Malformed input (unbalanced quotes or parens) is parsed best effort. Recursion (nested
 * substitutions, `bash -c` inside `bash -c`, …) is capped at MAX_DEPTH; deeper text is skipped.
 */

import { DEFAULT_STATE_DIR, DISCOVERY_FILE } from "../protocol/discovery";
import { commandEffects, GIT_VALUE_OPTIONS, WRITE_REDIRECTS } from "./shellEffects";

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** One simple command after unwrapping: argv[0] is the program (basename, e.g. "/bin/rm" -> "rm"). */
export interface SimpleCommand {
  argv: string[];
}

/** Commands connected by `|` (a pipeline). Single commands are pipelines of length 1. */
export interface Pipeline {
  commands: SimpleCommand[];
}

/**
 * What a command line does. The first five are judgments that hold anywhere (analyzeShell); the last three
 * are effects only a template with context can judge (inspectShell): `forced_delete` (any recursive or
 * forced delete: prod-shell in production), `network` (the command reaches the network: secret-then-network),
 * `file_write` (a file the command writes, with its `path` as written: outside-workspace-writes),
 * `relative_read` (a relative path a reader command reads, with its `path`: local-secret-files resolves it
 * against the call's cwd, so `cat .aws/credentials` run in the home directory is the credentials file),
 * `guard_change` (the `apie` CLI answering an approval, enabling a template or installing or removing hooks: run
 * by an agent, it would change its own guard — the CLI takes the admin key from the discovery file: guard-files).
 */
export type ShellFindingKind =
  | "destructive"
  | "force_push"
  | "pipe_to_shell"
  | "package_publish"
  | "credential_read"
  | "forced_delete"
  | "network"
  | "file_write"
  | "relative_read"
  | "guard_change";

/** The context-dependent kinds (see ShellFindingKind): reported by inspectShell, not by analyzeShell. */
export const SHELL_EFFECT_KINDS: ReadonlySet<ShellFindingKind> = new Set(["forced_delete", "network", "file_write", "relative_read", "guard_change"]);

export interface ShellFinding {
  kind: ShellFindingKind;
  /** the offending simple command re-joined with spaces */
  command: string;
  /** short human reason, e.g. "rm -rf on /" */
  reason: string;
  /** `file_write`, `relative_read` and `credential_read` only: the path as the command names it (relative to its cwd, maybe `~/…`). */
  path?: string;
}

/** Parse and recursively expand a command line into every pipeline that would run. */
export function parseShell(command: string): Pipeline[] {
  const pipelines: Pipeline[] = [];
  for (const cmds of run(command).pipelines) {
    // Redirection-only commands (`> file`) are kept internally for the analyzer, not shown here.
    const commands = cmds.filter((c) => c.argv.length > 0).map((c) => ({ argv: c.argv }));
    if (commands.length > 0) pipelines.push({ commands });
  }
  return pipelines;
}

/** The judgments for a command line (deduplicated by kind+command). Empty array when harmless. */
export function analyzeShell(command: string): ShellFinding[] {
  return inspectShell(command).filter((f) => !SHELL_EFFECT_KINDS.has(f.kind));
}

/** analyzeShell's judgments plus the effects (SHELL_EFFECT_KINDS) that templates judge in context. */
export function inspectShell(command: string): ShellFinding[] {
  const findings = new Findings();
  const { pipelines, functions, truncated } = run(command);
  if (truncated) {
    // Fail closed: nobody nests a real command this deep, but someone hiding one from the guard would.
    const shown = command.length > 80 ? `${command.slice(0, 77)}...` : command;
    findings.add("destructive", shown, `nested more than ${MAX_DEPTH} levels deep; too deep to analyse`);
  }
  try {
    for (const pipeline of pipelines) {
      checkPipeline(pipeline, findings);
      for (const cmd of pipeline) checkCommand(cmd, findings);
    }
    for (const fn of functions) checkFunction(fn, findings);
  } catch {
    // Unreachable by design; a bug in one check must not take the engine down. Keep what we found.
  }
  return findings.list;
}

/**
 * Whether a path names a credential file: SSH keys (anything under ~/.ssh except *.pub,
 * known_hosts and config), cloud / registry / git credential files in the home directory,
 * `.env` files (not the .example/.sample/.template/.dist templates), key files
 * (*.pem, *.key, *.p12, *.pfx, id_rsa, id_ed25519, id_ecdsa, id_dsa) anywhere, and the Apie sidecar's
 * discovery file `.apie/sidecar.json` (it holds the sidecar's admin key). The home directory may be written
 * `~`, `$HOME`, `${HOME}`, `/home/<user>`, `/Users/<user>` or `/root`.
 */
export function isCredentialPath(path: string): boolean {
  if (typeof path !== "string" || path.length === 0) return false;
  const { abs, segs } = resolvePath(path);
  if (isSecretFileName(segs[segs.length - 1] ?? "")) return true;
  if (segs[segs.length - 1] === DISCOVERY_FILE && segs[segs.length - 2] === DEFAULT_STATE_DIR) return true;
  const rest = homeRelative(abs, segs);
  return rest !== undefined && isHomeCredential(rest);
}

// ---------------------------------------------------------------------------------------------
// Internal model
// ---------------------------------------------------------------------------------------------

/** Nesting cap for substitutions, groups and re-parsed strings (`bash -c`, `eval`, …). */
const MAX_DEPTH = 8;

/** A word after quote removal. `subs` are the (expanded) commands its substitutions run. */
interface Word {
  text: string;
  subs: readonly Cmd[][];
  /** Any part was quoted or escaped: such a word is never an fd number, keyword or heredoc-expanding delimiter. */
  quoted: boolean;
}

interface Redirect {
  op: string;
  target: Word;
  /** Heredoc body (for `<<` / `<<-`), read at the next newline. */
  body?: string;
}

/** Where a command run by `find -exec` or `xargs` gets its implicit arguments from. */
interface Feed {
  from: Cmd | undefined;
  /** The placeholder replaced by fed paths (`{}`, `xargs -I X`), or undefined when they are appended. */
  token: string | undefined;
  via: "find" | "xargs";
}

/** A simple command after unwrapping. `words` is aligned with `argv`. */
interface Cmd {
  argv: string[];
  words: readonly Word[];
  redirs: readonly Redirect[];
  feed: Feed | undefined;
}

interface FnDef {
  name: string;
  body: Cmd[][];
}

type RawItem =
  | { type: "cmd"; words: Word[]; redirs: Redirect[] }
  | { type: "group"; body: RawPipeline[] }
  | { type: "fn"; name: string; body: RawPipeline[] };
type RawPipeline = RawItem[];

/** Collects what is not a pipeline but matters to the analyzer (function definitions). */
interface Sink {
  functions: FnDef[];
  /** Some text was nested past MAX_DEPTH and skipped: the analyzer then fails closed (see analyzeShell). */
  truncated: boolean;
}

const NO_SUBS: readonly Cmd[][] = [];

function run(command: string): { pipelines: Cmd[][]; functions: FnDef[]; truncated: boolean } {
  const sink: Sink = { functions: [], truncated: false };
  let pipelines: Cmd[][] = [];
  if (typeof command === "string" && command.length > 0) {
    try {
      pipelines = parseAndExpand(command, 0, sink);
    } catch {
      // Unreachable by design (bounded recursion, no throwing calls); never let a parser bug escape.
    }
  }
  return { pipelines, functions: sink.functions, truncated: sink.truncated };
}

function parseAndExpand(src: string, depth: number, sink: Sink): Cmd[][] {
  return expandList(new Parser(src, depth, sink).parseList(""), depth, sink);
}

// ---------------------------------------------------------------------------------------------
// Lexer / parser: source text -> raw pipelines of words and redirections
// ---------------------------------------------------------------------------------------------

const PLAIN = 0;
const META = 1; // ends a word
const SPECIAL = 2; // has meaning inside a word
const CHAR_CLASS = new Uint8Array(128);
for (const c of " \t\r\n;&|<>()") CHAR_CLASS[c.charCodeAt(0)] = META;
for (const c of "\\'\"`$") CHAR_CLASS[c.charCodeAt(0)] = SPECIAL;

function charClass(code: number): number {
  return code < 128 ? (CHAR_CLASS[code] ?? PLAIN) : PLAIN;
}

/** Longest first, so `startsWith` picks the right one. */
const REDIRECT_OPS = ["&>>", "<<<", "<<-", "&>", "<<", "<>", "<&", ">>", ">&", ">|", "<", ">"];
const FD_NUMBER = /^\d+$/;
const LEADING_TABS = /^\t+/;
const DQ_ESCAPABLE = '$`"\\';
const ANSI_ESCAPES: Readonly<Record<string, string>> = {
  n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", e: "\x1b", E: "\x1b", f: "\f", v: "\v",
  "\\": "\\", "'": "'", '"': '"', "?": "?",
};
const HEX = /^[0-9a-fA-F]+$/;

interface WordBuilder {
  text: string;
  subs: Cmd[][] | null;
  quoted: boolean;
}

interface PendingHeredoc {
  redir: Redirect;
  delimiter: string;
  stripTabs: boolean;
  expand: boolean;
}

/**
 * Recursive-descent parser over one source string. Command substitutions are parsed in place
 * (same parser, deeper), backticks and re-parsed strings get their own parser.
 */
class Parser {
  private pos = 0;
  private heredocs: PendingHeredoc[] = [];

  constructor(
    private readonly src: string,
    private depth: number,
    private readonly sink: Sink,
  ) {}

  /** Parse until `close` (consumed) or end of input. `close` "" means top level. */
  parseList(close: "" | ")" | "}"): RawPipeline[] {
    const src = this.src;
    const pipelines: RawPipeline[] = [];
    let current: RawItem[] = [];
    const flush = (): void => {
      if (current.length > 0) pipelines.push(current);
      current = [];
    };
    while (this.pos < src.length) {
      const c = src.charAt(this.pos);
      const n = src.charAt(this.pos + 1);
      if (c === " " || c === "\t" || c === "\r") this.pos++;
      else if (c === "\\" && n === "\n") this.pos += 2;
      else if (c === "\n") {
        this.pos++;
        this.readHeredocBodies();
        flush();
      } else if (c === "#") this.skipComment();
      else if (c === ";") {
        this.pos += n === ";" || n === "&" ? 2 : 1; // `;;` / `;&` end case branches
        flush();
      } else if (c === "&" && n !== ">") {
        this.pos += n === "&" ? 2 : 1;
        flush();
      } else if (c === "|") {
        if (n === "|") {
          this.pos += 2;
          flush();
        } else this.pos += n === "&" ? 2 : 1; // `|` and `|&` keep the pipeline going
      } else if (c === ")") {
        this.pos++;
        if (close === ")") break;
        flush(); // stray `)` (e.g. a case pattern): treat as a separator
      } else if (c === "(") {
        this.pos++;
        current.push({ type: "group", body: this.nested(")") });
      } else if ((c === "{" || c === "}") && this.isWordEnd(this.pos + 1)) {
        // `{` / `}` are reserved words only when standing alone at a command start.
        this.pos++;
        if (c === "{") current.push({ type: "group", body: this.nested("}") });
        else if (close === "}") break;
      } else {
        const before = this.pos;
        const item = this.parseCommand();
        if (item) current.push(item);
        if (this.pos === before) this.pos++; // never stall on unexpected input
      }
    }
    flush();
    return pipelines;
  }

  private nested(close: ")" | "}"): RawPipeline[] {
    if (this.depth >= MAX_DEPTH) {
      this.sink.truncated = true;
      this.skipBalanced(close);
      return [];
    }
    this.depth++;
    const body = this.parseList(close);
    this.depth--;
    return body;
  }

  /** Words and redirections up to the next operator. */
  private parseCommand(): RawItem | null {
    const src = this.src;
    const words: Word[] = [];
    const redirs: Redirect[] = [];
    while (this.pos < src.length) {
      const c = src.charAt(this.pos);
      const n = src.charAt(this.pos + 1);
      if (c === " " || c === "\t" || c === "\r") this.pos++;
      else if (c === "\\" && n === "\n") this.pos += 2;
      else if (c === "\n" || c === ";" || c === "|" || c === ")") break;
      else if (c === "&") {
        if (n !== ">") break;
        this.parseRedirect(redirs);
      } else if (c === "<" || c === ">") {
        if (n === "(") words.push(this.processSubstitution());
        else this.parseRedirect(redirs);
      } else if (c === "(") {
        const first = words[0];
        if (words.length === 1 && first !== undefined && !first.quoted) return this.functionDef(first.text);
        break;
      } else if (c === "#") this.skipComment();
      else {
        const word = this.parseWord();
        const next = src.charAt(this.pos);
        if (!word.quoted && (next === "<" || next === ">") && FD_NUMBER.test(word.text)) {
          this.parseRedirect(redirs); // `2>&1`: the digits are an fd, not an argument
        } else if (words.length === 0 && !word.quoted && word.text === "function") {
          return this.functionKeyword();
        } else words.push(word);
      }
    }
    return words.length > 0 || redirs.length > 0 ? { type: "cmd", words, redirs } : null;
  }

  /** `name() compound` — the body is parsed (a defined function is usually called). */
  private functionDef(name: string): RawItem {
    this.pos++; // "("
    this.skipBlanks(false);
    if (this.src.charAt(this.pos) === ")") this.pos++;
    return { type: "fn", name, body: this.functionBody() };
  }

  /** `function name [()] compound` */
  private functionKeyword(): RawItem {
    this.skipBlanks(false);
    const name = this.isWordEnd(this.pos) ? "" : this.parseWord().text;
    this.skipBlanks(false);
    if (this.src.charAt(this.pos) === "(") {
      this.pos++;
      this.skipBlanks(false);
      if (this.src.charAt(this.pos) === ")") this.pos++;
    }
    return { type: "fn", name, body: this.functionBody() };
  }

  private functionBody(): RawPipeline[] {
    this.skipBlanks(true);
    const c = this.src.charAt(this.pos);
    if (c === "{" || c === "(") {
      this.pos++;
      return this.nested(c === "{" ? "}" : ")");
    }
    return []; // not a compound command: whatever follows is parsed as ordinary commands
  }

  private parseRedirect(redirs: Redirect[]): void {
    const op = REDIRECT_OPS.find((o) => this.src.startsWith(o, this.pos)) ?? this.src.charAt(this.pos);
    this.pos += Math.max(op.length, 1);
    this.skipBlanks(false);
    const c = this.src.charAt(this.pos);
    let target: Word;
    if ((c === "<" || c === ">") && this.src.charAt(this.pos + 1) === "(") target = this.processSubstitution();
    else if (!this.isWordEnd(this.pos)) target = this.parseWord();
    else target = { text: "", subs: NO_SUBS, quoted: false };
    const redir: Redirect = { op, target };
    redirs.push(redir);
    if (op === "<<" || op === "<<-") {
      this.heredocs.push({ redir, delimiter: target.text, stripTabs: op === "<<-", expand: !target.quoted });
    }
  }

  /** Heredoc bodies start after the newline that ends the command line that announced them. */
  private readHeredocBodies(): void {
    if (this.heredocs.length === 0) return;
    const src = this.src;
    const pending = this.heredocs;
    this.heredocs = [];
    for (const h of pending) {
      let body = "";
      while (this.pos < src.length) {
        let end = src.indexOf("\n", this.pos);
        if (end < 0) end = src.length;
        let line = src.slice(this.pos, end);
        this.pos = Math.min(end + 1, src.length);
        if (line.endsWith("\r")) line = line.slice(0, -1);
        if ((h.stripTabs ? line.replace(LEADING_TABS, "") : line) === h.delimiter) break;
        body += line + "\n";
      }
      h.redir.body = body;
      // An unquoted delimiter means the body is expanded: `$(…)` in it runs.
      if (h.expand && (body.includes("$(") || body.includes("`"))) {
        const w: WordBuilder = { text: "", subs: null, quoted: false };
        new Parser(body, this.depth, this.sink).readDoubleQuoted(w, false);
        if (w.subs) h.redir.target = { ...h.redir.target, subs: w.subs };
      }
    }
  }

  /** One word, with quotes removed and adjacent quoted parts concatenated. */
  private parseWord(): Word {
    const src = this.src;
    const len = src.length;
    const w: WordBuilder = { text: "", subs: null, quoted: false };
    while (this.pos < len) {
      const cls = charClass(src.charCodeAt(this.pos));
      if (cls === META) break;
      if (cls === PLAIN) {
        let j = this.pos + 1;
        while (j < len && charClass(src.charCodeAt(j)) === PLAIN) j++;
        w.text += src.slice(this.pos, j);
        this.pos = j;
        continue;
      }
      const c = src.charAt(this.pos);
      if (c === "\\") {
        const n = src.charAt(this.pos + 1);
        if (n !== "\n") {
          w.text += n; // "" at end of input
          w.quoted = true;
        }
        this.pos += 2;
      } else if (c === "'") {
        let end = src.indexOf("'", this.pos + 1);
        if (end < 0) end = len;
        w.text += src.slice(this.pos + 1, end);
        w.quoted = true;
        this.pos = end + 1;
      } else if (c === '"') {
        w.quoted = true;
        this.pos++;
        this.readDoubleQuoted(w, true);
      } else if (c === "`") this.backtick(w, false);
      else this.dollar(w, false);
    }
    if (this.pos > len) this.pos = len;
    return { text: w.text, subs: w.subs ?? NO_SUBS, quoted: w.quoted };
  }

  /** Double-quoted text (or a heredoc body when `stopAtQuote` is false): only `$` and backticks are live. */
  readDoubleQuoted(w: WordBuilder, stopAtQuote: boolean): void {
    const src = this.src;
    while (this.pos < src.length) {
      const c = src.charAt(this.pos);
      if (c === '"' && stopAtQuote) {
        this.pos++;
        return;
      }
      if (c === "\\") {
        const n = src.charAt(this.pos + 1);
        if (n === "\n") this.pos += 2;
        else if (n !== "" && DQ_ESCAPABLE.includes(n)) {
          w.text += n;
          this.pos += 2;
        } else {
          w.text += c;
          this.pos++;
        }
      } else if (c === "$") this.dollar(w, true);
      else if (c === "`") this.backtick(w, true);
      else {
        let j = this.pos + 1;
        while (j < src.length) {
          const d = src.charAt(j);
          if (d === '"' || d === "\\" || d === "$" || d === "`") break;
          j++;
        }
        w.text += src.slice(this.pos, j);
        this.pos = j;
      }
    }
  }

  private dollar(w: WordBuilder, inDoubleQuotes: boolean): void {
    const src = this.src;
    const n = src.charAt(this.pos + 1);
    if (n === "(") {
      if (src.charAt(this.pos + 2) === "(") this.arithmetic(w);
      else this.commandSubstitution(w);
    } else if (n === "{") {
      const end = this.matchBrace(this.pos + 1);
      w.text += src.slice(this.pos, end);
      this.pos = end;
    } else if (n === "'" && !inDoubleQuotes) {
      w.quoted = true;
      this.ansiC(w);
    } else if (n === '"' && !inDoubleQuotes) {
      this.pos++; // $"…" (locale string): the quote is read as a normal double quote next
    } else {
      w.text += "$";
      this.pos++;
    }
  }

  /** `$(…)`: parsed as commands; the word keeps the literal text as a placeholder. */
  private commandSubstitution(w: WordBuilder): void {
    const start = this.pos;
    this.pos += 2;
    const raw = this.nested(")");
    w.text += this.src.slice(start, this.pos);
    addSubs(w, expandList(raw, this.depth + 1, this.sink));
  }

  /** `<(…)` / `>(…)` as a word. */
  private processSubstitution(): Word {
    const start = this.pos;
    this.pos += 2;
    const raw = this.nested(")");
    return { text: this.src.slice(start, this.pos), subs: expandList(raw, this.depth + 1, this.sink), quoted: false };
  }

  /** Backticks: the inner text (with `\``, `\\`, `\$` unescaped) is parsed by its own parser. */
  private backtick(w: WordBuilder, inDoubleQuotes: boolean): void {
    const src = this.src;
    const start = this.pos;
    let inner = "";
    this.pos++;
    while (this.pos < src.length) {
      const c = src.charAt(this.pos);
      if (c === "`") {
        this.pos++;
        break;
      }
      const n = src.charAt(this.pos + 1);
      if (c === "\\" && (n === "`" || n === "\\" || n === "$" || (inDoubleQuotes && n === '"'))) {
        inner += n;
        this.pos += 2;
      } else {
        inner += c;
        this.pos++;
      }
    }
    w.text += src.slice(start, this.pos);
    if (this.depth < MAX_DEPTH) addSubs(w, parseAndExpand(inner, this.depth + 1, this.sink));
    else this.sink.truncated = true;
  }

  /** `$((…))`: arithmetic, kept as literal text. */
  private arithmetic(w: WordBuilder): void {
    const src = this.src;
    let j = this.pos + 1;
    let level = 0;
    while (j < src.length) {
      const c = src.charAt(j++);
      if (c === "(") level++;
      else if (c === ")" && --level === 0) break;
    }
    w.text += src.slice(this.pos, j);
    this.pos = j;
  }

  /** `$'…'` with the common escapes. */
  private ansiC(w: WordBuilder): void {
    const src = this.src;
    this.pos += 2;
    while (this.pos < src.length) {
      const c = src.charAt(this.pos);
      if (c === "'") {
        this.pos++;
        return;
      }
      if (c !== "\\") {
        w.text += c;
        this.pos++;
        continue;
      }
      const n = src.charAt(this.pos + 1);
      const simple = ANSI_ESCAPES[n];
      if (simple !== undefined) {
        w.text += simple;
        this.pos += 2;
      } else if (n === "x" || n === "u" || n === "U") {
        this.pos += 2 + this.numericEscape(w, this.pos + 2, n === "x" ? 2 : n === "u" ? 4 : 8, 16);
      } else if (n >= "0" && n <= "7" && n !== "") {
        this.pos += 1 + this.numericEscape(w, this.pos + 1, 3, 8);
      } else {
        w.text += c + n;
        this.pos += 2;
      }
    }
  }

  /** Appends the character for up to `max` digits at `at`; returns how many digits were used. */
  private numericEscape(w: WordBuilder, at: number, max: number, radix: 8 | 16): number {
    let digits = "";
    while (digits.length < max) {
      const d = this.src.charAt(at + digits.length);
      if (d === "" || (radix === 8 ? d < "0" || d > "7" : !HEX.test(d))) break;
      digits += d;
    }
    const code = digits === "" ? -1 : parseInt(digits, radix);
    if (code >= 0 && code <= 0x10ffff) w.text += String.fromCodePoint(code);
    return digits.length;
  }

  /** Index after the `}` matching the `{` at `open` (`${…}`, kept literal). */
  private matchBrace(open: number): number {
    let level = 0;
    for (let j = open; j < this.src.length; j++) {
      const c = this.src.charAt(j);
      if (c === "{") level++;
      else if (c === "}" && --level === 0) return j + 1;
    }
    return this.src.length;
  }

  /** Past the matching `close`, without parsing (used beyond MAX_DEPTH). Iterative: no stack growth. */
  private skipBalanced(close: ")" | "}"): void {
    const src = this.src;
    const open = close === ")" ? "(" : "{";
    let level = 1;
    while (this.pos < src.length) {
      const c = src.charAt(this.pos++);
      if (c === "\\") this.pos++;
      else if (c === "'" || c === '"') {
        const end = src.indexOf(c, this.pos);
        this.pos = end < 0 ? src.length : end + 1;
      } else if (c === open) level++;
      else if (c === close && --level === 0) break;
    }
    if (this.pos > src.length) this.pos = src.length;
  }

  private skipComment(): void {
    const end = this.src.indexOf("\n", this.pos);
    this.pos = end < 0 ? this.src.length : end;
  }

  private skipBlanks(newlines: boolean): void {
    while (this.pos < this.src.length) {
      const c = this.src.charAt(this.pos);
      if (c !== " " && c !== "\t" && c !== "\r" && !(newlines && c === "\n")) return;
      this.pos++;
    }
  }

  private isWordEnd(at: number): boolean {
    return at >= this.src.length || charClass(this.src.charCodeAt(at)) === META;
  }
}

function addSubs(w: WordBuilder, pipelines: Cmd[][]): void {
  if (pipelines.length > 0) (w.subs ??= []).push(...pipelines);
}

// ---------------------------------------------------------------------------------------------
// Expansion: raw pipelines -> simple commands, seeing through wrappers
// ---------------------------------------------------------------------------------------------

interface Ctx {
  /** The pipeline being built. */
  main: Cmd[];
  /** Pipelines that run besides it (substitutions, `bash -c` bodies, find -exec). */
  extras: Cmd[][];
  /** The raw pipeline has a single element, so nested lists stay separate pipelines. */
  standalone: boolean;
  depth: number;
  sink: Sink;
}

function expandList(raw: readonly RawPipeline[], depth: number, sink: Sink): Cmd[][] {
  const out: Cmd[][] = [];
  for (const items of raw) expandPipeline(items, depth, sink, out);
  return out;
}

function expandPipeline(items: RawPipeline, depth: number, sink: Sink, out: Cmd[][]): void {
  let elements = 0;
  for (const item of items) if (item.type !== "cmd" || item.words.length > 0) elements++;
  const ctx: Ctx = { main: [], extras: [], standalone: elements <= 1, depth, sink };
  for (const item of items) {
    if (item.type === "cmd") {
      unwrap(item.words, item.redirs, ctx, undefined);
      continue;
    }
    const inner = expandList(item.body, depth, sink);
    if (item.type === "fn") {
      sink.functions.push({ name: item.name, body: inner });
      ctx.extras.push(...inner);
    } else place(ctx, inner);
  }
  if (ctx.main.length > 0) out.push(ctx.main);
  out.push(...ctx.extras);
}

/**
 * Nested pipelines (a group, a `bash -c` body) replacing one pipeline element: kept as separate
 * pipelines when they stand alone, spliced into the enclosing pipeline otherwise, so that
 * `curl … | (cd /tmp && bash)` still shows curl feeding bash.
 */
function place(ctx: Ctx, inner: readonly Cmd[][]): void {
  if (ctx.standalone) ctx.extras.push(...inner);
  else for (const p of inner) ctx.main.push(...p);
}

function emitSubs(ctx: Ctx, word: Word | undefined): void {
  if (word !== undefined && word.subs.length > 0) ctx.extras.push(...word.subs);
}

/** `unwrapStep` results besides "continue at index N". */
const FINAL = -1; // words[i..] is the command
const DONE = -2; // handled entirely by the step

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=/;

interface OptionSpec {
  /** Short option letters that take a value. */
  short: string;
  /** Long options that take a separate value. */
  long?: ReadonlySet<string>;
}

/** Wrappers that are "options, then the command". */
const WRAPPERS: ReadonlyMap<string, OptionSpec> = new Map<string, OptionSpec>([
  ["sudo", {
    short: "ugpCDrtTUR",
    long: new Set(["--user", "--group", "--prompt", "--close-from", "--chdir", "--role", "--type",
      "--command-timeout", "--other-user", "--chroot", "--host"]),
  }],
  ["doas", { short: "uCa" }],
  ["pkexec", { short: "", long: new Set(["--user"]) }],
  ["nohup", { short: "" }],
  ["time", { short: "fo", long: new Set(["--format", "--output"]) }],
  ["nice", { short: "n", long: new Set(["--adjustment"]) }],
  ["ionice", { short: "cn", long: new Set(["--class", "--classdata"]) }],
  ["stdbuf", { short: "ioe", long: new Set(["--input", "--output", "--error"]) }],
  ["setsid", { short: "" }],
  ["exec", { short: "a" }],
  ["builtin", { short: "" }],
]);
const TIMEOUT_OPTIONS: OptionSpec = { short: "sk", long: new Set(["--signal", "--kill-after"]) };
const XARGS_OPTIONS: OptionSpec = {
  short: "adEILnPs",
  long: new Set(["--arg-file", "--delimiter", "--max-lines", "--max-args", "--max-procs", "--max-chars", "--process-slot-var"]),
};
const WATCH_OPTIONS: OptionSpec = { short: "nq", long: new Set(["--interval", "--equexit"]) };
const NPX_OPTIONS: OptionSpec = { short: "p", long: new Set(["--package"]) };

/** Reserved words that precede a command (`if rm …`, `then rm …`). */
const PREFIX_KEYWORDS = new Set(["if", "then", "elif", "else", "do", "while", "until", "!"]);
/** Reserved words that stand alone (`done < file` keeps its redirection). */
const END_KEYWORDS = new Set(["fi", "done", "esac", "}"]);
/** Headers whose words are data, not a command (`for x in …`, `case $x in`). */
const HEADER_KEYWORDS = new Set(["for", "select", "case"]);
const SHELLS = new Set(["sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "mksh"]);
const SHELL_LONG_VALUE = new Set(["--rcfile", "--init-file"]);
const RUNNER_SUBCOMMANDS = new Set(["exec", "x", "dlx"]);
const FIND_EXEC = new Set(["-exec", "-execdir", "-ok", "-okdir"]);

/** Expand one raw simple command into `ctx`, peeling wrappers until the real program. */
function unwrap(words: readonly Word[], redirs: readonly Redirect[], ctx: Ctx, feedIn: Feed | undefined): void {
  for (const r of redirs) emitSubs(ctx, r.target);
  const state = { feed: feedIn };
  let i = 0;
  while (i < words.length) {
    const word = words[i];
    if (word === undefined) break;
    const next = ASSIGNMENT.test(word.text) ? i + 1 : unwrapStep(programName(word), words, i, redirs, ctx, state);
    if (next === DONE) return;
    if (next === FINAL || next <= i) {
      pushCommand(words, i, redirs, ctx, state.feed, true);
      return;
    }
    for (let k = i; k < next; k++) emitSubs(ctx, words[k]);
    i = next;
  }
  // Only assignments / keywords: keep the redirections (`> /dev/sda`) visible to the analyzer.
  if (redirs.length > 0) ctx.main.push({ argv: [], words: [], redirs, feed: state.feed });
}

/**
 * What the word at `i` does: returns the index of the wrapped command, FINAL when it is the
 * command itself, or DONE when it was fully handled (its content re-parsed and placed).
 */
function unwrapStep(
  prog: string,
  words: readonly Word[],
  i: number,
  redirs: readonly Redirect[],
  ctx: Ctx,
  state: { feed: Feed | undefined },
): number {
  const wrapper = WRAPPERS.get(prog);
  if (wrapper !== undefined) return orFinal(skipOptions(words, i + 1, wrapper), words);
  if (PREFIX_KEYWORDS.has(prog) || END_KEYWORDS.has(prog)) return i + 1;
  if (HEADER_KEYWORDS.has(prog)) return words.length;
  if (SHELLS.has(prog)) return shellStep(words, i, redirs, ctx);
  switch (prog) {
    case "command":
      return commandStep(words, i);
    case "env":
      return envStep(words, i, ctx);
    case "timeout":
      return orFinal(skipOptions(words, i + 1, TIMEOUT_OPTIONS) + 1, words); // + the duration
    case "xargs": {
      const j = skipOptions(words, i + 1, XARGS_OPTIONS);
      const from = ctx.main[ctx.main.length - 1] ?? hereStringSource(redirs);
      state.feed = { from, token: xargsToken(words, i + 1, j), via: "xargs" };
      return orFinal(j, words);
    }
    case "find":
      return findStep(words, i, redirs, ctx, state.feed);
    case "eval":
      return i + 1 < words.length ? reparse(joinWords(words, i + 1), ctx, () => {}) : FINAL;
    case "su":
      return suStep(words, i, ctx);
    case "watch":
      return watchStep(words, i, ctx);
    case "busybox":
      return orFinal(i + 1, words);
    case "npx":
    case "bunx":
      return npxStep(words, i + 1, ctx);
    case "npm":
    case "pnpm":
    case "yarn":
    case "bun": {
      const sub = words[i + 1]?.text;
      return sub !== undefined && RUNNER_SUBCOMMANDS.has(sub) ? npxStep(words, i + 2, ctx) : FINAL;
    }
    default:
      return FINAL;
  }
}

function orFinal(j: number, words: readonly Word[]): number {
  return j < words.length ? j : FINAL;
}

/** Re-parse `script` as a full command line and place its pipelines; DONE, or FINAL beyond MAX_DEPTH. */
function reparse(script: string, ctx: Ctx, emitOthers: () => void): number {
  if (ctx.depth >= MAX_DEPTH) {
    ctx.sink.truncated = true;
    return FINAL;
  }
  emitOthers();
  place(ctx, parseAndExpand(script, ctx.depth + 1, ctx.sink));
  return DONE;
}

/** Emits the substitutions of every word from `from` except `except` (the re-parsed script). */
function emitAllBut(words: readonly Word[], from: number, except: number, ctx: Ctx): () => void {
  return () => {
    for (let k = from; k < words.length; k++) if (k !== except) emitSubs(ctx, words[k]);
  };
}

function joinWords(words: readonly Word[], from: number): string {
  let s = "";
  for (let k = from; k < words.length; k++) s += (k > from ? " " : "") + (words[k]?.text ?? "");
  return s;
}

/** Index of the first non-option word at or after `start` (`--` is consumed). */
function skipOptions(words: readonly Word[], start: number, spec: OptionSpec): number {
  let j = start;
  while (j < words.length) {
    const t = words[j]?.text ?? "";
    if (t === "--") return j + 1;
    if (t.length < 2 || t[0] !== "-") return j;
    if (t.startsWith("--")) j += !t.includes("=") && spec.long?.has(t) === true ? 2 : 1;
    else j += takesSeparateValue(t, spec.short) ? 2 : 1;
  }
  return j;
}

/** `-u` in `-Eu root` takes the next word; `-uroot` carries its value. */
function takesSeparateValue(flag: string, letters: string): boolean {
  for (let k = 1; k < flag.length; k++) if (letters.includes(flag.charAt(k))) return k === flag.length - 1;
  return false;
}

/** `bash|sh|… [opts] -c SCRIPT`: the script is a command line of its own. */
function shellStep(words: readonly Word[], i: number, redirs: readonly Redirect[], ctx: Ctx): number {
  let j = i + 1;
  let hasCommand = false;
  while (j < words.length) {
    const t = words[j]?.text ?? "";
    if (t === "--" || t === "-") {
      j++;
      break;
    }
    if (t.startsWith("--")) {
      if (t === "--command") hasCommand = true; // fish
      else if (SHELL_LONG_VALUE.has(t)) j++;
      j++;
      continue;
    }
    if (t.length < 2 || (t[0] !== "-" && t[0] !== "+")) break;
    if (t[0] === "-" && t.includes("c")) hasCommand = true; // -c, -lc, -ec, -xc, …
    if (t.includes("o") || t.includes("O")) j++; // -o pipefail
    j++;
  }
  const script = words[j];
  if (hasCommand) {
    return script === undefined ? FINAL : reparse(script.text, ctx, emitAllBut(words, i, j, ctx));
  }
  // No script file: the shell reads its program from stdin, e.g. a heredoc or here-string.
  if ((script === undefined || script.text === "-") && ctx.depth < MAX_DEPTH) {
    for (const r of redirs) {
      const text = r.op === "<<<" ? r.target.text : r.body;
      if (text !== undefined && text !== "") ctx.extras.push(...parseAndExpand(text, ctx.depth + 1, ctx.sink));
    }
  }
  return FINAL;
}

/** `command [-p] cmd` runs cmd; `command -v cmd` only looks it up. */
function commandStep(words: readonly Word[], i: number): number {
  let j = i + 1;
  for (; j < words.length; j++) {
    const t = words[j]?.text ?? "";
    if (t === "--") return orFinal(j + 1, words);
    if (t.length < 2 || t[0] !== "-") break;
    if (t.includes("v") || t.includes("V")) return FINAL;
  }
  return orFinal(j, words);
}

/** `env [-i] [-u X] [-C dir] [X=1 …] cmd`, and `env -S "cmd args"` (re-parsed). */
function envStep(words: readonly Word[], i: number, ctx: Ctx): number {
  let j = i + 1;
  while (j < words.length) {
    const t = words[j]?.text ?? "";
    if (t === "--") return orFinal(j + 1, words);
    if (t === "-S" || t === "--split-string") {
      return j + 1 < words.length ? reparse(joinWords(words, j + 1), ctx, () => {}) : FINAL;
    }
    if (t.startsWith("-S") || t.startsWith("--split-string=")) {
      const first = t.startsWith("-S") ? t.slice(2) : t.slice(t.indexOf("=") + 1);
      const rest = joinWords(words, j + 1);
      return reparse(rest === "" ? first : `${first} ${rest}`, ctx, () => {});
    }
    if (t === "-u" || t === "-C" || t === "--unset" || t === "--chdir") j += 2;
    else if (t.startsWith("-")) j++; // -i, -0, -v, -, -uNAME, --unset=X, …
    else break;
  }
  return orFinal(j, words); // leading X=1 words are skipped by the caller as assignments
}

/** The replace-string of `xargs -I X` / `-i` / `--replace`, if any. */
function xargsToken(words: readonly Word[], from: number, to: number): string | undefined {
  for (let k = from; k < to; k++) {
    const t = words[k]?.text ?? "";
    if (t === "-I") return words[k + 1]?.text;
    if (t.startsWith("-I")) return t.slice(2);
    if (t === "-i" || t === "--replace") return "{}";
    if (t.startsWith("-i")) return t.slice(2);
    if (t.startsWith("--replace=")) return t.slice(10);
  }
  return undefined;
}

/** find itself is a command (for `-delete`); each `-exec cmd … ;` runs as a pipeline of its own. */
function findStep(words: readonly Word[], i: number, redirs: readonly Redirect[], ctx: Ctx, feed: Feed | undefined): number {
  const find = pushCommand(words, i, redirs, ctx, feed, false);
  for (let k = i; k < words.length; k++) {
    const t = words[k]?.text ?? "";
    if (!FIND_EXEC.has(t)) {
      emitSubs(ctx, words[k]);
      continue;
    }
    let end = k + 1;
    while (end < words.length && words[end]?.text !== ";" && words[end]?.text !== "+") end++;
    const segment = words.slice(k + 1, end);
    if (segment.length > 0) {
      const sub: Ctx = { ...ctx, main: [], standalone: true };
      unwrap(segment, [], sub, { from: find, token: "{}", via: "find" });
      if (sub.main.length > 0) ctx.extras.push(sub.main);
    }
    k = end;
  }
  return DONE;
}

/** `xargs … <<< "/"` reads its arguments from the here-string: model it as an echo feeding xargs. */
function hereStringSource(redirs: readonly Redirect[]): Cmd | undefined {
  const r = redirs.find((x) => x.op === "<<<");
  return r === undefined ? undefined : { argv: ["echo", r.target.text], words: [], redirs: [], feed: undefined };
}

/** `su [user] -c 'cmd'` */
function suStep(words: readonly Word[], i: number, ctx: Ctx): number {
  for (let k = i + 1; k < words.length; k++) {
    const t = words[k]?.text ?? "";
    if (t === "-c" || t === "--command") {
      const script = words[k + 1];
      return script === undefined ? FINAL : reparse(script.text, ctx, emitAllBut(words, i, k + 1, ctx));
    }
    if (t.startsWith("--command=")) return reparse(t.slice(10), ctx, emitAllBut(words, i, k, ctx));
    if (t === "-s" || t === "--shell") k++;
  }
  return FINAL;
}

/** `watch [opts] cmd args` runs `sh -c "cmd args"`; with `-x` it execs the words directly. */
function watchStep(words: readonly Word[], i: number, ctx: Ctx): number {
  const j = skipOptions(words, i + 1, WATCH_OPTIONS);
  if (j >= words.length) return FINAL;
  for (let k = i + 1; k < j; k++) {
    const t = words[k]?.text ?? "";
    if (t === "--exec" || (t[1] !== "-" && t.includes("x"))) return j;
  }
  return reparse(joinWords(words, j), ctx, () => {});
}

/** `npx [opts] pkg args` (and `npm exec`, `pnpm dlx`, `bunx`, …); `npx -c 'cmd'` is re-parsed. */
function npxStep(words: readonly Word[], start: number, ctx: Ctx): number {
  for (let k = start; k < words.length; k++) {
    const t = words[k]?.text ?? "";
    if (t === "-c" || t === "--call") {
      const script = words[k + 1];
      return script === undefined ? FINAL : reparse(script.text, ctx, emitAllBut(words, start, k + 1, ctx));
    }
    if (t.length < 2 || t[0] !== "-") break;
  }
  return orFinal(skipOptions(words, start, NPX_OPTIONS), words);
}

function pushCommand(
  words: readonly Word[],
  i: number,
  redirs: readonly Redirect[],
  ctx: Ctx,
  feed: Feed | undefined,
  emit: boolean,
): Cmd {
  const own = i === 0 ? words : words.slice(i);
  const argv = own.map((w) => w.text);
  const first = own[0];
  if (first !== undefined) argv[0] = programName(first);
  if (emit) for (const w of own) emitSubs(ctx, w);
  const cmd: Cmd = { argv, words: own, redirs, feed };
  ctx.main.push(cmd);
  return cmd;
}

/** Basename of the program, minus an npx-style `@version` (`@vscode/vsce@2` -> `vsce`). */
function programName(word: Word): string {
  const t = word.text;
  if (word.subs.length > 0) return t; // `$(curl …)` as a command: keep the placeholder intact
  const slash = t.lastIndexOf("/");
  let name = slash >= 0 && slash < t.length - 1 ? t.slice(slash + 1) : t;
  const at = name.indexOf("@", 1);
  if (at > 0) name = name.slice(0, at);
  return name;
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

const HOME_PREFIX = /^(?:~([A-Za-z_][A-Za-z0-9._-]*)?|\$HOME|\$\{HOME\})(?=\/|$)/;

/**
 * Lexical normalisation: home forms become absolute `/home/<user>` ("~" for the current user),
 * `.` and empty segments vanish, `..` is resolved where possible.
 */
function resolvePath(p: string): { abs: boolean; segs: string[] } {
  const segs: string[] = [];
  let rest = p;
  let abs = p.startsWith("/");
  const home = HOME_PREFIX.exec(p);
  if (home) {
    abs = true;
    segs.push("home", home[1] ?? "~");
    rest = p.slice(home[0].length);
  }
  for (const part of rest.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      const top = segs[segs.length - 1];
      if (top !== undefined && top !== "..") segs.pop();
      else if (!abs) segs.push("..");
      continue;
    }
    segs.push(part);
  }
  return { abs, segs };
}

const SYSTEM_DIRS = new Set([
  "etc", "usr", "var", "home", "bin", "sbin", "boot", "lib", "lib32", "lib64", "opt", "root", "srv", "sys", "proc", "dev",
  "Users", "System", "Library", "Applications",
]);
const HOME_PARENTS = new Set(["home", "Users"]);
/** Trailing segments meaning "everything in there". */
const GLOB_ALL = new Set(["*", ".*"]);

type PathDanger = "root" | "system" | "home" | "cwd";

/**
 * How bad it is to delete this path recursively. "cwd" (`.`, `..`, `*`, `./*`) is the
 * whole working tree; callers decide whether that counts (rm yes, filtered find no).
 */
function classifyPath(p: string): PathDanger | undefined {
  if (p === "") return undefined;
  const { abs, segs } = resolvePath(p);
  while (segs.length > 0 && GLOB_ALL.has(segs[segs.length - 1] ?? "")) segs.pop();
  if (!abs) return segs.every((s) => s === "..") ? "cwd" : undefined;
  const top = segs[0];
  if (top === undefined) return "root";
  if (segs.length === 1) return SYSTEM_DIRS.has(top) ? "system" : undefined;
  if (segs.length === 2 && HOME_PARENTS.has(top)) return "home"; // /home/alice, ~
  return undefined;
}

/** Segments below the home directory, or undefined when the path is not in one. */
function homeRelative(abs: boolean, segs: readonly string[]): readonly string[] | undefined {
  if (!abs) return undefined;
  if (segs[0] === "root") return segs.slice(1);
  if (segs.length >= 2 && HOME_PARENTS.has(segs[0] ?? "")) return segs.slice(2);
  return undefined;
}

const ENV_TEMPLATES = new Set(["example", "sample", "template", "dist"]);
const KEY_FILE_NAMES = new Set(["id_rsa", "id_ed25519", "id_ecdsa", "id_dsa"]);
const KEY_EXTENSIONS = [".pem", ".key", ".p12", ".pfx"];

function isSecretFileName(base: string): boolean {
  if (base === ".env") return true;
  if (base.startsWith(".env.")) return !ENV_TEMPLATES.has(base.slice(5).toLowerCase());
  if (KEY_FILE_NAMES.has(base)) return true;
  const lower = base.toLowerCase();
  return KEY_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

function isHomeCredential(rest: readonly string[]): boolean {
  const [first, second] = rest;
  switch (first) {
    case ".ssh": {
      const last = rest[rest.length - 1] ?? "";
      // The directory itself counts: copying or archiving it copies the keys.
      return rest.length === 1 || !(last.endsWith(".pub") || last === "known_hosts" || last === "config");
    }
    case ".aws":
      return rest.length === 2 && (second === "credentials" || second === "config");
    case ".config":
      return second === "gcloud";
    case ".azure":
    case ".gnupg":
      return true;
    case ".kube":
      return rest.length === 2 && second === "config";
    case ".docker":
      return rest.length === 2 && second === "config.json";
    case ".netrc":
    case ".npmrc":
    case ".pypirc":
    case ".git-credentials":
      return rest.length === 1;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Analysis
// ---------------------------------------------------------------------------------------------

class Findings {
  readonly list: ShellFinding[] = [];
  private readonly seen = new Set<string>();

  add(kind: ShellFindingKind, command: string, reason: string, path?: string): void {
    const key = path === undefined ? `${kind}\u0000${command}` : `${kind}\u0000${command}\u0000${path}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(path === undefined ? { kind, command, reason } : { kind, command, reason, path });
  }
}

function commandText(cmd: Cmd): string {
  return cmd.argv.join(" ");
}

const FETCHERS = new Set(["curl", "wget", "fetch"]);
/** `apie` subcommands that change the guard itself, by what they do. */
const APIE_GUARD_CHANGES: ReadonlyMap<string, string> = new Map([
  ["approvals approve", "answers an Apie approval with the sidecar's admin key"],
  ["approvals reject", "answers an Apie approval with the sidecar's admin key"],
  ["guardrails enable", "changes the guard's policy"],
  ["hooks install", "changes the coding agents' hooks"],
  ["hooks uninstall", "removes the coding agents' hooks"],
]);
const BLOCK_DEVICE = /^\/dev\/(?:sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|disk\d|rdisk\d|md\d|dm-\d|mapper\/)/;
function checkCommand(cmd: Cmd, out: Findings): void {
  const name = cmd.argv[0] ?? "";
  checkRedirects(cmd, out);
  const effectRedirects = cmd.redirs.map((r) => ({ op: r.op, target: r.target.text }));
  let joined: string | undefined; // joined once: hostile input may have thousands of redirections
  commandEffects({ argv: cmd.argv, redirects: effectRedirects, fed: cmd.feed?.from !== undefined }, (kind, reason, path, redirect) => {
    joined ??= commandText(cmd);
    out.add(kind, redirect === undefined ? joined : `${joined} ${redirect.op} ${redirect.target}`.trim(), reason, path);
  });
  checkFetchedExecution(cmd, name, out);
  switch (name) {
    case "apie": {
      const change = APIE_GUARD_CHANGES.get(`${cmd.argv[1]} ${cmd.argv[2]}`);
      if (change !== undefined) out.add("guard_change", commandText(cmd), change);
      break;
    }
    case "rm":
      checkRm(cmd, out);
      break;
    case "find":
      checkFindDelete(cmd, out);
      break;
    case "dd":
      for (const a of cmd.argv) {
        if (a.startsWith("of=") && BLOCK_DEVICE.test(a.slice(3))) out.add("destructive", commandText(cmd), `dd writes to ${a.slice(3)}`);
      }
      break;
    case "shred":
    case "wipefs":
      out.add("destructive", commandText(cmd), `${name} irrecoverably destroys data`);
      break;
    case "chmod":
    case "chown":
    case "chgrp":
      checkRecursiveOwnership(cmd, name, out);
      break;
    case "git":
      checkGit(cmd, out);
      break;
  }
  if (name.startsWith("mkfs") || name === "mke2fs") out.add("destructive", commandText(cmd), `${name} formats a filesystem`);
  const published = publishReason(cmd.argv);
  if (published !== undefined) out.add("package_publish", commandText(cmd), published);
  if (READERS.has(name)) {
    for (const p of credentialArguments(cmd.argv)) {
      if (isCredentialPath(p)) out.add("credential_read", commandText(cmd), `reads ${p}`, p);
      // Relative: a credential file only once resolved against the call's cwd (`cat .aws/credentials` in ~).
      else if (!p.startsWith("/") && !p.startsWith("~") && !p.startsWith("$")) out.add("relative_read", commandText(cmd), `reads ${p}`, p);
    }
  }
}

/** `> /dev/sda` destroys a disk; `< ~/.ssh/id_rsa` feeds a key to any program. */
function checkRedirects(cmd: Cmd, out: Findings): void {
  for (const r of cmd.redirs) {
    const target = r.target.text;
    // The text is built only for a finding: joining argv per redirect would be quadratic on hostile input.
    const text = (): string => `${commandText(cmd)} ${r.op} ${target}`.trim();
    if (WRITE_REDIRECTS.has(r.op) && BLOCK_DEVICE.test(target)) out.add("destructive", text(), `writes to block device ${target}`);
    else if (r.op === "<" && isCredentialPath(target)) out.add("credential_read", text(), `reads ${target}`, target);
    else if (r.op === "<" && target !== "" && !target.startsWith("/") && !target.startsWith("~")) out.add("relative_read", text(), `reads ${target}`, target);
  }
}

// --- destructive ------------------------------------------------------------------------------

interface Target {
  path: string;
  /** Comes from a find with name/time/size filters: "the working tree" is then not at stake. */
  filtered: boolean;
  via: string | undefined;
}

function checkRm(cmd: Cmd, out: Findings): void {
  let recursive = false;
  let force = false;
  let noPreserveRoot = false;
  let endOfOptions = false;
  const targets: Target[] = [];
  for (let k = 1; k < cmd.argv.length; k++) {
    const a = cmd.argv[k] ?? "";
    if (!endOfOptions && a === "--") endOfOptions = true;
    else if (!endOfOptions && a.length > 1 && a[0] === "-") {
      if (a === "--recursive") recursive = true;
      else if (a === "--force") force = true;
      else if (a === "--no-preserve-root") noPreserveRoot = true;
      else if (a[1] !== "-") {
        if (a.includes("r") || a.includes("R")) recursive = true;
        if (a.includes("f")) force = true;
      }
    } else targets.push({ path: a, filtered: false, via: undefined });
  }
  if (!recursive && !noPreserveRoot) return;
  const flags = recursive ? (force ? "rm -rf" : "rm -r") : "rm";
  for (const t of withFedTargets(targets, cmd.feed)) {
    const danger = classifyPath(t.path);
    if (danger === undefined || (danger === "cwd" && t.filtered)) continue;
    out.add("destructive", commandText(cmd), `${flags} on "${t.path}"${t.via ? ` (via ${t.via})` : ""}`);
  }
  // The flag exists only to defeat rm's own protection: whatever the target, that is the intent.
  if (noPreserveRoot) out.add("destructive", commandText(cmd), "rm --no-preserve-root");
}

/** Paths a command receives from `find -exec` (`{}`) or `xargs` (stdin of an echo / find). */
function withFedTargets(targets: Target[], feed: Feed | undefined): Target[] {
  if (feed?.from === undefined) return targets;
  const fed = fedPaths(feed.from);
  if (fed.paths.length === 0) return targets;
  const expanded = fed.paths.map((path) => ({ path, filtered: fed.filtered, via: feed.via }));
  if (feed.token === undefined) return [...targets, ...expanded];
  return targets.flatMap((t) => (t.path === feed.token ? expanded : [t]));
}

const PRINTED_SEPARATOR = /\\n|\s+/;

function fedPaths(from: Cmd): { paths: string[]; filtered: boolean } {
  const name = from.argv[0];
  if (name === "find") return { paths: findRoots(from.argv), filtered: isFilteredFind(from.argv) };
  if (name === "echo" || name === "printf") {
    const paths = from.argv
      .slice(1)
      .filter((a) => !a.startsWith("-"))
      .flatMap((a) => a.split(PRINTED_SEPARATOR))
      .filter((a) => a !== "");
    return { paths, filtered: false };
  }
  return { paths: [], filtered: false };
}

const FIND_LEADING_OPTIONS = new Set(["-H", "-L", "-P"]);
/** Tests that narrow what find matches (unlike -type, which still matches "all files"). */
const FIND_FILTERS = new Set([
  "-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename", "-regex", "-iregex", "-lname", "-ilname",
  "-newer", "-anewer", "-cnewer", "-mtime", "-mmin", "-atime", "-amin", "-ctime", "-cmin", "-size", "-empty",
  "-user", "-group", "-uid", "-gid", "-perm", "-links", "-inum", "-samefile", "-nouser", "-nogroup",
]);

function findRoots(argv: readonly string[]): string[] {
  let k = 1;
  while (k < argv.length) {
    const a = argv[k] ?? "";
    if (FIND_LEADING_OPTIONS.has(a) || a.startsWith("-O")) k++;
    else if (a === "-D") k += 2;
    else break;
  }
  const roots: string[] = [];
  for (; k < argv.length; k++) {
    const a = argv[k] ?? "";
    if (a.startsWith("-") || a === "(" || a === "!" || a === ",") break;
    roots.push(a);
  }
  return roots.length > 0 ? roots : ["."];
}

function isFilteredFind(argv: readonly string[]): boolean {
  return argv.some((a) => FIND_FILTERS.has(a));
}

function checkFindDelete(cmd: Cmd, out: Findings): void {
  if (!cmd.argv.includes("-delete")) return;
  const filtered = isFilteredFind(cmd.argv);
  for (const root of findRoots(cmd.argv)) {
    const danger = classifyPath(root);
    if (danger !== undefined && !(danger === "cwd" && filtered)) {
      out.add("destructive", commandText(cmd), `find -delete under "${root}"`);
    }
  }
}

function checkRecursiveOwnership(cmd: Cmd, name: string, out: Findings): void {
  let recursive = false;
  let reference = false;
  const positionals: string[] = [];
  for (let k = 1; k < cmd.argv.length; k++) {
    const a = cmd.argv[k] ?? "";
    if (a === "--recursive" || (a.length > 1 && a[0] === "-" && a[1] !== "-" && a.includes("R"))) recursive = true;
    else if (a.startsWith("--reference")) reference = true;
    else if (!a.startsWith("-") || a.length === 1) positionals.push(a);
  }
  if (!recursive) return;
  // The first positional is the mode / owner, unless --reference supplies it.
  for (const target of reference ? positionals : positionals.slice(1)) {
    const danger = classifyPath(target);
    if (danger !== undefined && danger !== "cwd") out.add("destructive", commandText(cmd), `${name} -R on "${target}"`);
  }
}

/** Bomb: a function that calls itself in a pipeline (`:(){ :|:& };:`). */
function checkFunction(fn: FnDef, out: Findings): void {
  if (fn.name === "") return;
  const selfPiping = fn.body.some((p) => p.length >= 2 && p.some((c) => c.argv[0] === fn.name));
  if (!selfPiping) return;
  const body = fn.body.map((p) => p.map(commandText).join(" | ")).join("; ");
  out.add("destructive", `${fn.name}() { ${body}; }`, "fork bomb");
}

// --- git -------------------------------------------------------------------------------------

const PUSH_VALUE_OPTIONS = new Set(["-o", "--push-option", "--repo", "--receive-pack", "--exec"]);
const FORCE_FLAGS = new Set(["--force", "--force-with-lease", "--force-if-includes", "--mirror"]);

function checkGit(cmd: Cmd, out: Findings): void {
  const argv = cmd.argv;
  let k = 1;
  while (k < argv.length) {
    const a = argv[k] ?? "";
    if (!a.startsWith("-")) break;
    k += GIT_VALUE_OPTIONS.has(a) ? 2 : 1;
  }
  const sub = argv[k];
  const args = argv.slice(k + 1);
  if (sub === "push") {
    const reason = forcePushReason(args);
    if (reason !== undefined) out.add("force_push", commandText(cmd), reason);
  } else if (sub === "clean") {
    if (isFullClean(args)) out.add("destructive", commandText(cmd), "git clean -fdx deletes untracked and ignored files");
  } else if (sub === "reset" && args.includes("--hard")) {
    out.add("destructive", commandText(cmd), "git reset --hard discards uncommitted changes");
  }
}

function forcePushReason(args: readonly string[]): string | undefined {
  let positionalOnly = false;
  for (let k = 0; k < args.length; k++) {
    const a = args[k] ?? "";
    if (!positionalOnly && a === "--") positionalOnly = true;
    else if (!positionalOnly && a.startsWith("--")) {
      const name = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
      if (FORCE_FLAGS.has(name)) return `git push ${name}`;
      if (PUSH_VALUE_OPTIONS.has(a)) k++;
    } else if (!positionalOnly && a.length > 1 && a[0] === "-") {
      if (a.includes("f")) return "git push -f";
      if (a.endsWith("o")) k++;
    } else if (a.length > 1 && a[0] === "+") {
      return `git push with forced refspec ${a}`;
    }
  }
  return undefined;
}

function isFullClean(args: readonly string[]): boolean {
  let force = false;
  let dirs = false;
  let ignored = false;
  for (const a of args) {
    if (a === "--force") force = true;
    else if (a.length > 1 && a[0] === "-" && a[1] !== "-") {
      force ||= a.includes("f");
      dirs ||= a.includes("d");
      ignored ||= a.includes("x");
    }
  }
  return force && dirs && ignored;
}

// --- pipe to shell ---------------------------------------------------------------------------

/** How an interpreter is told its program: `code` flags take it from argv, `stdin` flags from stdin. */
interface InterpreterSpec {
  code: string;
  value: string;
  stdin: string;
  longCode: ReadonlySet<string>;
  longValue: ReadonlySet<string>;
}

const NONE: ReadonlySet<string> = new Set();
const SHELL_SPEC: InterpreterSpec = { code: "c", value: "oO", stdin: "s", longCode: new Set(["--command"]), longValue: SHELL_LONG_VALUE };
const PYTHON_SPEC: InterpreterSpec = { code: "cm", value: "WXQ", stdin: "", longCode: NONE, longValue: NONE };
const NODE_SPEC: InterpreterSpec = {
  code: "ep", value: "r", stdin: "",
  longCode: new Set(["--eval", "--print"]), longValue: new Set(["--require", "--import", "--loader", "--experimental-loader"]),
};
const INTERPRETERS: ReadonlyMap<string, InterpreterSpec> = new Map<string, InterpreterSpec>([
  ...[...SHELLS].map((s): [string, InterpreterSpec] => [s, SHELL_SPEC]),
  ["perl", { code: "eE", value: "", stdin: "", longCode: NONE, longValue: NONE }],
  ["ruby", { code: "e", value: "rIC", stdin: "", longCode: NONE, longValue: NONE }],
  ["node", NODE_SPEC],
  ["nodejs", NODE_SPEC],
  ["php", { code: "rf", value: "cd", stdin: "", longCode: NONE, longValue: NONE }],
]);
const PYTHON = /^python[0-9.]*$/;

function interpreterSpec(name: string): InterpreterSpec | undefined {
  return INTERPRETERS.get(name) ?? (PYTHON.test(name) ? PYTHON_SPEC : undefined);
}

/**
 * Whether the interpreter takes its program from stdin: no script argument, `-`, or `bash -s`.
 * `python3 -m json.tool` / `python -c …` / `bash script.sh` read data from stdin, not code.
 */
function readsProgramFromStdin(argv: readonly string[], spec: InterpreterSpec): boolean {
  let stdinFlag = false;
  for (let k = 1; k < argv.length; k++) {
    const a = argv[k] ?? "";
    if (a === "-") return true;
    if (a === "--") return stdinFlag || k + 1 >= argv.length;
    if (a.startsWith("--")) {
      const name = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
      if (spec.longCode.has(name)) return false;
      if (spec.longValue.has(a)) k++;
    } else if (a.length > 1 && (a[0] === "-" || (a[0] === "+" && spec === SHELL_SPEC))) {
      for (let j = 1; j < a.length; j++) {
        const ch = a.charAt(j);
        if (a[0] === "-" && spec.code.includes(ch)) return false;
        if (spec.stdin.includes(ch)) stdinFlag = true;
        if (spec.value.includes(ch)) {
          if (j === a.length - 1) k++;
          break;
        }
      }
    } else return stdinFlag; // a script file (its own args follow)
  }
  return true;
}

/** `curl … | … | bash`: a fetcher feeding a program-from-stdin interpreter later in the pipeline. */
function checkPipeline(pipeline: readonly Cmd[], out: Findings): void {
  if (pipeline.length < 2) return;
  let fetcher: string | undefined;
  for (const cmd of pipeline) {
    const name = cmd.argv[0] ?? "";
    if (fetcher === undefined) {
      if (FETCHERS.has(name)) fetcher = name;
      continue;
    }
    const spec = interpreterSpec(name);
    if (spec !== undefined && readsProgramFromStdin(cmd.argv, spec)) {
      const text = pipeline.map(commandText).filter((t) => t !== "").join(" | ");
      out.add("pipe_to_shell", text, `${fetcher} output piped to ${name}`);
      return;
    }
  }
}

/**
 * Fetched text executed without a pipe: `$(curl …)` as the command itself (what `sh -c "$(curl …)"`
 * and `eval "$(curl …)"` become once unwrapped), or `bash <(curl …)` / `source <(curl …)`.
 */
function checkFetchedExecution(cmd: Cmd, name: string, out: Findings): void {
  const first = cmd.words[0];
  const direct = first === undefined ? undefined : fetcherIn(first, 0);
  if (direct !== undefined) {
    out.add("pipe_to_shell", commandText(cmd), `runs ${direct} output as a command`);
    return;
  }
  if (interpreterSpec(name) === undefined && name !== "source" && name !== ".") return;
  for (let k = 1; k < cmd.words.length; k++) {
    const word = cmd.words[k];
    const fetcher = word === undefined ? undefined : fetcherIn(word, 0);
    if (fetcher !== undefined) {
      out.add("pipe_to_shell", commandText(cmd), `${fetcher} output executed by ${name}`);
      return;
    }
  }
}

/** The fetcher run by a word's substitutions, searched through nested substitutions. */
function fetcherIn(word: Word, depth: number): string | undefined {
  for (const pipeline of word.subs) {
    for (const c of pipeline) {
      const name = c.argv[0] ?? "";
      if (FETCHERS.has(name)) return name;
      if (depth < MAX_DEPTH) {
        for (const w of c.words) {
          const nested = fetcherIn(w, depth + 1);
          if (nested !== undefined) return nested;
        }
      }
    }
  }
  return undefined;
}

// --- package publish -------------------------------------------------------------------------

const PUBLISHERS = new Set([
  "npm", "pnpm", "yarn", "bun", "cargo", "twine", "gem", "poetry", "uv", "vsce", "ovsx", "hatch", "flit", "pdm",
  "dotnet", "mvn", "mvnw", "gradle", "gradlew", "docker", "podman", "helm",
]);
/** Global options whose value would otherwise look like the subcommand (`npm --prefix pkg publish`). */
const VALUE_OPTIONS = new Set([
  "--prefix", "-C", "--dir", "--cwd", "-w", "--workspace", "--filter", "--registry", "--otp", "--tag", "--access",
]);

function publishReason(argv: readonly string[]): string | undefined {
  const name = argv[0] ?? "";
  if (PYTHON.test(name)) {
    const m = argv.indexOf("-m");
    return m > 0 && argv[m + 1] === "twine" && argv.slice(m + 2).find((a) => !a.startsWith("-")) === "upload"
      ? "twine upload"
      : undefined;
  }
  if (!PUBLISHERS.has(name) || argv.some(isDryRunFlag)) return undefined;
  const pos = positionals(argv);
  const [a, b] = pos;
  switch (name) {
    case "npm":
    case "pnpm":
    case "bun":
      return a === "publish" ? `${name} publish` : undefined;
    case "yarn":
      return a === "publish" ? "yarn publish" : a === "npm" && b === "publish" ? "yarn npm publish" : undefined;
    case "cargo":
      return a === "publish" && !argv.includes("-n") ? "cargo publish" : undefined;
    case "twine":
      return a === "upload" ? "twine upload" : undefined;
    case "gem":
      return a === "push" ? "gem push" : undefined;
    case "dotnet":
      return a === "nuget" && b === "push" ? "dotnet nuget push" : undefined;
    case "mvn":
    case "mvnw":
      return pos.some((g) => g === "deploy" || g.startsWith("deploy:")) ? "mvn deploy" : undefined;
    case "gradle":
    case "gradlew":
      return pos.some(isGradlePublishTask) ? `${name} publish` : undefined;
    case "docker":
    case "podman":
    case "helm":
      return a === "push" || (a === "image" && b === "push") ? `${name} push` : undefined;
    default: // poetry, uv, vsce, ovsx, hatch, flit, pdm
      return a === "publish" ? `${name} publish` : undefined;
  }
}

function isDryRunFlag(a: string): boolean {
  return a === "--dry-run" || (a.startsWith("--dry-run=") && a !== "--dry-run=false");
}

function isGradlePublishTask(task: string): boolean {
  const name = task.slice(task.lastIndexOf(":") + 1);
  return name.startsWith("publish") && !name.includes("MavenLocal");
}

function positionals(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let k = 1; k < argv.length; k++) {
    const a = argv[k] ?? "";
    if (a === "--") return out.concat(argv.slice(k + 1));
    if (a.length > 1 && a[0] === "-") {
      if (VALUE_OPTIONS.has(a)) k++;
    } else out.push(a);
  }
  return out;
}

// --- credential read -------------------------------------------------------------------------

const READERS = new Set([
  "cat", "tac", "nl", "less", "more", "head", "tail", "bat", "batcat", "cp", "scp", "rsync", "base64", "xxd", "od",
  "hexdump", "strings", "grep", "egrep", "fgrep", "rg", "tar", "zip", "curl", "open", "vi", "vim", "nvim", "view",
  "nano", "emacs", "code",
]);
const PATTERN_FIRST = new Set(["grep", "egrep", "fgrep", "rg"]);
/** grep / rg options that supply the pattern, so the first positional is a file. */
const PATTERN_OPTION = /^(?:-[A-Za-z]*[ef]|--regexp|--file)/;
const COPIERS = new Set(["cp", "scp", "rsync"]);
const REMOTE_COPIERS = new Set(["scp", "rsync"]);
const CURL_DATA = new Set(["-d", "--data", "--data-binary", "--data-ascii", "--data-urlencode", "--json"]);
const CURL_FORM = new Set(["-F", "--form"]);
const CURL_UPLOAD = new Set(["-T", "--upload-file"]);
const FORM_FILE = /=[@<]([^;]+)/;

/** The arguments of a reader command that name files it reads. */
function credentialArguments(argv: readonly string[]): string[] {
  const name = argv[0] ?? "";
  if (name === "curl") return curlUploads(argv);
  let patternPending = PATTERN_FIRST.has(name) && !argv.some((a) => PATTERN_OPTION.test(a));
  let endOfOptions = false;
  const paths: string[] = [];
  for (let k = 1; k < argv.length; k++) {
    const a = argv[k] ?? "";
    if (!endOfOptions && a === "--") endOfOptions = true;
    else if (!endOfOptions && a.length > 1 && a[0] === "-") {
      const eq = a.indexOf("=");
      if (a.startsWith("--") && eq > 0) paths.push(a.slice(eq + 1)); // --file=~/.ssh/id_rsa
    } else if (patternPending) patternPending = false;
    else paths.push(REMOTE_COPIERS.has(name) ? stripRemoteHost(a) : a);
  }
  if (COPIERS.has(name) && paths.length >= 2) paths.pop(); // the destination is written, not read
  return paths;
}

/** `user@host:~/.ssh/id_rsa` -> `~/.ssh/id_rsa` */
function stripRemoteHost(a: string): string {
  const colon = a.indexOf(":");
  const slash = a.indexOf("/");
  return colon > 0 && (slash < 0 || colon < slash) ? a.slice(colon + 1) : a;
}

/** Files curl uploads: `-d @file`, `-F name=@file`, `-T file`. */
function curlUploads(argv: readonly string[]): string[] {
  const paths: string[] = [];
  for (let k = 1; k < argv.length; k++) {
    const a = argv[k] ?? "";
    let opt = a;
    let value: string | undefined;
    if (CURL_DATA.has(a) || CURL_FORM.has(a) || CURL_UPLOAD.has(a)) value = argv[++k];
    else if (a.length > 2 && a[0] === "-" && "dFT".includes(a.charAt(1))) {
      opt = a.slice(0, 2);
      value = a.slice(2);
    }
    if (value === undefined) continue;
    if (CURL_UPLOAD.has(opt)) paths.push(value);
    else if (CURL_FORM.has(opt)) {
      const m = FORM_FILE.exec(value);
      if (m?.[1] !== undefined) paths.push(m[1]);
    } else {
      const at = value.indexOf("@");
      if (at === 0 || (at > 0 && opt === "--data-urlencode")) paths.push(value.slice(at + 1));
    }
  }
  return paths;
}
