/** Long operations report what they are doing; each front end renders it its own way. */
export type Progress = (message: string, fraction?: number) => void;

export interface OpContext {
  progress?: Progress;
  signal?: AbortSignal;
}
