// Copies non-TypeScript files the build needs (SQL migrations) next to the compiled code.
import { cpSync } from 'node:fs';

cpSync('src/adapters/postgres/migrations', 'dist/adapters/postgres/migrations', {
  recursive: true,
});
