// Copies non-TypeScript files the build needs next to the compiled code: SQL migrations and
// the Redis Lua scripts (only the .lua files; the loader beside them is compiled TypeScript).
import { cpSync } from 'node:fs';

cpSync('src/adapters/postgres/migrations', 'dist/adapters/postgres/migrations', {
  recursive: true,
});
cpSync('src/adapters/redis/scripts', 'dist/adapters/redis/scripts', {
  recursive: true,
  filter: (src) => !src.endsWith('.ts'),
});
