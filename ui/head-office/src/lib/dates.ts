/** Local calendar days as `YYYY-MM-DD`, the form the API takes. */

export function isoDay(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** `day` moved by `days` (negative: earlier). */
export function addDays(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return isoDay(new Date(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + days));
}

export const today = (): string => isoDay(new Date());

/** The same weekday a week earlier. */
export const sameDayLastWeek = (day: string): string => addDays(day, -7);

/** The same weekday a year earlier: 52 weeks before, as retail compares days. */
export const sameDayLastYear = (day: string): string => addDays(day, -364);

/** A duration in milliseconds as "3 min", "2 h 05", "4 j" / "4 d". */
export function duration(ms: number, lang: 'fr' | 'en'): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, '0')}`;
  return `${Math.floor(hours / 24)} ${lang === 'fr' ? 'j' : 'd'}`;
}
