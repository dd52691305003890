/**
 * The dashboards a cluster serves: started on demand (the server, prom-client and the page are loaded only
 * then), told when the cluster closes, and closed with it unless they `hold` its last state.
 */
import { ClusterClosedError } from '../errors.js';
import { fillDashboardOptions, type DashboardOptions } from '../options.js';
import type { DashboardSource } from './collector.js';
import type { Dashboard, DashboardServer } from './server.js';

export class ClusterDashboards {
  readonly #source: DashboardSource;
  readonly #isClosing: () => boolean;
  readonly #open = new Set<Dashboard>();
  readonly #configured: DashboardOptions | true | undefined;

  /** `configured`: the cluster's `dashboard` option, checked now so a bad one fails before any worker starts. */
  constructor(source: DashboardSource, isClosing: () => boolean, configured: DashboardOptions | true | undefined) {
    this.#source = source;
    this.#isClosing = isClosing;
    if (configured) fillDashboardOptions(configured);
    this.#configured = configured;
  }

  /** The first open dashboard's address. */
  get url(): string | undefined {
    for (const dashboard of this.#open) return dashboard.url;
    return undefined;
  }

  async serve(options: DashboardOptions | true = {}): Promise<DashboardServer> {
    if (this.#isClosing()) throw new ClusterClosedError();
    const filled = fillDashboardOptions(options);
    const { Dashboard } = await import('./server.js');
    const dashboard = await Dashboard.start(this.#source, filled);
    if (this.#isClosing()) {
      await dashboard.close();
      throw new ClusterClosedError();
    }
    this.#open.add(dashboard);
    return {
      url: dashboard.url,
      close: () => {
        this.#open.delete(dashboard);
        return dashboard.close();
      },
    };
  }

  /** Starts the dashboard the cluster's options ask for, if any. */
  async serveConfigured(): Promise<void> {
    if (this.#configured) await this.serve(this.#configured);
  }

  /** Closes the dashboards that do not `hold`: the cluster's `dashboardUrl` then names a held one, or none. */
  async clusterClosed(): Promise<void> {
    await Promise.all(
      [...this.#open].map(async (dashboard) => {
        if (!(await dashboard.clusterClosed())) this.#open.delete(dashboard);
      }),
    );
  }
}
