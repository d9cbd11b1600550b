import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.stack/', 'coverage/', 'bench/results/', 'dashboards/generated/', 'scratch/' /* local, git-ignored experiments */, 'scripts/patches/' /* kafkajs code fragments, spliced in by scripts/patch-kafkajs.mjs */] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // One port to the Kafka client (src/log/port.ts): only src/log/ imports the client library.
    files: ['src/**/*.ts'],
    ignores: ['src/log/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^kafkajs(/|$)', message: 'Only src/log/ imports kafkajs: use the port types of src/log/port.ts (LogClient, LogAdmin, GroupConsumer, ...).' }] },
      ],
    },
  },
  {
    // Entry points, scripts and the end-to-end suites' summaries print to the terminal on purpose.
    files: ['scripts/**', 'bench/**', 'src/main/**', 'test/e2e/**'],
    rules: { 'no-console': 'off' },
  },
);
