import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The root folder of this package: the checkout when run from src/ (tsx),
 * the installed package when run from dist/ (both are two levels up from
 * this file). What the pipeline reads at run time — migrations/, schemas/,
 * connectors/ — is found here, whatever the working directory.
 */
export const packageRoot: string = fileURLToPath(new URL('../../', import.meta.url));

/** A path inside this package. */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot, ...parts);
}
