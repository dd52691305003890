// A stand-in for an open dashboard page, in its own process (so its work is not the coordinator's):
// commands on stdin, "open <url> <intervalMs>" and "close"; it answers "open" on stdout once the first
// snapshot has arrived. Like a page, it asks for gzip and parses every message.
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

let current;
for await (const line of createInterface({ input: process.stdin })) {
  const [command, url, intervalMs] = line.split(' ');
  if (command === 'close') {
    current?.destroy();
    current = undefined;
    process.stdout.write('closed\n');
  } else if (command === 'open') {
    const target = new URL(url);
    target.pathname = '/events';
    target.search = `?intervalMs=${intervalMs}&token=${encodeURIComponent(new URL(url).searchParams.get('token'))}`;
    let first = true;
    current = request(target, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      let buffer = '';
      const body = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
      body.setEncoding('utf8');
      body.on('error', () => {});
      body.on('data', (chunk) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
          buffer = buffer.slice(end + 2);
          if (!data) continue;
          JSON.parse(data);
          if (first) process.stdout.write('open\n');
          first = false;
        }
      });
    });
    current.on('error', () => {});
    current.end();
  }
}
