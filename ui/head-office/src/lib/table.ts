/** A column of a sortable table (components/SortTable.svelte). */
export interface Column<R> {
  id: string;
  label: string;
  /** What the column sorts on. */
  sort: (row: R) => string | number | bigint;
  /** What the cell shows. */
  show: (row: R) => string;
  numeric?: boolean;
  /** A link for the cell (drill-down). */
  link?: (row: R) => string;
}
