/**
 * What the stages of a request read from the running gateway: a view narrower than the hub, so
 * the stages depend on it and the hub on them, not both on each other.
 */
import type { Authenticator } from '../auth/authenticate.js';
import type { NetworkPolicy } from '../auth/network.js';
import type { ResponseCache } from '../cache/response-cache.js';
import type { HubConfig } from '../config/schema.js';
import type { Limits } from '../limits/limits.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { Clock } from '../util/clock.js';
import type { Forwarder } from './forward.js';
import type { ModelRouter } from './model-routing.js';
import type { RouteTable } from './routes.js';

export interface StageDeps {
  readonly config: HubConfig;
  readonly routes: RouteTable;
  readonly router: ModelRouter;
  readonly forwarder: Forwarder;
  readonly log: Diagnostics;
  readonly clock: Clock;
  readonly network: NetworkPolicy;
  readonly authenticator: Authenticator | undefined;
  readonly limits: Limits | undefined;
  readonly cache: ResponseCache | undefined;
  /** OpenTelemetry export, once `listen()` started it; undefined unless telemetry.otlp is set. */
  readonly telemetry: Telemetry | undefined;
  isShuttingDown(): boolean;
}
