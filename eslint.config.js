// Lint for what the compiler cannot see: floating promises, import cycles, misused async, and the
// module boundaries (docs/architecture.md): which folder alone may use Docker, SQL, the API's HTTP
// client and the process environment.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const BOUNDARIES = {
  docker: [
    { name: 'dockerode', message: 'Only src/sandbox/ talks to Docker.' },
    { name: 'docker-modem', message: 'Only src/sandbox/ talks to Docker.' },
  ],
  sql: [{ name: 'node:sqlite', message: 'Only the store (src/server/store/sqlite/) speaks SQL.' }],
  pg: [{ name: 'pg', message: 'Only the PostgreSQL store (src/server/store/postgres/) speaks to PostgreSQL.' }],
  http: [{ name: 'undici', message: 'Only src/api/ speaks HTTP to the API (its client is undici).' }],
};

/** no-restricted-imports for a folder: every boundary except the ones it owns. */
function importsExcept(...owned) {
  const paths = Object.entries(BOUNDARIES)
    .filter(([k]) => !owned.includes(k))
    .flatMap(([, p]) => p);
  return { 'no-restricted-imports': ['error', { paths }] };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'coverage/**', '.state/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      ...importsExcept(),
    },
  },
  { files: ['src/sandbox/**'], rules: importsExcept('docker') },
  { files: ['src/server/store/sqlite/**'], rules: importsExcept('sql') },
  { files: ['src/server/store/postgres/**'], rules: importsExcept('pg') },
  { files: ['src/api/**'], rules: importsExcept('http') },
  {
    // Only src/config/env.ts reads the environment; everything else is handed an Env or a frozen config.
    files: ['src/**'],
    ignores: ['src/config/env.ts'],
    rules: { 'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only src/config/env.ts reads process.env: take an Env.' }] },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
