// Vite builds the app into dist/, which the Go server (main.go) serves.
// No React plugin: Vite's own transform compiles the JSX with the
// automatic runtime.
import { defineConfig } from 'vite';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: 'dist', emptyOutDir: true },
  // `npm run dev` serves the app with hot reload and sends the API to the
  // Go server: run `go run ./examples/react` beside it.
  server: { proxy: { '/api': 'http://localhost:8080' } },
});
