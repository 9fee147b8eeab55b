import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { formatPolicyError } from "../guard/policyLoader";
import type { GuardEngine } from "../guard/engine";
import { POLICY_FILE } from "../protocol/workspaceFiles";

/**
 * Keeps the engine's policy in step with <workspace>/apie.policy.json. Watches the directory, not the file,
 * because editors save by writing a new file and renaming it over the old one.
 */
export class PolicyWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly engine: GuardEngine,
    private readonly workspace: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Called after every reload attempt (the engine's policy status may have changed). */
  onDidReload(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get file(): string {
    return path.join(this.workspace, POLICY_FILE);
  }

  /** Load once now, then follow changes. */
  async start(): Promise<void> {
    await this.reload();
    this.watcher = watch(this.workspace, (_event, name) => {
      if (name !== null && name !== POLICY_FILE) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void (this.reloading = this.reloading.then(() => this.reload()).then(() => this.notify())), 30);
    });
    // The directory itself may vanish or become unreadable; the sidecar keeps its current policy.
    this.watcher.on("error", (error) => {
      this.log(`policy: stopped watching ${this.workspace}: ${error.message}; the current policy stays in force`);
    });
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  private notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.log(`policy: a reload listener failed: ${String(error)}`);
      }
    }
  }

  /** Never rejects: a failed read must neither crash the sidecar nor stall the reloads queued after it. */
  private async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code === "ENOENT") {
        this.engine.clearPolicy();
        this.log(`policy: ${this.file} not found; no templates enabled`);
      } else {
        this.engine.policyUnreadable(this.file, e.code ?? e.message);
        this.log(`policy: ${this.engine.policyStatus.state}: cannot read ${this.file} (${e.code ?? e.message})`);
      }
      return;
    }
    const errors = this.engine.loadPolicyText(text, this.file);
    if (errors.length === 0) this.log(`policy: loaded ${this.file}`);
    else this.log(`policy: ${this.engine.policyStatus.state}\n${errors.map(formatPolicyError).join("\n")}`);
  }
}
