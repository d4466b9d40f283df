// Default egress policy for jobs (BLOCKED_PORTS / BLOCKED_ADDRESSES), shared by the runner's config
// and the sandbox's defaults so they cannot drift.
//   Ports: SMTP (25), submission over TLS (465), submission (587), and 2525, the submission port mail
//   relays (SendGrid, Mailgun, SES, Postmark...) offer where 587 is filtered: spam from jobs.
//   Addresses: the whole IPv4 link-local range, not only the cloud metadata service 169.254.169.254:
//   169.254.170.2 serves ECS task credentials, 169.254.169.123 (time), 169.254.169.253 (AWS DNS) and
//   other clouds' agents live there too, and nothing a job needs does (issue 13 item 14).
export const DEFAULT_BLOCKED_PORTS: readonly number[] = Object.freeze([25, 465, 587, 2525]);
export const DEFAULT_BLOCKED_ADDRESSES: readonly string[] = Object.freeze(['169.254.0.0/16']);

/** An IPv4 address or CIDR (a.b.c.d or a.b.c.d/n), octets 0-255, prefix 0-32. */
export function isIpv4OrCidr(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(s);
  if (m === null) return false;
  if (m.slice(1, 5).some((o) => Number(o) > 255)) return false;
  return m[5] === undefined || Number(m[5]) <= 32;
}
