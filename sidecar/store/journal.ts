import type { RecordDataByKind, RecordKind, TimelineRecord } from "../protocol/records";
import { EventLog, type AppendOptions, type Appended, type RecoveryReport } from "./eventLog";
import { Projection } from "./projection";

export type RecordListener = (record: TimelineRecord, offset: number) => void;

/**
 * The one way state changes in the sidecar: append a record to the durable log, apply it to the projection,
 * tell listeners (the `/v1/stream` hub). Ordering is total: seq is assigned synchronously by the log, so the
 * projection and every listener see records in log order. Callers decide whether to wait for `durable`
 * (acknowledging ingested events, opening approvals) or not (a plain allow decision on the hot path).
 */
export class Journal {
  private readonly listeners = new Set<RecordListener>();

  private constructor(
    private readonly log: EventLog,
    readonly state: Projection,
  ) {}

  /** Opens (or creates) the log and rebuilds the projection from it. */
  static async open(file: string, options: { sync?: boolean } = {}): Promise<{ journal: Journal; recovery: RecoveryReport }> {
    const state = new Projection();
    const unreadable: string[] = [];
    const { log, recovery } = await EventLog.open(file, {
      sync: options.sync ?? true,
      onRecord: (record, offset) => {
        try {
          state.apply(record as TimelineRecord, offset);
        } catch (error) {
          // A record the projection cannot read (an older or hand-edited log) is skipped, not fatal.
          unreadable.push(`seq ${record.seq}: cannot apply ${record.kind}: ${(error as Error).message}`);
        }
      },
    });
    return { journal: new Journal(log, state), recovery: { ...recovery, problems: [...recovery.problems, ...unreadable] } };
  }

  /** `lazy`: nobody will wait on `durable` (see AppendOptions); the write may be deferred a little. */
  record<K extends RecordKind>(kind: K, data: RecordDataByKind[K], options: AppendOptions = {}): Appended {
    const appended = this.log.append(kind, data, options);
    const record: TimelineRecord<K> = { seq: appended.seq, ts: appended.ts, kind, data };
    this.state.apply(record, appended.offset);
    for (const listener of this.listeners) listener(record, appended.offset);
    return appended;
  }

  /** See EventLog.allWritten. */
  allWritten(): Promise<void> {
    return this.log.allWritten();
  }

  /** Path of the event log file. */
  get file(): string {
    return this.log.file;
  }

  onRecord(listener: RecordListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads records back from disk (a run's timeline). */
  async read(offsets: readonly number[]): Promise<TimelineRecord[]> {
    return (await this.log.readMany(offsets)) as TimelineRecord[];
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
