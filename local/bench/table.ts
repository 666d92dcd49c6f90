// A tiny fixed-width table: every benchmark prints its figure beside the baseline measured in the same run.

export interface BenchRow {
  metric: string;
  figure: number;
  baseline: number;
  /** Decimal places shown (default 0). */
  digits?: number;
}

export interface BenchTable {
  title: string;
  /** Column headers: what produced the figure, what produced the baseline. */
  figureLabel: string;
  baselineLabel: string;
  rows: BenchRow[];
  notes?: string[];
}

const format = (value: number, digits = 0): string =>
  value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** figure ÷ baseline; "n/a" when the baseline is 0. */
export function ratio(figure: number, baseline: number): string {
  return baseline === 0 ? "n/a" : `${format(figure / baseline, 2)}×`;
}

export function formatTable(table: BenchTable): string {
  const header = ["metric", table.figureLabel, table.baselineLabel, "ratio"];
  const body = table.rows.map((row) => [
    row.metric,
    format(row.figure, row.digits),
    format(row.baseline, row.digits),
    ratio(row.figure, row.baseline),
  ]);
  const widths = header.map((cell, i) => Math.max(cell.length, ...body.map((line) => line[i]?.length ?? 0)));
  // The metric column is left-aligned, numbers right-aligned.
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ");
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  const notes = (table.notes ?? []).map((note) => `  ${note}`);
  return [`## ${table.title}`, line(header), rule, ...body.map(line), ...notes].join("\n");
}
