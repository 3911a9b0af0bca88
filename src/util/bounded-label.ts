/**
 * A label value from something clients write (a model name): the first `max` distinct values keep
 * their own, the rest (and very long ones) become "other", so a metric's series stay bounded.
 */
export function boundedLabel(max: number): (value: string | null | undefined) => string {
  const seen = new Set<string>();
  return (value) => {
    if (!value) return 'none';
    if (seen.has(value)) return value;
    if (seen.size >= max || value.length > 80) return 'other';
    seen.add(value);
    return value;
  };
}
