// The walls between capabilities, checked on every `npm test`:
// 1. Code outside a capability imports only its index.js (its whole public surface). `src/lib` is a
//    toolbox of primitives, not a capability: its files are imported by name.
// 2. No import cycle between modules, except the deliberate upstream pool/connection/exchange trio in
//    the proxy (a connection returns itself to the pool that created it).
// 3. No capability below another imports it back: `lib` imports nothing of ours, `config` only `lib`,
//    `store` only `lib` and `config`. Migrations are frozen snapshots and import nothing of ours.
// Type-only imports are erased at run time but still count for the walls (1, 3); cycles (2) count only
// imports that run at load. A dynamic `import('…')` counts for the walls too (the CLI loads capabilities
// lazily, and a lazy reach inside is still a reach inside), but not for cycles: it runs after every
// module has loaded, so it cannot see a half-initialised one. Tests (`*.test.ts`) and their helpers
// (`test-support/`, never built) may reach inside other capabilities and into `test/support` to build
// their fixtures, so only the cycle rule applies to them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');
const ALLOWED_CYCLES = [['access/proxy/upstream-connection.ts', 'access/proxy/upstream-exchange.ts', 'access/proxy/upstream-pool.ts']];
const LAYERS = { lib: [], config: ['lib'], store: ['lib', 'config'] };

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
const files = walk(src);
const rel = (path) => relative(src, path).split(sep).join('/');
const capabilityOf = (relPath) => (relPath.includes('/') ? relPath.split('/')[0] : undefined);
const problems = [];
const graph = new Map();

for (const file of files) {
  const from = rel(file);
  const text = readFileSync(file, 'utf8');
  const edges = [];
  const imports = [
    ...[...text.matchAll(IMPORT)].map((match) => ({ spec: match[3], atLoad: !match[2] })),
    ...[...text.matchAll(DYNAMIC_IMPORT)].map((match) => ({ spec: match[1], atLoad: false })),
  ];
  for (const { spec, atLoad } of imports) {
    if (!spec.startsWith('.')) continue;
    const target = rel(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    if (atLoad) edges.push(target);
    if (from.endsWith('.test.ts') || from.includes('/test-support/')) continue;
    const fromCap = capabilityOf(from);
    const toCap = capabilityOf(target);
    if (toCap && toCap !== fromCap && toCap !== 'lib') {
      // A capability's index.ts, or a sub-capability's (access/policy/index.ts), is its public face.
      if (!target.endsWith('/index.ts')) problems.push(`${from}: imports ${target}; import ${toCap}/index.js instead`);
    }
    if (fromCap && LAYERS[fromCap] && toCap && toCap !== fromCap && !LAYERS[fromCap].includes(toCap)) {
      problems.push(`${from}: ${fromCap} may import only ${LAYERS[fromCap].join(', ') || 'nothing of ours'}, not ${toCap}`);
    }
    if (from.startsWith('store/migrations/') && !target.startsWith('store/migrations/') && target !== 'store/dialect.ts') {
      problems.push(`${from}: a migration is a frozen snapshot; it imports ${target}`);
    }
  }
  graph.set(from, edges);
}

// Tarjan's strongly connected components over run-time imports.
let index = 0;
const stack = [];
const state = new Map();
const cycles = [];
function connect(node) {
  state.set(node, { index, low: index, onStack: true });
  index++;
  stack.push(node);
  for (const next of graph.get(node) ?? []) {
    if (!graph.has(next)) continue;
    if (!state.has(next)) {
      connect(next);
      state.get(node).low = Math.min(state.get(node).low, state.get(next).low);
    } else if (state.get(next).onStack) state.get(node).low = Math.min(state.get(node).low, state.get(next).index);
  }
  if (state.get(node).low === state.get(node).index) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      state.get(member).onStack = false;
      component.push(member);
    } while (member !== node);
    if (component.length > 1) cycles.push(component.sort());
  }
}
for (const node of graph.keys()) if (!state.has(node)) connect(node);
for (const cycle of cycles) {
  if (!ALLOWED_CYCLES.some((allowed) => allowed.join() === cycle.join())) problems.push(`import cycle: ${cycle.join(' -> ')}`);
}

if (problems.length > 0) {
  console.error(`check-imports: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-imports: ${files.length} modules, walls and cycles ok`);
