/**
 * Resolves once `check` returns something, asking again after each turn (or `everyMs`); fails after
 * `ms`. For conditions another process brings about (a log line written, a worker replaced), where
 * there is no event in this process to wait on.
 */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 5000, everyMs = 0): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('the condition never held');
    await new Promise((resolve) => (everyMs > 0 ? setTimeout(resolve, everyMs) : setImmediate(resolve)));
  }
}
