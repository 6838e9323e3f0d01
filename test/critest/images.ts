// The images critest v1.26.1 pulls, made offline (nothing can be pulled here) as OCI images with
// gzip'd layers in a registry store (registry.ts serves it):
//   STORE/blobs/sha256/<hex>   manifests, configs, layers
//   STORE/index.json           { "<host>/<repository>": { "<tag>": "sha256:…" } }
// Stand-ins, each only as much of the real image as the specs look at:
// - busybox: busybox-static's applets as hard links (the rootfs the tests use), but /bin/sh is
//   Debian's dynamic busybox (see SH below), plus shell stand-ins for ipcs and pgrep.
// - nginx, hostnet-nginx, httpd: fake-nginx.c (its title, /var/run/nginx.pid, HTTP 200 on $NGINX_PORT;
//   httpd prints the banner the spec looks for).
// - nonewprivs: nnp.c, setuid root, printing its effective uid; pause: pause.c.
// - the test-image-* family: busybox plus one empty file each, so that their ids differ; the user
//   images set User; predefined-group adds a user in a group the image defines.
// Not possible: test-image-digest@sha256:9700f9a2…, the digest of upstream content.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeRootfs } from '../helpers/fixtures.js';
import { blobWriter, PATH_ENV, sha256, writeImage, type ImageConfig, type Layer } from '../helpers/ociImage.js';

/** The binaries the images are made of besides /bin/busybox. */
export interface StandIns {
  fakeNginx: string;
  pause: string;
  nnp: string;
  /** Debian's dynamic busybox (package busybox): the images' /bin/sh. */
  dynamicBusybox: string;
}

/** Where each repository's tags point: what index.json holds. */
export type RegistryIndex = Record<string, Record<string, string>>;

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`;
const GROUP = ['root:0:', 'daemon:1:', 'bin:2:', 'sys:3:', 'adm:4:', 'tty:5:', 'disk:6:', 'wheel:10:root', 'mail:8:', 'www-data:33:', 'operator:37:', 'staff:50:', 'users:100:', 'nogroup:65534:']
  .map((g) => g.replace(':', ':x:'))
  .join('\n') + '\n';

// busybox-static has no ipcs applet: a stand-in listing /proc/sysvipc in util-linux's column order
// (key, id, owner, perms, bytes, nattch) for `ipcs -m` (the HostIpc specs).
const IPCS = `#!/bin/sh
show() {
  case $1 in shm) echo "------ Shared Memory Segments --------"; echo "key        shmid      owner      perms      bytes      nattch     status";;
             msg) echo "------ Message Queues --------"; echo "key        msqid      owner      perms      used-bytes   messages";;
             sem) echo "------ Semaphore Arrays --------"; echo "key        semid      owner      perms      nsems";; esac
  tail -n +2 /proc/sysvipc/$1 2>/dev/null | while read key id perms a b c d uid rest; do
    case $1 in shm) printf '0x%08x %-10s %-10s %-10s %-10s %-10s\\n' "$key" "$id" "$uid" "$perms" "$a" "$d";;
               *) printf '0x%08x %-10s %-10s %-10s %-10s\\n' "$key" "$id" "$uid" "$perms" "$a";; esac
  done; echo
}
case "$1" in -m) show shm;; -q) show msg;; -s) show sem;; *) show msg; show shm; show sem;; esac
`;
// nor pgrep (run after an ExecSync timeout): PATTERN as an extended regex against /proc/PID/comm,
// the pids printed, status 1 when none.
const PGREP = `#!/bin/sh
pat="$1"; found=1
for d in /proc/[0-9]*; do
  p=\${d#/proc/}; [ "$p" = "$$" ] && continue
  read -r c < $d/comm 2>/dev/null || continue
  if echo "$c" | grep -qE -- "$pat"; then echo $p; found=0; fi
done
exit $found
`;

/** The shared libraries BINARY loads (ldd's paths), its loader among them. */
function librariesOf(binary: string): string[] {
  return [...execFileSync('ldd', [binary], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

/** Build every image into STORE (emptied first), using WORK for the layers' folders; returns the index. */
export function buildImages(store: string, work: string, bins: StandIns): RegistryIndex {
  rmSync(store, { recursive: true, force: true });
  const blob = blobWriter(join(store, 'blobs', 'sha256'));
  let folders = 0;
  /** A layer of the folder FILL makes: a reproducible tar (root-owned, a fixed mtime, sorted), gzip'd. */
  const layer = (fill: (dir: string) => void): Layer => {
    const dir = join(work, `layer-${folders++}`);
    mkdirSync(dir, { recursive: true });
    fill(dir);
    const tar = execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@1500000000', '--format=posix',
      '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', dir, '-cf', '-', '.'], { maxBuffer: 1 << 28 });
    return { descriptor: blob(gzipSync(tar), 'application/vnd.oci.image.layer.v1.tar+gzip'), diffId: `sha256:${sha256(tar)}` };
  };
  const put = (dir: string, path: string, from: string, mode = 0o755) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    copyFileSync(from, join(dir, path));
    chmodSync(join(dir, path), mode);
  };

  const base = layer((dir) => {
    makeRootfs(dir, true);
    for (const d of ['var/run', 'var/www', 'home', 'usr/sbin', 'usr/bin']) mkdirSync(join(dir, d), { recursive: true });
    chmodSync(join(dir, 'tmp'), 0o1777);
    for (const [name, script] of [['ipcs', IPCS], ['pgrep', PGREP]] as const) {
      rmSync(join(dir, 'bin', name), { force: true }); // never written through a hard link to busybox
      writeFileSync(join(dir, 'bin', name), script, { mode: 0o755 });
    }
    // SH: busybox-static's ash is "standalone": it runs applets in-process, so `sh -c ls` runs ls
    // even when /bin/ls is masked. The MaskedPaths spec wants that to fail ("/bin/sh: ls: Permission
    // denied"), as it does with the real image's shell: Debian's dynamic busybox (not standalone),
    // with the libraries it loads.
    rmSync(join(dir, 'bin', 'sh'));
    put(dir, 'bin/sh', bins.dynamicBusybox);
    for (const lib of librariesOf(bins.dynamicBusybox)) put(dir, lib, lib);
    writeFileSync(join(dir, 'etc', 'passwd'), PASSWD);
    writeFileSync(join(dir, 'etc', 'group'), GROUP);
    writeFileSync(join(dir, 'etc', 'shadow'), PASSWD.split('\n').filter(Boolean).map((l) => `${l.split(':')[0]}:*:10933:0:99999:7:::`).join('\n') + '\n');
  });
  const image = (layers: Layer[], config: ImageConfig) => writeImage(blob, layers, { Env: [PATH_ENV], Cmd: ['sh'], ...config }).digest;
  const server = (path: string) =>
    layer((dir) => {
      put(dir, path, bins.fakeNginx);
      mkdirSync(join(dir, 'usr/share/nginx/html'), { recursive: true });
      writeFileSync(join(dir, 'usr/share/nginx/html/index.html'), '<h1>Welcome to nginx!</h1>\n');
    });
  const nginx = server('usr/sbin/nginx');
  const httpd = server('usr/local/apache2/bin/httpd');
  const pause = layer((dir) => put(dir, 'pause', bins.pause));
  const nnp = layer((dir) => put(dir, 'usr/local/bin/nnp', bins.nnp, 0o4755)); // tar keeps the setuid bit, owner root
  const predefinedGroup = layer((dir) => {
    mkdirSync(join(dir, 'etc'));
    mkdirSync(join(dir, 'home/default-user'), { recursive: true });
    writeFileSync(join(dir, 'etc/passwd'), PASSWD + 'default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh\n');
    writeFileSync(join(dir, 'etc/group'), GROUP + 'default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n');
  });
  /** busybox and an empty file NAME: an image of its own id. */
  const marked = (name: string) => image([base, layer((dir) => writeFileSync(join(dir, name), ''))], {});

  const index: RegistryIndex = {};
  const tag = (repo: string, t: string, digest: string) => ((index[repo] ??= {})[t] = digest);
  const e2e = 'registry.k8s.io/e2e-test-images';
  const cri = 'gcr.io/k8s-staging-cri-tools';
  const nginxCmd = { Cmd: ['nginx', '-g', 'daemon off;'], ExposedPorts: { '80/tcp': {} } };
  tag(`${e2e}/busybox`, '1.29-2', image([base], {}));
  tag('registry.k8s.io/pause', '3.6', image([pause], { Cmd: undefined, Entrypoint: ['/pause'] }));
  tag(`${e2e}/nginx`, '1.14-2', image([base, nginx], { ...nginxCmd, Env: [PATH_ENV, 'NGINX_PORT=80'] }));
  tag(`${cri}/hostnet-nginx-amd64`, 'latest', image([base, nginx], { ...nginxCmd, Env: [PATH_ENV, 'NGINX_PORT=12003'] }));
  tag(`${e2e}/httpd`, '2.4.39-4', image([base, httpd], {
    Cmd: ['httpd-foreground'],
    Entrypoint: ['/usr/local/apache2/bin/httpd'],
    ExposedPorts: { '80/tcp': {} },
    Env: ['PATH=/usr/local/apache2/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NGINX_PORT=80', 'FAKE_TITLE=httpd',
      "FAKE_BANNER=[mpm_event:notice] [pid 1:tid 1] AH00489: Apache/2.4.39 (Unix) configured -- resuming normal operations\n[core:notice] [pid 1:tid 1] AH00094: Command line: 'httpd -D FOREGROUND'"],
  }));
  tag(`${e2e}/nonewprivs`, '1.3', image([base, nnp], { Cmd: ['/usr/local/bin/nnp'] }));
  for (const [name, user] of [['test-image-user-uid', '1002'], ['test-image-user-username', 'www-data'], ['test-image-user-uid-group', '1003:1004'], ['test-image-user-username-group', 'www-data:1004']] as const) {
    tag(`${cri}/${name}`, 'latest', image([base], { User: user }));
  }
  tag(`${cri}/test-image-predefined-group`, 'latest', image([base, predefinedGroup], { User: '1000' }));
  for (const name of ['test-image-1', 'test-image-2', 'test-image-3', 'test-image-latest', 'test-image-digest']) tag(`${cri}/${name}`, 'latest', marked(name));
  const same = marked('same-image');
  for (const t of ['1', '2', '3']) tag(`${cri}/test-image-tags`, t, same);
  for (const t of ['test', 'all']) tag(`${cri}/test-image-tag`, t, marked(t));
  writeFileSync(join(store, 'index.json'), JSON.stringify(index, null, 1));
  rmSync(work, { recursive: true, force: true });
  return index;
}
