import { execFileSync } from 'node:child_process';

// The process table (`ps`, Linux and macOS), for tests asserting that a process tree is gone.

export interface ProcessRow {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** `ps` state; Z = exited, not yet reaped (gone for every purpose here). */
  readonly stat: string;
  readonly args: string;
}

export function processTable(): ProcessRow[] {
  const output = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,pgid=,stat=,args='], { encoding: 'utf8' });
  return output.split('\n').flatMap((line) => {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s*(.*)$/.exec(line);
    if (match === null) return [];
    const [, pid = '', ppid = '', pgid = '', stat = '', args = ''] = match;
    return [{ pid: Number(pid), ppid: Number(ppid), pgid: Number(pgid), stat, args }];
  });
}

/** The live processes among `pids` (zombies count as gone). */
export function aliveAmong(pids: Iterable<number>, table = processTable()): ProcessRow[] {
  const wanted = new Set(pids);
  return table.filter((row) => wanted.has(row.pid) && !row.stat.startsWith('Z'));
}

/** Every live process below `pid` (children, their children, ...). */
export function descendantsOf(pid: number, table = processTable()): ProcessRow[] {
  const found: ProcessRow[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const parents = new Set(frontier);
    const children = table.filter((row) => parents.has(row.ppid) && !row.stat.startsWith('Z'));
    found.push(...children);
    frontier = children.map((row) => row.pid);
  }
  return found;
}

/** The live members of a process group. */
export function groupMembers(pgid: number, table = processTable()): ProcessRow[] {
  return table.filter((row) => row.pgid === pgid && !row.stat.startsWith('Z'));
}
