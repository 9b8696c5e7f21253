// The probe workers of a pod's containers, keyed by container id: started once per container,
// readiness kept across an agent restart for a container that was ready, and the answers the pod
// worker needs (started? ready? must it be restarted?).
import type { Container } from 'kubernetes-types/core/v1.js';
import type { Writable } from '../../client/resources.js';
import type { CriClient } from '../../cri/client.js';
import type { PodView } from './downward.js';
import { runHandler } from './handlers.js';
import { ProbeWorker } from './probes.js';
import type { ContainerInfo } from './runtime-view.js';

export class ContainerProbes {
  private readonly byContainer = new Map<string, ProbeWorker[]>();

  constructor(
    private readonly cri: CriClient,
    private readonly on: { failed(worker: ProbeWorker, message: string): void; changed(): void },
  ) {}

  /** Starts the container's probes once; answers the probe whose failure calls for a restart, if any. */
  watch(view: PodView, spec: Writable<Container>, c: ContainerInfo): ProbeWorker | undefined {
    let workers = this.byContainer.get(c.id);
    if (!workers) {
      workers = this.start(view, spec, c);
      this.byContainer.set(c.id, workers);
    }
    return workers.find((w) => (w.kind === 'liveness' && !w.ok) || (w.kind === 'startup' && w.gaveUp));
  }

  private passed(containerId: string, kind: string): boolean {
    return !!this.byContainer.get(containerId)?.find((w) => w.kind === kind)?.ok;
  }

  /** Running, and past its startup probe if it has one (one not started yet has not passed). */
  isStarted(spec: Writable<Container>, c: ContainerInfo): boolean {
    return c.state === 'CONTAINER_RUNNING' && (!spec.startupProbe || this.passed(c.id, 'startup'));
  }

  isReady(spec: Writable<Container>, c: ContainerInfo): boolean {
    return this.isStarted(spec, c) && (!spec.readinessProbe || this.passed(c.id, 'readiness'));
  }

  forget(containerId: string): void {
    for (const w of this.byContainer.get(containerId) ?? []) w.stop();
    this.byContainer.delete(containerId);
  }

  stopAll(): void {
    for (const id of [...this.byContainer.keys()]) this.forget(id);
  }

  private start(view: PodView, spec: Writable<Container>, c: ContainerInfo): ProbeWorker[] {
    const target = { cri: this.cri, containerId: c.id, container: spec, podIP: view.podIPs[0] ?? '' };
    const workers: ProbeWorker[] = [];
    const startup = spec.startupProbe;
    const started = () => !startup || workers.some((w) => w.kind === 'startup' && w.ok);
    // After an agent restart a container that was ready stays ready until a probe says otherwise.
    const wasReady = view.pod.status?.containerStatuses?.some(
      (s) => s.name === spec.name && s.containerID === `containerd://${c.id}` && s.ready,
    );
    if (startup)
      workers.push(
        new ProbeWorker(
          'startup',
          startup,
          (ms) => runHandler(startup, target, ms),
          () => true,
          this.on,
        ),
      );
    if (spec.livenessProbe)
      workers.push(new ProbeWorker('liveness', spec.livenessProbe, (ms) => runHandler(spec.livenessProbe!, target, ms), started, this.on));
    if (spec.readinessProbe)
      workers.push(
        new ProbeWorker('readiness', spec.readinessProbe, (ms) => runHandler(spec.readinessProbe!, target, ms), started, this.on, wasReady),
      );
    return workers;
  }
}
