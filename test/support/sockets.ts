import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

// The listening TCP sockets of this machine (Linux: /proc/net/tcp and /proc/net/tcp6), for tests
// asserting that nothing a test or `npm start` runs listens beyond the loopback interface.

interface ListeningSocket {
  /** As the kernel reports it: `0.0.0.0`, `127.0.0.1`, `::`, `::1`, `::ffff:127.0.0.1`. */
  readonly address: string;
  readonly port: number;
  readonly inode: string;
}

const LISTEN = '0A';

/** `0100007F` → `127.0.0.1`: /proc writes each 32-bit word in host (little-endian) byte order. */
function ipv4(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  return [...bytes].reverse().join('.');
}

function ipv6(hex: string): string {
  const words = [0, 8, 16, 24].map((offset) => Buffer.from(hex.slice(offset, offset + 8), 'hex').reverse());
  const bytes = Buffer.concat(words);
  if (bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${[...bytes.subarray(12)].join('.')}`;
  }
  const groups: string[] = [];
  for (let index = 0; index < 16; index += 2) groups.push(bytes.readUInt16BE(index).toString(16));
  const full = groups.join(':');
  if (full === '0:0:0:0:0:0:0:0') return '::';
  if (full === '0:0:0:0:0:0:0:1') return '::1';
  return full;
}

function listeningSockets(): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const [file, decode] of [
    ['/proc/net/tcp', ipv4],
    ['/proc/net/tcp6', ipv6],
  ] as const) {
    const lines = readFileSync(file, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (local === undefined || state !== LISTEN || inode === undefined) continue;
      const [addressHex = '', portHex = ''] = local.split(':');
      sockets.push({ address: decode(addressHex), port: Number.parseInt(portHex, 16), inode });
    }
  }
  return sockets;
}

/** Every socket listening on this port, on any address. */
export function listenersOnPort(port: number): ListeningSocket[] {
  return listeningSockets().filter((socket) => socket.port === port);
}

/** The socket inodes a process holds open (its fds that are sockets). */
function socketInodesOf(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes; // exited meanwhile
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** The processes holding this socket open (pids), as far as /proc lets us see. */
export function holdersOf(inode: string): number[] {
  const holders: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (socketInodesOf(pid).has(inode)) holders.push(pid);
  }
  return holders;
}

/** The listening sockets held by any of these processes. */
export function listeningSocketsOf(pids: readonly number[]): ListeningSocket[] {
  const inodes = new Set(pids.flatMap((pid) => [...socketInodesOf(pid)]));
  return listeningSockets().filter((socket) => inodes.has(socket.inode));
}

export function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./.test(address);
}
