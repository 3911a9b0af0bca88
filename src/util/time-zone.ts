/** Whether Intl knows `timeZone` (an IANA name such as UTC or Europe/Berlin). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
