// `iron docker login`: stores registry credentials in the project so runners can pull private images.
import type { Command } from '../command.js';
import { EXIT } from '../command.js';

export const dockerLoginCommand: Command = {
  path: ['docker', 'login'],
  summary: 'store registry credentials so runners can pull private images',
  synopsis: '-u USER (-p PASS | --password-stdin) [-e EMAIL] [--url SERVER]',
  options: [
    { name: 'username', short: 'u', type: 'string', arg: 'USER', help: 'registry user' },
    { name: 'password', short: 'p', type: 'string', arg: 'PASS', help: 'registry password (prefer --password-stdin)' },
    { name: 'password-stdin', type: 'boolean', help: 'read the password from stdin' },
    { name: 'email', short: 'e', type: 'string', arg: 'EMAIL', help: 'account e-mail' },
    { name: 'url', type: 'string', arg: 'SERVER', help: 'registry address (default: Docker Hub)' },
  ],
  async run(ctx, o, args) {
    if (args.length > 0) throw o.fail(`unexpected argument ${JSON.stringify(args[0])}`);
    const username = o.str('username');
    if (username === undefined || username === '') throw o.fail('-u USER is required');
    let password = o.str('password');
    if (o.flag('password-stdin')) {
      if (password !== undefined) throw o.fail('give either -p or --password-stdin, not both');
      password = (await ctx.io.readStdin()).replace(/\r?\n$/, '');
    }
    if (password === undefined || password === '') throw o.fail('a password is required (-p PASS or --password-stdin)');
    const email = o.str('email');
    const server = o.str('url');
    const res = await ctx.api().project.dockerLogin(
      {
        username,
        password,
        ...(email === undefined ? {} : { email }),
        ...(server === undefined ? {} : { serveraddress: server }),
      },
      ctx.signal,
    );
    ctx.out.write(`${res.msg ?? 'Credentials stored'}\n`);
    return EXIT.OK;
  },
};
