/** Long operations report what they are doing; each front end renders it its own way. */
export type Progress = (message: string, fraction?: number) => void;

export interface OpContext {
  progress?: Progress;
  signal?: AbortSignal;
  /** who asked, for the audit log: the front end and, where it knows, the caller */
  caller?: { front_end: string; id?: string | undefined };
}
