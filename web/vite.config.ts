import { defineConfig } from 'vitest/config';

// The build goes into the Api project's static assets, served at / by the service (src/Api/Viewer).
export default defineConfig({
  build: { outDir: '../src/Api/wwwroot', emptyOutDir: true, sourcemap: false, target: 'es2022', chunkSizeWarningLimit: 400 },
  test: { environment: 'node', include: ['test/**/*.test.ts', 'test/**/*.test.tsx', 'test/**/*.test.mjs'] },
});
