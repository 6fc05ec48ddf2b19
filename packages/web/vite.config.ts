import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Built by the control plane on start when stale (packages/server/src/dashboard/bundle.ts);
// `npx vite` here serves it with hot reload, proxying the API to a running control plane.
export default defineConfig({
  plugins: [react()],
  build: { target: 'es2022', sourcemap: false, chunkSizeWarningLimit: 400 },
  server: {
    proxy: {
      '/api': process.env.STEWARD_SERVER ?? 'http://127.0.0.1:7070',
      '/metrics': process.env.STEWARD_SERVER ?? 'http://127.0.0.1:7070',
    },
  },
});
