/**
 * Alerts to a webhook when something needs a person: a key revoked or out of quota, an upstream
 * that keeps failing, a budget past its soft threshold. Each incident is sent once per `throttle`
 * (never one message per failed request), in a generic JSON body or one Slack, Feishu or Matrix
 * accept.
 */
import type { AlertsConfig } from '../config/schema.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import type { Clock } from '../util/clock.js';

interface Alert {
  /** Names the incident: the same id within the throttle window is sent once. */
  id: string;
  event: 'key_revoked' | 'key_over_quota' | 'upstream_failing' | 'budget_soft_limit' | 'store_down';
  message: string;
  details: Record<string, unknown>;
}

export interface Alerts {
  notify(alert: Alert): void;
  /** Resolves when every alert sent so far has been delivered (or given up on). */
  settled(): Promise<void>;
}

export function createAlerts(config: AlertsConfig, clock: Clock, log: Diagnostics): Alerts {
  const lastSent = new Map<string, number>();
  const pending = new Set<Promise<void>>();
  let failures = 0;
  return {
    notify(alert) {
      const now = clock.now();
      const last = lastSent.get(alert.id);
      if (last !== undefined && now - last < config.throttle) return;
      lastSent.set(alert.id, now);
      const delivery = fetch(config.webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(bodyFor(config.format, alert, new Date(now).toISOString())),
        signal: AbortSignal.timeout(10_000),
      })
        .then((res) => {
          if (!res.ok) throw new Error(`the webhook answered ${res.status}`);
        })
        .catch((err: Error) => {
          if (failures++ === 0)
            log.warn('could not deliver an alert; further failures are only counted', { error: err.message });
        })
        .finally(() => pending.delete(delivery));
      pending.add(delivery);
    },
    settled: async () => {
      await Promise.all([...pending]);
    },
  };
}

function bodyFor(format: AlertsConfig['format'], alert: Alert, at: string): unknown {
  const text = `aifd: ${alert.message}`;
  switch (format) {
    case 'slack':
      return { text };
    case 'feishu':
      return { msg_type: 'text', content: { text } };
    case 'matrix':
      return { msgtype: 'm.text', body: text };
    default:
      return { source: 'aifd', event: alert.event, message: alert.message, details: alert.details, at };
  }
}
