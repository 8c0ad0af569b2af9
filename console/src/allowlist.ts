// The allowlist as the user types it, checked in the browser for quick feedback; the API checks it
// again (lambdas/core/token-policy.ts, with node:net) and its 400 is shown at the same field. Hand
// written because node:net is not in the browser: IPv4 by pattern, IPv6 by the URL parser (a host
// in brackets must be a valid IPv6 address).

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIpv6(address: string): boolean {
  if (!address.includes(':')) return false;
  try {
    new URL(`http://[${address}]/`);
    return true;
  } catch {
    return false;
  }
}

interface AllowlistCheck {
  readonly entries: string[];
  /** One message per bad line, e.g. `line 2: "10.0.0.300" is not an IP address or CIDR`. */
  readonly problems: string[];
}

export function checkAllowlist(
  text: string,
  minPrefix: { ipv4: number; ipv6: number } | null,
): AllowlistCheck {
  const entries: string[] = [];
  const problems: string[] = [];
  text.split(/[\n,]/).forEach((raw, index) => {
    const entry = raw.trim();
    if (entry === '') return;
    entries.push(entry);
    const [address = '', prefixText, extra] = entry.split('/');
    const family = IPV4.test(address) ? 'ipv4' : isIpv6(address) ? 'ipv6' : undefined;
    const max = family === 'ipv4' ? 32 : 128;
    const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
    if (family === undefined || extra !== undefined || prefix < 0 || prefix > max) {
      problems.push(`line ${index + 1}: "${entry}" is not an IP address or CIDR`);
    } else if (minPrefix !== null && prefix < minPrefix[family]) {
      problems.push(
        `line ${index + 1}: "${entry}" is wider than /${minPrefix[family]}, the widest this type allows`,
      );
    }
  });
  return { entries, problems };
}
