/**
 * The layers of src/, checked in `npm test` (npm run lint:deps). Domain folders (what a gateway
 * knows: auth, keys, limits, usage, logs, cache, …) never import the request path (proxy/), the
 * admin side, the live view or the CLI; nothing imports in a circle.
 */
const DOMAIN = '^src/(alerts|auth|cache|config|keys|limits|logs|net|store|telemetry|usage|util)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle: the modules in it cannot be understood, tested or loaded one by one.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-not-on-request-path',
      severity: 'error',
      comment: 'A domain module depends on the request path, the admin side, the live view or the CLI; those depend on the domain, not the other way.',
      from: { path: DOMAIN },
      to: { path: '^src/(proxy|admin|tui|cli)/' },
    },
    {
      name: 'util-stands-alone',
      severity: 'error',
      comment: 'src/util holds helpers with no knowledge of the gateway.',
      from: { path: '^src/util/' },
      to: { path: '^src/', pathNot: '^src/util/' },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A module nothing imports (and that is no entry point) is dead code.',
      from: { orphan: true, path: '^src/', pathNot: ['^src/cli/main\\.ts$', '^src/usage/token-worker\\.js$', '\\.d\\.ts$'] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js'] },
  },
};
