import type { ActiveRequests } from './active-requests.js';
import type { RequestContext } from './context.js';
import { destroyUpstreamRuntime, type UpstreamRuntime } from './upstreams.js';

/** Upstream runtimes a reload replaced, each closed once no request in flight holds it. */
export class RetiredUpstreams {
  private readonly retired = new Set<UpstreamRuntime>();

  constructor(private readonly active: ActiveRequests<RequestContext>) {}

  add(upstreams: Iterable<UpstreamRuntime>): void {
    for (const upstream of upstreams) this.retired.add(upstream);
    this.closeUnused();
  }

  closeUnused(): void {
    if (this.retired.size === 0) return;
    for (const upstream of this.retired) {
      const held = this.active.some(
        (ctx) => ctx.upstream === upstream || ctx.targets?.some((target) => target.upstream === upstream),
      );
      if (held) continue;
      this.retired.delete(upstream);
      destroyUpstreamRuntime(upstream);
    }
  }

  destroyAll(): void {
    for (const upstream of this.retired) destroyUpstreamRuntime(upstream);
  }
}
