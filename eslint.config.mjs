// ESLint for the TypeScript of the extension (lab-extension/) and the Galata specs
// (ui-tests/tests/): typescript-eslint's recommended rules, a few type-aware ones that catch real
// bugs cheaply (forgotten promises), and the folder layout (no feature imports from report/).
// Formatting is prettier's job (`npm run lint` runs `prettier --check`), so eslint-config-prettier
// turns the stylistic rules off.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'lib/**',
      'node_modules/**',
      'ui-tests/node_modules/**',
      'ui-tests/test-results/**',
      'ui-tests/playwright-report/**',
      'kernel-launcher/**',
      'dist/**'
    ]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['lab-extension/**/*.ts', 'ui-tests/tests/**/*.ts'],
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.test.json', './ui-tests/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname
      },
      globals: { ...globals.browser }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'AssignmentExpression[left.property.name=/^(innerHTML|outerHTML)$/]',
          message: 'Kernel strings reach the DOM as text only: use textContent.'
        },
        {
          selector: "CallExpression[callee.property.name='insertAdjacentHTML']",
          message: 'Kernel strings reach the DOM as text only: build nodes and use textContent.'
        }
      ]
    }
  },
  {
    // No feature reaches back into report/: it is a feature, not a kit (the site-list kit is sites/).
    files: ['lab-extension/**/*.ts'],
    ignores: ['lab-extension/report/**', 'lab-extension/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/report/*', '**/report'],
              message: 'Import the shared kits (sites/, format/, …), not report/.'
            }
          ]
        }
      ]
    }
  },
  {
    files: ['lab-extension/**/*.spec.ts', 'lab-extension/testing/**/*.ts'],
    languageOptions: { globals: { ...globals.jest, ...globals.node } }
  },
  {
    // Tests feed deliberately mistyped payloads and read untyped runtime objects (plotly's
    // traces, the page's window.jupyterapp), so `any` stays allowed there, and only there.
    files: ['lab-extension/**/*.spec.ts', 'ui-tests/tests/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  },
  {
    files: ['ui-tests/tests/**/*.ts'],
    languageOptions: { globals: { ...globals.node } }
  },
  {
    // displayText escapes control characters: matching them is its job.
    files: ['lab-extension/format/text.ts'],
    rules: { 'no-control-regex': 'off' }
  },
  {
    // Node scripts (CommonJS): require() is how they import.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { ...globals.node } }
  },
  prettier
);
