// Batches handed from a producer to one reader: the reader takes them in order through an async
// iterator and waits while there are none. Ending the queue lets the reader finish what is queued,
// then return, or throw the error it was ended with.
export class BatchQueue<T> {
  private readonly batches: T[][] = [];
  private count = 0;
  private done = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  /** Items queued and not yet taken by the reader. */
  get queued(): number {
    return this.count;
  }

  /**
   * Whether `incoming` more would leave more than `limit` unread: a reader too slow for its writer.
   * One that has read everything takes any batch (etcd may deliver many revisions in one response).
   */
  overflows(incoming: number, limit: number): boolean {
    return this.count > 0 && this.count + incoming > limit;
  }

  get ended(): boolean {
    return this.done;
  }

  push(batch: T[]): void {
    if (this.done) return;
    this.count += batch.length;
    this.batches.push(batch);
    this.signal();
  }

  /** Ends the queue; false when it had already ended. */
  end(error?: Error): boolean {
    if (this.done) return false;
    this.done = true;
    this.error = error;
    this.signal();
    return true;
  }

  async *drain(): AsyncGenerator<T[]> {
    for (;;) {
      const batch = this.batches.shift();
      if (batch) {
        this.count -= batch.length;
        yield batch;
      } else if (this.done) {
        if (this.error) throw this.error;
        return;
      } else {
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    }
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
