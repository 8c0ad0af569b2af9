import { BlockList, isIP } from 'node:net';

// A token's IP allowlist (docs/design.md "Authorization model"): CIDRs or bare addresses, IPv4 and IPv6,
// matched with node:net's BlockList (which also matches IPv4-mapped IPv6 addresses such as
// `::ffff:10.0.0.1` against IPv4 subnets). An empty allowlist means any address. The gateway's
// source IP is parsed leniently: `192.168.0.1/32` (as the REST proxy sample carries it) is read as its
// address; something that is no address at all (`test-invoke-source-ip` from the console's Test
// button) is never inside a non-empty allowlist, and never throws.

interface IpAllowlist {
  /** True when the allowlist is empty or the address falls inside one of its entries. */
  allows(sourceIp: string | undefined): boolean;
}

type Family = 'ipv4' | 'ipv6';

const ANY_ADDRESS: IpAllowlist = { allows: () => true };

function familyOf(address: string): Family | undefined {
  const version = isIP(address);
  if (version === 4) return 'ipv4';
  if (version === 6) return 'ipv6';
  return undefined;
}

/** The address part of a source IP as gateways report it, or undefined when it is not an address. */
export function parseSourceIp(raw: string | undefined): { address: string; family: Family } | undefined {
  if (raw === undefined) return undefined;
  const slash = raw.indexOf('/');
  const address = (slash === -1 ? raw : raw.slice(0, slash)).trim();
  const family = familyOf(address);
  return family === undefined ? undefined : { address, family };
}

/**
 * Adds one allowlist entry to the block list. Returns false for an entry that is not a CIDR or an
 * address; such an entry matches nothing (it never widens the allowlist).
 */
function addEntry(list: BlockList, entry: string): boolean {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = familyOf(address);
  if (family === undefined) return false;
  try {
    if (slash === -1) {
      list.addAddress(address, family);
      return true;
    }
    const prefixText = entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText)) return false;
    const prefix = Number(prefixText);
    if (prefix > (family === 'ipv4' ? 32 : 128)) return false;
    list.addSubnet(address, prefix, family);
    return true;
  } catch {
    return false;
  }
}

export function compileIpAllowlist(entries: readonly string[]): IpAllowlist {
  if (entries.length === 0) return ANY_ADDRESS;
  const list = new BlockList();
  for (const entry of entries) addEntry(list, entry);
  return {
    allows(sourceIp) {
      const parsed = parseSourceIp(sourceIp);
      if (parsed === undefined) return false;
      try {
        return list.check(parsed.address, parsed.family);
      } catch {
        return false;
      }
    },
  };
}

/** True when every entry is a CIDR or an address this module understands. */
export function isValidAllowlistEntry(entry: string): boolean {
  return addEntry(new BlockList(), entry);
}

// Compiled allowlists are kept per container: a token is verified many times with the same list.
const MAX_CACHED = 1000;
const compiled = new Map<string, IpAllowlist>();

/** compileIpAllowlist with a per-container cache keyed by the entries. */
export function ipAllowlistFor(entries: readonly string[]): IpAllowlist {
  if (entries.length === 0) return ANY_ADDRESS;
  const key = entries.join(',');
  let allowlist = compiled.get(key);
  if (allowlist === undefined) {
    if (compiled.size >= MAX_CACHED) compiled.clear();
    allowlist = compileIpAllowlist(entries);
    compiled.set(key, allowlist);
  }
  return allowlist;
}
