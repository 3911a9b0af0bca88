/** `sk-proj-abc…wxyz` → `sk-…wxyz`: the prefix family and the last four characters only. */
export function maskKey(secret: string): string {
  if (secret.length < 12) return '…' + secret.slice(-2);
  const prefix = secret.startsWith('sk-') ? 'sk-' : '';
  return `${prefix}…${secret.slice(-4)}`;
}
