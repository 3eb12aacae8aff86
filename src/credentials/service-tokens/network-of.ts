import { isIPv4, isIPv6 } from 'node:net';

/**
 * The network an address belongs to for "first use from a new network": /24 for IPv4 (a site or a
 * cloud subnet), /48 for IPv6 (one site's allocation, RFC 6177 §2), so a client hopping between
 * addresses of one network is not new, and one network's worth of addresses is one row. IPv4-mapped
 * IPv6 (`::ffff:192.0.2.1`, how a dual-stack socket reports IPv4 peers) counts as IPv4.
 * Returns undefined for anything that is not an address.
 */
export function networkOf(address: string): string | undefined {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  const text = mapped ? mapped[1]! : address;
  if (isIPv4(text)) {
    const [a, b, c] = text.split('.');
    return `${Number(a)}.${Number(b)}.${Number(c)}.0/24`;
  }
  if (!isIPv6(text) || text.includes('%')) return undefined;
  return `${compress(firstThreeGroups(text))}/48`;
}

/** RFC 5952 §4.2: the prefix with the other five groups zero, longest zero run written `::`. */
function compress(groups: number[]): string {
  const all = [...groups, 0, 0, 0, 0, 0];
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (all[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && all[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = all.map((g) => g.toString(16));
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The first 48 bits of an IPv6 address as three numbers. */
function firstThreeGroups(text: string): number[] {
  const [head = '', tail = ''] = text.toLowerCase().split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (`::1.2.3.4`) takes two groups; it only matters if it reaches the first three.
  const expandedTail = tailGroups.flatMap((g) => (g.includes('.') ? ipv4AsGroups(g) : [g]));
  const groups = text.includes('::') ? [...headGroups, ...Array<string>(8 - headGroups.length - expandedTail.length).fill('0'), ...expandedTail] : headGroups.flatMap((g) => (g.includes('.') ? ipv4AsGroups(g) : [g]));
  return groups
    .slice(0, 3)
    .map((g) => parseInt(g, 16));
}

function ipv4AsGroups(text: string): string[] {
  const [a = 0, b = 0, c = 0, d = 0] = text.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
