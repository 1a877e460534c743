import { relative } from 'node:path';
import { formatDiagnostic, type Diagnostic } from './rules/diagnostics.js';

/** What a command prints and its exit code; the CLI writes it out, tests read it. */
export interface CommandOutput {
  code: number;
  stdout: string[];
  stderr: string[];
}

/** A diagnostic as the commands print it: file:line:col: CODE message, the file relative to the working directory. */
export function showDiagnostic(d: Diagnostic): string {
  return formatDiagnostic({ ...d, file: relative(process.cwd(), d.file) || d.file });
}
