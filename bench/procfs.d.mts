export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** `R`, `S`, … `Z` for a zombie. */
  state: string;
}

/** Every process now in /proc; one that exits while being read is left out. */
export function processes(): ProcessEntry[];
