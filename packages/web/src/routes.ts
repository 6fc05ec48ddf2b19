import type { ComponentType } from 'react';
import { AlertsView } from './views/alerts.js';
import { BackupsView } from './views/backups.js';
import { ServiceView } from './views/service/service.js';
import { ServicesView } from './views/services.js';
import { SessionsView } from './views/sessions.js';
import { TaskView } from './views/task/task.js';
import { TasksView } from './views/tasks.js';
import { CommandView } from './views/command.js';
import { ConfigView } from './views/config.js';
import { CommandsView } from './views/commands.js';
import { EnrollView } from './views/enroll.js';
import { JobView } from './views/job.js';
import { JobsView } from './views/jobs.js';
import { NodeView } from './views/node/node.js';
import { NodesView } from './views/nodes.js';
import { OverviewView } from './views/overview/overview.js';
import { UpgradeView } from './views/upgrade.js';
import { UpgradesView } from './views/upgrades.js';

export interface RouteDef {
  /** `/things/:id` style; params reach the view as props. */
  path: string;
  view: ComponentType<{ params: Record<string, string> }>;
  /** Shown in the side navigation when set. */
  nav?: string;
}

/** Every page of the dashboard. Adding a view: a file in views/ and one line here. */
export const ROUTES: RouteDef[] = [
  { path: '/', view: OverviewView, nav: 'Overview' },
  { path: '/nodes', view: NodesView, nav: 'Nodes' },
  { path: '/nodes/:id', view: NodeView },
  { path: '/commands', view: CommandsView, nav: 'Commands' },
  { path: '/commands/:id', view: CommandView },
  { path: '/jobs', view: JobsView, nav: 'Jobs' },
  { path: '/jobs/:id', view: JobView },
  { path: '/alerts', view: AlertsView, nav: 'Alerts' },
  { path: '/tasks', view: TasksView, nav: 'Tasks' },
  { path: '/tasks/:id', view: TaskView },
  { path: '/services', view: ServicesView, nav: 'Services' },
  { path: '/services/:name', view: ServiceView },
  { path: '/backups', view: BackupsView, nav: 'Backups' },
  { path: '/sessions', view: SessionsView, nav: 'Sessions' },
  { path: '/config', view: ConfigView, nav: 'Config' },
  { path: '/upgrades', view: UpgradesView, nav: 'Upgrades' },
  { path: '/upgrades/:id', view: UpgradeView },
  { path: '/enroll', view: EnrollView, nav: 'Enroll' },
];
