// linux.netDevices (runtime-spec 1.3): host network devices moved into a new container's network
// namespace, with their permanent global addresses, and set up. Done by berth, from its own network
// namespace, while berth-init waits before the fork. Nothing is moved back: when the namespace dies
// the kernel returns physical devices to the initial namespace and destroys virtual ones, as the
// spec wants.
import { openSync, closeSync } from 'node:fs';
import { IFA, IFF_UP, IFLA, ifaddrmsg, ifinfomsg, RouteSocket, stringAttr, u32Attr, type Attr } from './netlink.js';
import { nsPath } from './compile/namespaces.js';
import type { NetDevice } from './spec/config.js';
import { ConfigError } from './spec/validate.js';

const RT_SCOPE_UNIVERSE = 0;
const IFA_F_PERMANENT = 0x80;
/** Address flags a user sets (ip-address(8)'s nodad, home, mngtmpaddr, noprefixroute, autojoin): carried over. */
const IFA_F_CARRIED = 0x02 | 0x10 | 0x100 | 0x200 | 0x400;
/** An address's own parts that are carried over (not its label: it names the old device). */
const carriedAttrs = [IFA.ADDRESS, IFA.LOCAL, IFA.BROADCAST];

/** Move DEVICES into the network namespace of PID (berth-init's stage 1, in it already). */
export function moveNetDevices(devices: Record<string, NetDevice>, pid: number): void {
  const host = RouteSocket.open();
  const ns = nsPath(pid, 'network');
  const nsFd = openSync(ns, 'r');
  let container: RouteSocket | undefined;
  try {
    container = RouteSocket.openIn(nsFd, ns);
    const hostLinks = host.links();
    const hostAddresses = host.addresses();
    for (const [hostName, { name = hostName }] of Object.entries(devices)) {
      const path = `linux.netDevices.${hostName}`;
      const link = hostLinks.find((l) => l.name === hostName);
      if (!link) throw new ConfigError(path, `berth's network namespace has no device "${hostName}"`);
      const flagsOf = (a: (typeof hostAddresses)[number]) => a.attrs.get(IFA.FLAGS)?.readUInt32LE(0) ?? a.flags;
      const kept = hostAddresses.filter((a) => a.index === link.index && a.scope === RT_SCOPE_UNIVERSE && flagsOf(a) & IFA_F_PERMANENT);
      // Checked before the move: a rename the kernel refuses comes after the device has moved.
      const before = container.links();
      if (before.some((l) => l.name === name))
        throw new ConfigError(name === hostName ? path : `${path}.name`, `the container's network namespace has a device "${name}" already (a %d in the name lets the kernel number it)`);
      host.setLink(ifinfomsg(link.index), [u32Attr(IFLA.NET_NS_FD, nsFd), stringAttr(IFLA.IFNAME, name)], `move ${hostName} into the container`);
      // The kernel may give it another index (and a %d its number): it is the one that was not there.
      const moved = container.links().find((l) => !before.some((b) => b.index === l.index));
      if (!moved) throw new ConfigError(path, 'the device did not arrive in the container\'s network namespace');
      for (const a of kept) {
        const flags = flagsOf(a) & IFA_F_CARRIED;
        const attrs: Attr[] = carriedAttrs.filter((t) => a.attrs.has(t)).map((t) => ({ type: t, data: a.attrs.get(t)! }));
        container.addAddress(ifaddrmsg(a.family, a.prefixlen, flags & 0xff, a.scope, moved.index), [...attrs, u32Attr(IFA.FLAGS, flags)], `give ${moved.name} its address back`);
      }
      container.setLink(ifinfomsg(moved.index, IFF_UP, IFF_UP), [], `set ${moved.name} up`);
    }
  } finally {
    container?.close();
    closeSync(nsFd);
    host.close();
  }
}
