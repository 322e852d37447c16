import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifest, ManifestError } from '../../core/manifest/index.ts';
import { Pipeline } from '../../core/runtime/pipeline.ts';
import { MemoryLogger } from '../../core/sdk/logger.ts';
import { createCatalog } from '../catalog.ts';

/** Validates every manifest given; prints each error as file:line:col path: message. */
export async function validateCommand(files: string[]): Promise<number> {
  let invalid = 0;
  for (const file of files) {
    try {
      const catalog = createCatalog();
      const manifest = await loadManifest(file, catalog);
      // Plugins check what their schema cannot (e.g. a widget's query parameters); nothing is opened or run.
      const problems = new Pipeline(manifest, catalog, {
        stateDir: mkdtempSync(join(tmpdir(), 'platform-validate-')),
        logger: new MemoryLogger(),
      }).check();
      if (problems.length) {
        invalid++;
        process.stderr.write(problems.join('\n') + '\n');
        continue;
      }
      process.stdout.write(
        `${file}: ok (${manifest.steps.length} steps, ${manifest.connections.length} connections)\n`,
      );
    } catch (error) {
      invalid++;
      if (error instanceof ManifestError) process.stderr.write(error.message + '\n');
      else if ((error as NodeJS.ErrnoException).code === 'ENOENT') process.stderr.write(`${file}: no such file\n`);
      else throw error;
    }
  }
  return invalid ? 2 : 0;
}
