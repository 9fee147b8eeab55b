/**
 * Heals a race in VS Code's tree views. A refresh that lands while VS Code is asking for a row's children
 * makes the extension host drop the row's handle first ("No tree item with id … found" in its log): the ask
 * fails, and the row stays empty until something refreshes it again — for a quiet agent, never.
 *
 * VS Code asks for the children of every expanded row right after it received that row from its parent's
 * children. So: each expanded row handed to VS Code is expected to be asked for its children within
 * `graceMs`; one that is not is refreshed once (which makes VS Code ask again). Each listing of a parent sets
 * the expectation anew, so a row is never refreshed twice for one listing, and a collapsed row (which VS Code
 * rightly does not ask about) is never expected.
 */
export class ChildrenWatch {
  private readonly waiting = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly graceMs: number,
    /** Refreshes the row with this id (the provider's own debounced refresh). */
    private readonly refresh: (id: string) => void,
  ) {}

  /** These expanded rows were just handed to VS Code: their children should be asked for next. */
  listed(ids: Iterable<string>): void {
    for (const id of ids) {
      clearTimeout(this.waiting.get(id));
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.refresh(id);
      }, this.graceMs);
      timer.unref?.();
      this.waiting.set(id, timer);
    }
  }

  /** VS Code asked for this row's children. */
  asked(id: string): void {
    const timer = this.waiting.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.waiting.delete(id);
  }

  /** The row was collapsed: nothing to ask for. */
  forget(id: string): void {
    this.asked(id);
  }

  dispose(): void {
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }
}
