/**
 * The architecture, checked on every `npm test` (docs/architecture.md, "The dependency rules").
 * Paths are relative to the repository root.
 */
const FEATURES =
  '(uplinks|routing|firewall|demand|jobs|hooks|apply|schedule|announce|notify|reconcile|offload|control|system|world|lab|daemon|cli)';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make the layering meaningless and the start order fragile.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'daemon-and-cli-are-roots',
      severity: 'error',
      comment: 'Only daemon/ and cli/ (and tests and benches) import daemon/ or cli/: they compose the rest.',
      from: { path: '^src/', pathNot: '^src/(daemon|cli)/' },
      to: { path: '^src/(daemon|cli)/' },
    },
    {
      name: 'planners-import-no-system',
      severity: 'error',
      comment: 'Planners are pure functions of plain data: they import nothing from system/, not even types.',
      from: {
        path: [
          '^src/(routing|reconcile|config|model|world|events)/',
          '^src/firewall/(render|input|forwards|hairpin|snat|diff)\\.ts$',
          '^src/demand/(rules|nft|nft-match|packet|queue)\\.ts$',
          '^src/jobs/(desired|condition-eval)\\.ts$',
          '^src/hooks/events\\.ts$',
          '^src/schedule/(windows|cron)\\.ts$',
        ],
      },
      to: { path: '^src/system/' },
    },
    {
      name: 'the-os-only-through-the-door',
      severity: 'error',
      comment:
        'Outside system/ (and the roots: the daemon that builds a System, the CLI that reads the machine for `uplink check`, and the lab tools), code gets a System and uses its types only.',
      from: { path: '^src/', pathNot: '^src/(system|daemon|cli|lab)/' },
      to: { path: '^src/system/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'config-imports-no-feature',
      severity: 'error',
      comment: 'The config is the vocabulary every feature reads; it depends on none of them.',
      from: { path: '^src/config/' },
      to: { path: `^src/${FEATURES}/` },
    },
    {
      name: 'model-and-events-import-no-feature',
      severity: 'error',
      comment: 'The shared vocabularies and the event catalogue sit below every feature (events name world deltas).',
      from: { path: '^src/(model|events)/' },
      to: { path: `^src/${FEATURES}/`, pathNot: '^src/world/(delta|state)\\.ts$' },
    },
    {
      name: 'demand-does-not-import-firewall',
      severity: 'error',
      comment: "The firewall renders demand's nft pieces; the other way round would be a cycle between the two.",
      from: { path: '^src/demand/' },
      to: { path: '^src/firewall/' },
    },
    {
      name: 'the-lab-is-a-tool',
      severity: 'error',
      comment: 'The namespace lab is for tests, benches and `uplink demo`, never for the daemon.',
      from: { path: '^src/', pathNot: ['^src/lab/', '^src/cli/demo'] },
      to: { path: '^src/lab/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(src|test|bench)/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
