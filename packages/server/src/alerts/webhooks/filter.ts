import { matchesSelector, parseSelector, type Labels, type Selector, type WebhookFilter } from '@steward/protocol';
import { matchesTypePattern } from '../settings.js';

/** What an event offers a filter: absent facts never match a filter that asks for them. */
export interface EventFacts {
  /** Command type, task kind, service name or alert source. */
  type?: string;
  state?: string | null;
  /** The labels of the event's node; undefined when the event has no single node (a job). */
  labels?: Labels;
}

/** A webhook's filter, parsed once; every field it sets must match. */
export class WebhookMatcher {
  private readonly selector: Selector | null;

  constructor(private readonly filter: WebhookFilter | null) {
    this.selector = filter?.selector ? parseSelector(filter.selector, 'filter.selector') : null;
  }

  /** True when matching needs the node's labels (so callers load them only then). */
  get needsLabels(): boolean {
    return this.selector !== null;
  }

  matches(f: EventFacts): boolean {
    if (!this.filter) return true;
    if (this.filter.types && (f.type === undefined || !matchesTypePattern(this.filter.types, f.type))) return false;
    if (this.filter.states && (f.state == null || !this.filter.states.includes(f.state))) return false;
    if (this.selector && (f.labels === undefined || !matchesSelector(f.labels, this.selector))) return false;
    return true;
  }
}
