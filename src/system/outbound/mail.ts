/** One mail, through an SMTP server or the local sendmail (nodemailer). */
import { UplinkError } from '../../errors.js';

export interface MailRequest {
  from: string;
  to: string;
  subject: string;
  text: string;
  /** Absent: the local sendmail (/usr/sbin/sendmail). */
  smtp?: {
    host: string;
    port: number;
    tls: 'starttls' | 'implicit' | 'none';
    auth?: { user: string; pass: string };
  };
  timeoutMs: number;
}

export async function sendMail(m: MailRequest): Promise<void> {
  // Loaded on the first mail: most daemons never send one, and it is ~3 MB of an idle daemon.
  const { default: nodemailer } = await import('nodemailer');
  const s = m.smtp;
  const transport = s
    ? nodemailer.createTransport({
        host: s.host,
        port: s.port,
        secure: s.tls === 'implicit',
        ignoreTLS: s.tls === 'none',
        ...(s.auth ? { auth: s.auth } : {}),
        connectionTimeout: m.timeoutMs,
        greetingTimeout: m.timeoutMs,
        socketTimeout: m.timeoutMs,
      })
    : nodemailer.createTransport({ sendmail: true, newline: 'unix' });
  try {
    await transport.sendMail({ from: m.from, to: m.to, subject: m.subject, text: m.text });
  } catch (e) {
    const err = e as Error & { code?: string; responseCode?: number };
    const via = s ? `${s.host}:${s.port}` : 'sendmail';
    throw new UplinkError(
      'MAIL_FAILED',
      `mail to ${m.to} via ${via}: ${err.responseCode ?? err.code ?? ''} ${err.message}`.trim(),
    );
  } finally {
    transport.close();
  }
}
