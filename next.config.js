/** @type {import('next').NextConfig} */
const nextConfig = {
  // Packages with native parts or WASM that must stay out of the bundle.
  serverExternalPackages: ["@electric-sql/pglite", "pino", "ws", "undici"],
  poweredByHeader: false,
};

export default nextConfig;
