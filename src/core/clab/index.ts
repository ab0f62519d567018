/**
 * containerlab files in and out, as pure functions (no Docker, no store): `importClab` makes a
 * `.clab.yml` file and the files it binds into our topology spec with warnings for what cannot be
 * honoured; `exportClab` writes a lab back out as a `.clab.yml` file and the files it binds.
 */
export { exportClab } from './export.js';
export { importClab, MGMT_NETWORK } from './import.js';
export { bindSources } from './sources.js';
export type { ClabExportInput, ClabExportResult, ClabImportInput, ClabImportResult, ExportNode } from './types.js';
