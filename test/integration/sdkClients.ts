import { Apie, type ApieOptions } from "../../sidecar/sdk";

/** The Apie clients one test makes: their warnings collected, all shut down afterwards. */
export class SdkClients {
  readonly warnings: string[] = [];
  private readonly made: Apie[] = [];

  make(options: ApieOptions & Pick<Required<ApieOptions>, "agent">): Apie {
    const apie = new Apie({ logger: { warn: (m) => this.warnings.push(m) }, ...options });
    this.made.push(apie);
    return apie;
  }

  async shutdownAll(): Promise<void> {
    await Promise.all(this.made.splice(0).map((c) => c.shutdown()));
  }
}
