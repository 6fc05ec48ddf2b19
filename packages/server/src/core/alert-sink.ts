/** An alert raised by something on the control plane (a monitor, a service gone fatal, a node offline). */
export interface AlertInput {
  /** De-duplication key: firing the same key again updates the open alert instead of adding one. */
  key: string;
  /** Who raised it: `monitor`, `service`, `node`, `command`… */
  source: string;
  nodeId?: string | null;
  severity: 'info' | 'warning' | 'critical';
  summary: string;
  details?: unknown;
}

/**
 * How any part of the control plane raises and resolves alerts. The alerts feature installs the
 * real one on `ctx.alerts`; until then (or without it) alerts go to the log only.
 */
export interface AlertSink {
  fire(alert: AlertInput): Promise<void>;
  resolve(key: string, summary?: string): Promise<void>;
}
