import { chmod, mkdir, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Reading and writing host hook files. Writes are atomic (temp file + rename, so a host reading its
 * settings never sees half a file), go through symlinks (a dotfiles-managed `~/.claude/settings.json`
 * stays a link) and never widen the file's mode: an existing file keeps its mode exactly.
 *
 * Which files we created is remembered in `~/.apie/hooks/created.json`, so `uninstall` deletes a file only
 * when we created it and nothing else is left in it.
 */

export async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The file a write lands in: the link's target for a symlink (dangling included), the path otherwise. */
async function writeTarget(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    return file;
  }
}

export async function writeTextAtomic(file: string, text: string): Promise<void> {
  const target = await writeTarget(file);
  const mode = await stat(target).then(
    (s) => s.mode & 0o7777,
    () => undefined,
  );
  await mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.apie-${process.pid}-${Date.now()}.tmp`;
  try {
    await writeFile(temp, text, { mode: mode ?? 0o666 });
    if (mode !== undefined) await chmod(temp, mode);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function ledgerFile(home: string): string {
  return path.join(home, ".apie", "hooks", "created.json");
}

async function readLedger(home: string): Promise<string[]> {
  try {
    const parsed: unknown = JSON.parse((await readTextIfExists(ledgerFile(home))) ?? "[]");
    return Array.isArray(parsed) ? parsed.filter((f): f is string => typeof f === "string") : [];
  } catch {
    return []; // a broken ledger only means we keep files we might have deleted
  }
}

async function writeLedger(home: string, files: string[]): Promise<void> {
  await writeTextAtomic(ledgerFile(home), JSON.stringify([...new Set(files)].sort(), null, 2) + "\n");
}

export async function rememberCreated(home: string, file: string): Promise<void> {
  const files = await readLedger(home);
  if (!files.includes(path.resolve(file))) await writeLedger(home, [...files, path.resolve(file)]);
}

export async function wasCreatedByUs(home: string, file: string): Promise<boolean> {
  return (await readLedger(home)).includes(path.resolve(file));
}

export async function deleteCreated(home: string, file: string): Promise<void> {
  await rm(file, { force: true });
  const files = await readLedger(home);
  if (files.includes(path.resolve(file))) await writeLedger(home, files.filter((f) => f !== path.resolve(file)));
}
