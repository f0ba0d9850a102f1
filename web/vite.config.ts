import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

/** Where `vite dev` forwards the REST API and Socket.io (the ChronoTrace server's default port). */
const API_TARGET = 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [sveltekit()],
  // The contracts package ships TypeScript sources: bundle it, never leave a bare import to it in the server build.
  ssr: { noExternal: ['@chronotrace/contracts'] },
  server: {
    proxy: {
      '/api': { target: API_TARGET, changeOrigin: true },
      '/socket.io': { target: API_TARGET, ws: true, changeOrigin: true },
    },
  },
});
