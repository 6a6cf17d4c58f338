/**
 * The status bar's loop: polls every configured server (StatusPoller) at the configured interval
 * and sends the client one StatusNotification per poll. A server the poll finds back, or gone, is
 * handed to the registry so the diagnostics follow within one poll.
 */
import type { Connection } from 'vscode-languageserver';
import { StatusNotification, type StatusParams } from '../../../shared/protocol';
import { settingsDefaults } from '../../../shared/settings';
import { StatusPoller, summarizeStatus } from '../io/probe/statusPoller';
import type { ConfigRegistry } from './configRegistry';

export class StatusLoop {
  private readonly poller: StatusPoller;
  private timer?: NodeJS.Timeout;
  /** Bumped on every restart, so a poll still running from before schedules nothing. */
  private generation = 0;
  /** The last load test's one-line summary, shown in the status bar's tooltip. */
  private lastTest?: string;

  constructor(
    private readonly connection: Pick<Connection, 'sendNotification' | 'console'>,
    private readonly registry: ConfigRegistry,
  ) {
    // Until the first poll reads the settings (restart), the poller works with the defaults.
    this.poller = new StatusPoller({
      connectTimeoutMs: settingsDefaults.connectTimeoutMs,
      headroomThreshold: settingsDefaults.headroomThreshold,
    });
    registry.onServersChanged((servers) => this.poller.watch(servers));
  }

  /** A load test finished: its summary goes out with the next poll. */
  recordTest(summary: string): void {
    this.lastTest = summary;
  }

  /**
   * Whether the client asked for status notifications (`initializationOptions.statusNotifications`):
   * a client that shows no status bar causes no kept-open status connection.
   */
  enabled = false;

  /** Polls now, then every interval; a poll from before the restart schedules nothing. */
  restart(): void {
    if (!this.enabled) return;
    clearTimeout(this.timer);
    const generation = ++this.generation;
    const tick = async () => {
      const settings = await this.registry.currentSettings();
      this.poller.setOptions({
        connectTimeoutMs: settings.connectTimeoutMs,
        headroomThreshold: settings.headroomThreshold,
      });
      const status = await this.status(settings.statusPollIntervalMs, generation);
      if (generation !== this.generation) return;
      void this.connection.sendNotification(StatusNotification.type, status);
      if (this.registry.trusted && settings.statusPollIntervalMs > 0) {
        this.timer = setTimeout(() => void tick().catch(this.logFailure), settings.statusPollIntervalMs);
      }
    };
    void tick().catch(this.logFailure);
  }

  private async status(intervalMs: number, generation: number): Promise<StatusParams> {
    if (!this.registry.trusted) return { state: 'untrusted', servers: [], readAt: Date.now() };
    if (intervalMs === 0) return { state: 'off', servers: [], readAt: Date.now() };
    const servers = await this.poller.poll();
    if (generation === this.generation) this.registry.followPolledStates(servers);
    return {
      state: servers.length ? 'polling' : 'off',
      servers,
      ...summarizeStatus(servers),
      readAt: Date.now(),
      lastTest: this.lastTest,
    };
  }

  private readonly logFailure = (error: unknown) =>
    this.connection.console.error(this.registry.scrub(`status poll failed: ${String(error)}`));

  async dispose(): Promise<void> {
    clearTimeout(this.timer);
    this.generation++;
    await this.poller.dispose();
  }
}
