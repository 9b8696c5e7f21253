// CronJob schedules as Kubernetes accepts them: five fields or a descriptor (@hourly, @daily, ...),
// parsed by cron-parser, which the CronJob controller also uses to find the next run.
import { CronExpressionParser } from 'cron-parser';

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

export function parseCron(schedule: string): { error?: string } {
  const text = schedule.trim();
  if (!text.startsWith('@') && text.split(/\s+/).length !== 5)
    return { error: `expected exactly 5 fields, found ${text.split(/\s+/).length}: ${text}` };
  if (text.startsWith('@') && !DESCRIPTORS.has(text)) return { error: `unrecognized descriptor: ${text}` };
  try {
    CronExpressionParser.parse(text);
    return {};
  } catch (err) {
    return { error: (err as Error).message };
  }
}
