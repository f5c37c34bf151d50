/**
 * Lab servers that stand for the world uplinkd talks to: an SMTP sink (smtp-server) and a
 * dyndns2 HTTP server, each run inside a lab namespace (`ip netns exec NS node sinks.js …`),
 * printing one JSON line per mail or request on stdout.
 *
 *   node sinks.js smtp ADDRESS PORT
 *     {"listening":true} then {"mail":{"from","to","subject","text"}} per mail.
 *   node sinks.js dyndns ADDRESS PORT ANSWER...
 *     {"listening":true} then {"request":{"url","auth","remote"}} per request; answers each
 *     with the next ANSWER (the last one repeats), e.g. "good {address}" or "badauth".
 */
import { createServer } from 'node:http';
import { SMTPServer } from 'smtp-server';

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** Undo quoted-printable (nodemailer's for long lines), headers, and CRLF. */
function mailText(raw: string): { subject: string; text: string } {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const subject = /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(head)?.[1]?.replace(/\r?\n[ \t]/g, ' ') ?? '';
  let text = rest.join('\n\n');
  if (/^Content-Transfer-Encoding: quoted-printable/im.test(head))
    text = text
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  return { subject, text: text.replace(/\r\n/g, '\n') };
}

function smtp(address: string, port: number): void {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, done) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (raw += c));
      stream.on('end', () => {
        out({
          mail: {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
            to: session.envelope.rcptTo.map((r) => r.address),
            ...mailText(raw),
          },
        });
        done();
      });
    },
  });
  server.listen(port, address, () => out({ listening: true }));
}

function dyndns(address: string, port: number, answers: string[]): void {
  let n = 0;
  createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const auth = req.headers.authorization?.startsWith('Basic ')
      ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString()
      : undefined;
    out({ request: { url: url.pathname + url.search, auth, remote: req.socket.remoteAddress } });
    const answer = answers[Math.min(n++, answers.length - 1)] ?? 'good';
    res.end(answer.replace('{address}', url.searchParams.get('myip') ?? ''));
  }).listen(port, address, () => out({ listening: true }));
}

const [kind, address = '127.0.0.1', port = '0', ...rest] = process.argv.slice(2);
if (kind === 'smtp') smtp(address, Number(port));
else if (kind === 'dyndns') dyndns(address, Number(port), rest);
else if (kind !== undefined) {
  process.stderr.write('usage: sinks.js smtp ADDRESS PORT | dyndns ADDRESS PORT ANSWER...\n');
  process.exit(2);
}
