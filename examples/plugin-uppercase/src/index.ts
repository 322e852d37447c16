// A complete third-party plugin: spec (drives validation, `platform plugins` and docs) + class + ContainerModule.
// A manifest loads it with `plugins: [platform-plugin-uppercase]` and uses it as `use: uppercase`.
import {
  configSchema,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type Row,
  type Transform,
  type TransformContext,
} from '@platform/sdk';

export type UppercaseConfig = ConfigOf<typeof CONFIG>;

@injectable()
export class Uppercase implements Transform {
  constructor(@inject(TOKENS.Config) private readonly config: UppercaseConfig) {}

  process(records: Row[], ctx: TransformContext): Row[] {
    const out: Row[] = [];
    for (const record of records) {
      const bad = this.config.fields.filter((f) => record[f] != null && typeof record[f] !== 'string');
      if (bad.length && this.config.nonString === 'reject') {
        ctx.reject(
          record,
          bad.map((f) => `${f}: not a string`),
        );
        continue;
      }
      const copy = { ...record };
      for (const field of this.config.fields)
        if (typeof copy[field] === 'string') copy[field] = (copy[field] as string).toUpperCase();
      out.push(copy);
    }
    return out;
  }
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['fields'],
  properties: {
    fields: {
      type: 'array',
      items: { type: 'string' },
      minItems: 1,
      description: 'Fields to upper-case.',
      examples: [['country']],
    },
    nonString: {
      enum: ['keep', 'reject'],
      default: 'keep',
      description: 'A non-string value is kept as it is, or the record is rejected.',
    },
  },
});

export default pluginModule(
  {
    kind: 'transform',
    name: 'uppercase',
    summary: 'Upper-cases the given string fields (example third-party plugin).',
    stability: 'stable',
    config: CONFIG,
    examples: [
      {
        title: 'Country codes in capitals',
        yaml: 'normalise:\n  use: uppercase\n  from: raw\n  with:\n    fields: [country]\n',
      },
    ],
  },
  Uppercase,
);
