/**
 * Runs async tasks one at a time in arrival order: for work that must not overlap, such as
 * writing a config and reloading the daemon that reads it.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task);
    this.tail = next.catch(() => {});
    return next;
  }
}
