/**
 * The one door to OpenTelemetry: the SDK (otlp.ts) is imported only when `telemetry.otlp` is set,
 * so a gateway without it never loads a byte of OpenTelemetry.
 */
import type { HubConfig } from '../config/schema.js';
import type { Diagnostics } from '../logs/diagnostics.js';
import type { Telemetry } from './telemetry.js';

/** The OTLP exporter when `telemetry.otlp` is set; undefined (and nothing loaded) otherwise. */
export async function openTelemetry(config: HubConfig, log: Diagnostics): Promise<Telemetry | undefined> {
  const otlp = config.telemetry.otlp;
  if (!otlp) return undefined;
  const { startOtlpTelemetry } = await import('./otlp.js');
  return startOtlpTelemetry(otlp, log);
}
