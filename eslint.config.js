// ESLint flat config: typescript-eslint's type-aware recommended rules, with Prettier owning formatting.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      '.dependency-cruiser.cjs',
      'scripts/**',
      'dist/**',
      'data/**',
      'node_modules/**',
      'bench/**',
      'dashboard/**',
      '*.config.*js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // core/ is pure: the clock and randomness are injected (DESIGN.md §3).
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message: 'core/ reads no clock: take `nowMs` as an argument.',
        },
        { object: 'Math', property: 'random', message: 'core/ takes randomness as an argument.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'core/ reads no clock.',
        },
      ],
    },
  },
  prettier,
);
