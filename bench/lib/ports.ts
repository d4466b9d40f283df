// A free TCP port for a program that must be told its port up front (a spawned iron-api, a registry,
// a compose file). Bench is built on its own (tsconfig.build.json), so this lives here and the tests
// import it through test/helpers/ports.ts. The port is free when returned; a program started right
// after binds it in practice (the kernel does not hand a just-closed ephemeral port out again at once).
import { createServer } from 'node:net';

export function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, address, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
