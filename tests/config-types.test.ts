// One source of truth for a plugin's config (issue 17, item 3): every registered plugin's spec.config is built with
// configSchema(), and the config its class is given (`@inject(TOKENS.Config)`) has the type ConfigOf (or DeclaredOf)
// of that very schema — never a hand-written interface that can drift from it. Read with the TypeScript compiler
// from the sources of the plugins the runtime registers (plugins/builtin.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PluginCatalog } from '../core/sdk/container.ts';
import { builtinPluginModules } from '../plugins/builtin.ts';
import { repoRoot } from './cli.ts';

/** The derived config types: a config parameter's type must come down to one of these. */
const DERIVED = new Set(['ConfigOf', 'DeclaredOf']);

/** What is wrong with each plugin's config declaration, by `<kind> <name>` (empty when nothing is). */
function configDeclarations(entry: string, within = join(repoRoot, 'plugins')): Map<string, string[]> {
  const configFile = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), ts.sys.readFile);
  const options = ts.parseJsonConfigFileContent(configFile.config, ts.sys, repoRoot).options;
  const program = ts.createProgram([entry], { ...options, noEmit: true });
  const checker = program.getTypeChecker();
  const found = new Map<string, string[]>();

  /** The declaration a name stands for, through imports. */
  const declarationOf = (node: ts.Node): ts.Declaration | undefined => {
    let symbol = checker.getSymbolAtLocation(node);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    return symbol?.declarations?.[0];
  };
  const isConfigSchemaCall = (node: ts.Expression | undefined): boolean =>
    !!node && ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'configSchema';

  /** The schema declaration `config:` names: a const, or the function whose call builds it (fileSinkConfig('csv')). */
  const schemaOf = (expression: ts.Expression): ts.Declaration | undefined =>
    declarationOf(ts.isCallExpression(expression) ? expression.expression : expression);

  /** Problems of the schema's declaration: it must be `configSchema(...)`, or a function returning one. */
  const schemaProblems = (declaration: ts.Declaration | undefined, at: string): string[] => {
    if (declaration && ts.isVariableDeclaration(declaration) && isConfigSchemaCall(declaration.initializer)) return [];
    if (declaration && ts.isFunctionDeclaration(declaration) && declaration.body) {
      const returns = declaration.body.statements.filter(ts.isReturnStatement);
      if (returns.length && returns.every((r) => isConfigSchemaCall(r.expression))) return [];
    }
    return [`spec.config (${at}) is not built with configSchema(...)`];
  };

  /** The class a pluginModule's implementation argument names: a class, or the class a factory function returns. */
  const classOf = (expression: ts.Expression): ts.ClassLikeDeclaration | undefined => {
    const declaration = declarationOf(ts.isCallExpression(expression) ? expression.expression : expression);
    if (declaration && ts.isClassDeclaration(declaration)) return declaration;
    let inner: ts.ClassLikeDeclaration | undefined;
    const visit = (node: ts.Node): void => {
      if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) inner ??= node;
      else ts.forEachChild(node, visit);
    };
    if (declaration) ts.forEachChild(declaration, visit);
    return inner;
  };

  /** The constructor parameter decorated with @inject(TOKENS.Config). */
  const configParameter = (cls: ts.ClassLikeDeclaration): ts.ParameterDeclaration | undefined =>
    cls.members
      .filter(ts.isConstructorDeclaration)
      .flatMap((c) => [...c.parameters])
      .find((p) => (ts.getDecorators(p) ?? []).some((d) => /^inject\(TOKENS\.Config\)$/.test(d.expression.getText())));

  /**
   * Follows type aliases from the parameter's type to ConfigOf/DeclaredOf<typeof X> (or <ReturnType<typeof f>>) and
   * returns X's (f's) declaration; a hand-written interface or object type is a problem.
   */
  const derivedFrom = (type: ts.TypeNode | undefined, problems: string[]): ts.Declaration | undefined => {
    for (let depth = 0; type && depth < 10; depth++) {
      if (!ts.isTypeReferenceNode(type) || !ts.isIdentifier(type.typeName)) break;
      if (DERIVED.has(type.typeName.text)) {
        let argument = type.typeArguments?.[0];
        if (argument && ts.isTypeReferenceNode(argument) && argument.typeName.getText() === 'ReturnType')
          argument = argument.typeArguments?.[0];
        return argument && ts.isTypeQueryNode(argument) ? declarationOf(argument.exprName) : undefined;
      }
      const declaration = declarationOf(type.typeName);
      if (declaration && ts.isTypeAliasDeclaration(declaration)) type = declaration.type;
      else {
        const where = declaration ? relative(repoRoot, declaration.getSourceFile().fileName) : '?';
        problems.push(`the config type ${type.typeName.text} (${where}) is written by hand, not ConfigOf<typeof …>`);
        return undefined;
      }
    }
    problems.push(`the config type ${type?.getText() ?? '(none)'} is not ConfigOf<typeof …> of the spec's schema`);
    return undefined;
  };

  for (const file of program.getSourceFiles()) {
    if (!file.fileName.startsWith(within) || file.isDeclarationFile) continue;
    for (const statement of file.statements) {
      if (!ts.isExportAssignment(statement)) continue;
      const call = statement.expression;
      if (!ts.isCallExpression(call) || call.expression.getText() !== 'pluginModule') continue;
      const [spec, implementation] = call.arguments;
      if (!spec || !ts.isObjectLiteralExpression(spec) || !implementation) continue;
      const literal = (name: string): string | undefined => {
        const property = spec.properties.find(
          (p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === name,
        );
        return property && ts.isStringLiteral(property.initializer) ? property.initializer.text : undefined;
      };
      const config = spec.properties.find(
        (p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === 'config',
      );
      const at = relative(repoRoot, file.fileName);
      const problems: string[] = [];
      const schema = config ? schemaOf(config.initializer) : undefined;
      problems.push(...schemaProblems(schema, at));
      const cls = classOf(implementation);
      const parameter = cls && configParameter(cls);
      if (parameter) {
        const derived = derivedFrom(parameter.type, problems);
        if (derived && derived !== schema)
          problems.push(`the config type is derived from another schema than spec.config (${at})`);
      }
      found.set(`${literal('kind')} ${literal('name')}`, problems);
    }
  }
  return found;
}

describe('plugin config types', () => {
  it("every registered plugin's config type is ConfigOf its spec's configSchema (no hand-written interface)", async () => {
    const declarations = configDeclarations(join(repoRoot, 'plugins/builtin.ts'));
    const catalog = new PluginCatalog(builtinPluginModules);
    await catalog.requireAll(); // built-in plugins are imported on demand
    const registered = catalog.plugins();
    expect(registered.length).toBeGreaterThan(20);
    const problems = Object.fromEntries(
      registered.map((p) => {
        const key = `${p.spec.kind} ${p.spec.name}`;
        return [key, declarations.get(key) ?? ['its pluginModule(...) call was not found in the sources']];
      }),
    );
    expect(problems).toEqual(Object.fromEntries(registered.map((p) => [`${p.spec.kind} ${p.spec.name}`, []])));
  }, 120_000);

  it('finds a hand-written config interface, and a type derived from another schema', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-types-'));
    const probe = (configType: string, extra = ''): string[] | undefined => {
      const file = join(dir, 'probe.ts');
      writeFileSync(
        file,
        [
          `import { configSchema, inject, injectable, pluginModule, TOKENS, type ConfigOf, type Row, type Transform } from '${repoRoot}/core/sdk/index.ts';`,
          "const CONFIG = configSchema({ type: 'object', properties: { field: { type: 'string' } } });",
          "const OTHER = configSchema({ type: 'object', properties: { other: { type: 'string' } } });",
          extra,
          '@injectable()',
          'class Probe implements Transform {',
          `  constructor(@inject(TOKENS.Config) private readonly config: ${configType}) {}`,
          '  process(records: Row[]): Row[] { return records; }',
          '}',
          "export default pluginModule({ kind: 'transform', name: 'probe', summary: '', stability: 'beta', config: CONFIG }, Probe);",
        ].join('\n'),
      );
      return configDeclarations(file, dir).get('transform probe');
    };
    try {
      expect(probe('ProbeConfig', 'type ProbeConfig = ConfigOf<typeof CONFIG>;')).toEqual([]);
      expect(probe('ProbeConfig', 'interface ProbeConfig { field?: string }')).toEqual([
        expect.stringContaining('the config type ProbeConfig'),
      ]);
      expect(probe('ConfigOf<typeof OTHER>')).toEqual([expect.stringContaining('derived from another schema')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
