/** @type {import('next').NextConfig} */
const nextConfig = {
  // Packages with native parts or WASM that must stay out of the bundle.
  serverExternalPackages: ["@electric-sql/pglite", "pino", "ws", "undici"],
  poweredByHeader: false,
  experimental: {
    // forbidden() in requirePageUser renders app/forbidden.tsx with status
    // 403; a thrown error's message would be hidden in production builds.
    authInterrupts: true,
  },
};

export default nextConfig;
