/**
 * Layer rules of docs/ARCHITECTURE.md (DESIGN.md §3), checked by `npm run layers` inside `npm test`.
 * A violation fails the test command.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles anywhere in src/.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-imports-only-core',
      severity: 'error',
      comment: 'core/ is pure domain: no I/O, no node:* builtins, no packages, no other layer.',
      from: { path: '^src/core/' },
      to: { pathNot: '^src/core/' },
    },
    {
      name: 'ports-import-only-core',
      severity: 'error',
      comment: 'ports/ are interfaces: they may name core types and nothing else.',
      from: { path: '^src/ports/' },
      to: { pathNot: '^src/(core|ports)/' },
    },
    {
      name: 'bidders-import-only-core',
      severity: 'error',
      comment: 'Bidders are pure translators (buildRequests/parseBids) and do no I/O.',
      from: { path: '^src/bidders/' },
      to: { pathNot: '^src/(core|bidders)/' },
    },
    {
      name: 'only-wiring-imports-adapters',
      severity: 'error',
      comment: 'Adapters are chosen in one place: the composition root in src/wiring/.',
      from: { path: '^src/', pathNot: '^src/(wiring|adapters)/' },
      to: { path: '^src/adapters/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
  },
};
