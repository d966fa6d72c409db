import { createRequire } from 'node:module';
import type * as Cel from '@bufbuild/cel';

const require = createRequire(import.meta.url);
let cel: typeof Cel | undefined;

/**
 * @bufbuild/cel, loaded at the first CEL expression parsed (synchronously: Node's require of
 * an ES module, since zod's refinements are synchronous). A controller with no Canary that
 * writes a condition does not carry its 127 modules (about 5 MB, docs/performance.md).
 */
export function celLibrary(): typeof Cel {
  cel ??= require('@bufbuild/cel') as typeof Cel;
  return cel;
}
