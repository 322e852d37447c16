import { loadManifest, ManifestError } from '../../core/manifest/index.ts';
import { createCatalog } from '../catalog.ts';

/** Validates every manifest given; prints each error as file:line:col path: message. */
export async function validateCommand(files: string[]): Promise<number> {
  let invalid = 0;
  for (const file of files) {
    try {
      const manifest = await loadManifest(file, createCatalog());
      process.stdout.write(`${file}: ok (${manifest.steps.length} steps, ${manifest.connections.length} connections)\n`);
    } catch (error) {
      invalid++;
      if (error instanceof ManifestError) process.stderr.write(error.message + '\n');
      else if ((error as NodeJS.ErrnoException).code === 'ENOENT') process.stderr.write(`${file}: no such file\n`);
      else throw error;
    }
  }
  return invalid ? 2 : 0;
}
