// Probe workers, one per container and kind, on the kubelet's rules: wait initialDelaySeconds, then
// probe every periodSeconds with timeoutSeconds; the result flips after successThreshold successes
// or failureThreshold failures in a row. Readiness starts failed, liveness succeeded; liveness and
// readiness wait for the startup probe, which stops once it has succeeded.
import type { Probe } from 'kubernetes-types/core/v1.js';
import type { Writable } from '../../client/resources.js';
import type { HandlerResult } from './handlers.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export class ProbeWorker {
  ok: boolean;
  message = '';
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private successes = 0;
  private failures = 0;

  constructor(
    readonly kind: ProbeKind,
    private readonly probe: Writable<Probe>,
    private readonly run: (timeoutMs: number) => Promise<HandlerResult>,
    /** Whether probing may happen now (liveness and readiness wait for startup). */
    private readonly gate: () => boolean,
    /** Told of every failure (for Unhealthy events) and of every flip of the result. */
    private readonly on: { failed(worker: ProbeWorker, message: string): void; changed(worker: ProbeWorker): void },
    /** Where readiness starts (true for a container that was ready before an agent restart). */
    initiallyReady = false,
  ) {
    this.ok = kind === 'liveness' || (kind === 'readiness' && initiallyReady);
    this.timer = setTimeout(() => void this.tick(), (probe.initialDelaySeconds ?? 0) * 1000);
  }

  /** A startup probe that failed failureThreshold times: the container is restarted. */
  get gaveUp(): boolean {
    return this.kind === 'startup' && !this.ok && this.failures >= (this.probe.failureThreshold ?? 3);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.gate()) {
      const result = await this.run((this.probe.timeoutSeconds ?? 1) * 1000);
      if (this.stopped) return;
      this.record(result);
      // A passed startup probe has done its job.
      if (this.kind === 'startup' && this.ok) return;
    }
    this.timer = setTimeout(() => void this.tick(), (this.probe.periodSeconds ?? 10) * 1000);
  }

  private record(result: HandlerResult): void {
    if (result.ok) {
      this.successes++;
      this.failures = 0;
    } else {
      this.failures++;
      this.successes = 0;
    }
    this.message = result.message;
    if (!result.ok) this.on.failed(this, result.message);
    const flip = this.ok ? this.failures >= (this.probe.failureThreshold ?? 3) : this.successes >= (this.probe.successThreshold ?? 1);
    if (!flip) {
      if (this.gaveUp) this.on.changed(this);
      return;
    }
    this.ok = !this.ok;
    this.on.changed(this);
  }
}
