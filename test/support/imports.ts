import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** One `import`/`export … from`/`import()` of a source file. */
export interface ImportRef {
  file: string;
  specifier: string;
  /** Erased when compiled (`import type`, or only `type` names): nothing loads at run time. */
  typeOnly: boolean;
}

/** Every module specifier `file` names, read with the TypeScript parser (comments and strings cannot fool it). */
export function importsOf(file: string): ImportRef[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: ImportRef[] = [];
  const add = (spec: ts.Expression | undefined, typeOnly: boolean) => {
    if (spec && ts.isStringLiteral(spec)) out.push({ file, specifier: spec.text, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const onlyTypes =
        clause !== undefined &&
        (clause.isTypeOnly || (!clause.name && named !== undefined && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, onlyTypes);
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      add(node.moduleSpecifier, node.isTypeOnly || (named !== undefined && named.length > 0 && named.every((e) => e.isTypeOnly)));
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal as ts.Expression, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };

/** The file a specifier resolves to from `from`, the way `tsc` resolves it (workspace symlinks followed). */
export function resolveImport(specifier: string, from: string): string | undefined {
  const r = ts.resolveModuleName(specifier, from, options, ts.sys).resolvedModule;
  return r ? realpathSync(r.resolvedFileName) : undefined;
}

/**
 * Every source file reachable from `entry` through run-time imports (type-only ones are erased
 * by the bundler, so they load nothing), and the imports of those files that leave the graph:
 * builtins and packages from node_modules. Relative imports of assets (stylesheets) are skipped. Workspace packages are followed into their sources.
 */
export function runtimeGraph(entry: string): { files: string[]; external: ImportRef[] } {
  const seen = new Set<string>();
  const external: ImportRef[] = [];
  const queue = [realpathSync(entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const ref of importsOf(file)) {
      if (ref.typeOnly) continue;
      const target = resolveImport(ref.specifier, file);
      if (target && !target.includes('/node_modules/') && /\.[cm]?tsx?$/.test(target)) queue.push(target);
      else if (!ref.specifier.startsWith('.')) external.push(ref);
      // else a relative asset (a stylesheet) the bundler loads: not code
    }
  }
  return { files: [...seen].sort(), external };
}

/** The package a bare specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The `.ts`/`.tsx` files under `dir`, recursively. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.tsx?$/.test(e.name)) out.push(p);
  }
  return out.sort();
}
