import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The app lives under `/app/` on the router's origin (DESIGN §12): API paths (`/cases`, `/users`, …)
 * would collide with the app's own routes at `/`. `npm run dev:web` serves it with hot reload and
 * proxies every API path to a running platform (`npm start`; CELLBOOK_URL to point elsewhere), so the
 * browser still sees one origin.
 */
const platform = process.env.CELLBOOK_URL ?? 'http://localhost:3000';
const API_PATHS = ['/auth', '/admin', '/me', '/cases', '/users', '/exports', '/analytics', '/audit', '/health'];

export default defineConfig({
  base: '/app/',
  plugins: [react()],
  // sst's terminal UI (ink) brings React 18 to the repository root; the app and every library it uses
  // must share the one React 19 of this package.
  resolve: { dedupe: ['react', 'react-dom'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    // One app, two faces: each face is its own chunk, so a tenant user never downloads the console.
    chunkSizeWarningLimit: 400,
  },
  server: {
    host: '127.0.0.1',
    port: Number(process.env.WEB_PORT ?? 5173),
    proxy: Object.fromEntries(API_PATHS.map((path) => [path, { target: platform, changeOrigin: false }])),
  },
});
