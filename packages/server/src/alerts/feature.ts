import type { AgentLink } from '../agents/link.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { CommandFailureAlerts } from './command-alerts.js';
import { registerAlertMetrics } from './metrics.js';
import { MonitorAlerts } from './monitor-alerts.js';
import { NodeOfflineAlerts } from './node-alerts.js';
import { alertRoutes, webhookRoutes } from './routes.js';
import { AlertService } from './service.js';
import { DestinationPolicy } from '../security/destinations.js';
import { alertSettingsFrom } from './settings.js';
import { WebhookDeliverer } from './webhooks/deliverer.js';
import { WebhookEventNotifier } from './webhooks/event-notifier.js';
import { WebhookService } from './webhooks/service.js';

/**
 * Alerts (from monitors, offline nodes and, if asked, failed commands) with acknowledgement,
 * SSE events and signed webhook notifications. Installs the real sink on `ctx.alerts`.
 */
export function alertsFeature(deps: { ctx: Context; link: Pick<AgentLink, 'modules'>; replicaId: string; options?: { webhookAllow?: string[] } }): Feature {
  const { ctx } = deps;
  const settings = alertSettingsFrom(process.env, deps.options?.webhookAllow);
  const destinations = new DestinationPolicy(settings.webhook.allow);
  const deliverer = new WebhookDeliverer(ctx, settings.webhook, deps.replicaId, destinations);
  const alerts = new AlertService(ctx, () => deliverer.kick());
  ctx.alerts = alerts;
  registerAlertMetrics(ctx);
  const notifier = new WebhookEventNotifier(ctx, () => deliverer.kick());
  const webhooks = new WebhookService(ctx, destinations, () => notifier.invalidate());
  new MonitorAlerts(ctx, alerts).register(deps.link);
  const offline = new NodeOfflineAlerts(ctx, alerts, settings.nodeOfflineDelayMs);
  const unsubscribeFailures = new CommandFailureAlerts(ctx, alerts, settings.failedCommandTypes).subscribe();
  const unsubscribeEvents = notifier.subscribe();
  let draining = false;
  return {
    name: 'alerts',
    routes(api) {
      alertRoutes(api, ctx, alerts);
      webhookRoutes(api, webhooks);
    },
    async start() {
      // Deliveries left pending by a previous process go out now.
      deliverer.kick();
    },
    async sweep(now) {
      if (draining) return;
      await offline.sweep(now);
      deliverer.kick();
    },
    async drain() {
      draining = true;
      unsubscribeFailures();
      unsubscribeEvents();
      await deliverer.stop();
    },
  };
}
