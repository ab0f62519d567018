/**
 * A plan carried out as steps (in the manner of containerlab's resolve -> deploy/remove): whoever
 * plans builds a list of steps from pure data, and one executor (./run.ts) runs them. Adding work
 * to an operation is adding a step with its own undo, never editing a separate rollback.
 */
import type { Progress } from '../progress.js';

/** One unit of work: what it does in words, how to do it, and how to take it back. */
export interface Step {
  /** what the step does, as a user reads it in progress and in what a rollback left ("network lab-core") */
  describe: string;
  apply(signal?: AbortSignal): Promise<void>;
  /** take back what apply did; absent where nothing can or need be taken back (a check, a removal) */
  undo?(): Promise<void>;
}

/**
 * Steps that may run together. Every step of a phase settles before the next phase starts, so a
 * phase is how a plan says "networks before the containers on them".
 */
export interface Phase<S extends Step = Step> {
  steps: readonly S[];
  /** at most this many steps of the phase at a time, undos too (default: all at once) */
  concurrency?: number;
  /** a failing step does not stop the others of its phase (each is tried); the run fails after the phase */
  keepGoing?: boolean;
  /** said as the phase starts, if it has steps */
  title?: string;
  /** the part of the progress bar the phase fills (default: its share of all steps) */
  span?: readonly [from: number, to: number];
  /** what is said as each step settles (undefined: nothing). Default: "<describe> done (k/n)" */
  say?(step: S, count: { done: number; total: number; failed: boolean }): string | undefined;
}

export interface RunOptions {
  progress?: Progress | undefined;
  /** checked before each step starts: once aborted, nothing more starts and the run is cancelled */
  signal?: AbortSignal | undefined;
  /** on failure or cancellation, undo the applied steps newest first (default); false keeps them */
  rollback?: boolean;
  /** told as a rollback starts (even one with nothing to undo), with the steps about to be undone */
  onRollback?(applied: readonly Step[]): void;
}

export interface StepFailure<S extends Step = Step> {
  step: S;
  error: unknown;
}

export interface RunResult<S extends Step = Step> {
  ok: boolean;
  /** steps whose apply threw, in the order they failed */
  failures: StepFailure<S>[];
  cancelled: boolean;
  /** applied steps, in the order they finished (those undone included) */
  applied: S[];
  /** how many applied steps were undone */
  undone: number;
  /** undos that failed, as "describe: why": what the rollback left behind */
  leftovers: string[];
}
