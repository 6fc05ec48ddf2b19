import type { Logger } from 'pino';
import { compile, type TSchema, type Validator } from '@steward/protocol';

/** What the control plane does with one agent module's reports and events. */
export interface ModuleHandler {
  /** Schema of the module's heartbeat/hello report; a report that fails it is logged and dropped. */
  reportSchema?: TSchema;
  /** Schemas of the module's events by event name; events not listed are dropped. */
  eventSchemas?: Record<string, TSchema>;
  report?(nodeId: string, report: unknown, at: number): Promise<void>;
  event?(nodeId: string, event: string, data: unknown, at: number): Promise<void>;
}

interface Entry {
  handler: ModuleHandler;
  report?: Validator<TSchema>;
  events: Map<string, Validator<TSchema>>;
}

/**
 * Features register here for the agent modules they understand, so a new module's
 * control-plane half plugs in without touching the gateway.
 */
export class ModuleHandlers {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly log: Logger) {}

  register(module: string, handler: ModuleHandler): void {
    if (this.entries.has(module)) throw new Error(`a handler for agent module ${module} is already registered`);
    this.entries.set(module, {
      handler,
      report: handler.reportSchema ? compile(handler.reportSchema) : undefined,
      events: new Map(Object.entries(handler.eventSchemas ?? {}).map(([k, s]) => [k, compile(s)])),
    });
  }

  async reports(nodeId: string, reports: Record<string, unknown> | undefined, at: number): Promise<void> {
    if (!reports) return;
    for (const [module, report] of Object.entries(reports)) {
      const entry = this.entries.get(module);
      if (!entry?.handler.report) continue;
      if (entry.report && !entry.report.check(report)) {
        this.log.warn({ nodeId, module, err: tryParse(entry.report, report) }, 'agent module report does not match its schema; dropped');
        continue;
      }
      await entry.handler.report(nodeId, report, at);
    }
  }

  async event(nodeId: string, module: string, event: string, data: unknown, at: number): Promise<void> {
    const entry = this.entries.get(module);
    if (!entry?.handler.event) return;
    const v = entry.events.get(event);
    if (!v) return void this.log.debug({ nodeId, module, event }, 'agent module event nobody handles; dropped');
    if (!v.check(data)) {
      this.log.warn({ nodeId, module, event, err: tryParse(v, data) }, 'agent module event does not match its schema; dropped');
      return;
    }
    await entry.handler.event(nodeId, event, data, at);
  }
}

function tryParse(v: Validator<TSchema>, value: unknown): unknown {
  try {
    v.parse(value);
    return undefined;
  } catch (e) {
    return e;
  }
}
