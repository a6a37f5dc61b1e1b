/**
 * The count as text (`RenderContext.formattedCount`, the badge): per `locale` when given
 * (`'en-US'`: `1,234`), else plain digits. Throws a RangeError for a locale Intl rejects.
 */
export function countFormatter(locale: string | readonly string[] | undefined): (count: number) => string {
  if (locale === undefined) return String;
  const format = new Intl.NumberFormat(locale as string | string[]);
  return (count) => format.format(count);
}
