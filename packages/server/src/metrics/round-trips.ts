import { isTerminalCommandState } from '@steward/protocol';
import type { StewardEvent } from '@steward/protocol';

/** Commands whose submit time is remembered at once; beyond it the oldest are forgotten. */
const MAX_TRACKED = 200_000;

/**
 * Times each command from its `pending` event (submitted) to its terminal event (result
 * stored), from the event stream alone, so no query is added to the command path.
 */
export class RoundTrips {
  private readonly submitted = new Map<string, number>();

  constructor(private readonly observe: (type: string, state: string, seconds: number) => void) {}

  onEvent(e: StewardEvent): void {
    if (e.kind !== 'command.state') return;
    if (e.state === 'pending') {
      if (this.submitted.size >= MAX_TRACKED) {
        const oldest = this.submitted.keys().next().value;
        if (oldest !== undefined) this.submitted.delete(oldest);
      }
      this.submitted.set(e.commandId, e.at);
      return;
    }
    if (!isTerminalCommandState(e.state)) return;
    const at = this.submitted.get(e.commandId);
    if (at === undefined) return;
    this.submitted.delete(e.commandId);
    this.observe(e.type, e.state, Math.max(0, e.at - at) / 1000);
  }

  /** Forgets commands submitted before `before` that never ended here (another replica's, say). */
  forget(before: number): void {
    for (const [id, at] of this.submitted) {
      if (at >= before) break;
      this.submitted.delete(id);
    }
  }

  get tracked(): number {
    return this.submitted.size;
  }
}
