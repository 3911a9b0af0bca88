/** `aifd usage` in a terminal: a bar a day, as long as that day's spend (its requests when nothing is priced). */
import chalk from 'chalk';
import type { UsageGroup } from '../usage/report.js';

const BAR_WIDTH = 40;

export function dayBars(days: readonly UsageGroup[]): string {
  if (days.length === 0) return '';
  const byCost = days.some((day) => day.costUsd > 0);
  const value = (day: UsageGroup) => (byCost ? day.costUsd : day.requests);
  const most = Math.max(...days.map(value));
  const lines = [...days]
    .sort((a, b) => a.group.localeCompare(b.group))
    .map((day) => {
      // A day with anything at all shows at least a sliver: an empty bar says nothing was spent.
      const cells = most > 0 ? Math.max(value(day) > 0 ? 1 : 0, Math.round((value(day) / most) * BAR_WIDTH)) : 0;
      const bar = chalk.cyan('█'.repeat(cells)) + ' '.repeat(BAR_WIDTH - cells);
      const cost = byCost ? `$${day.costUsd.toFixed(4)}` : '';
      return `${day.group}  ${bar}  ${cost.padStart(10)}  ${String(day.requests).padStart(6)} req  ${String(day.errors).padStart(4)} err`;
    });
  return `${chalk.bold(byCost ? 'spend per day' : 'requests per day')}\n${lines.join('\n')}\n`;
}
