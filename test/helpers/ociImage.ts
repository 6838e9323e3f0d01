// An OCI image archive made offline from a rootfs folder, for clients that import images
// (`ctr images import`): one uncompressed layer, its config, a manifest and an index naming it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Write the image of ROOTFS, named REF, running CMD, as an OCI archive at OUT (made in a WORK folder). */
export function makeOciArchive(rootfs: string, ref: string, work: string, out: string, cmd = ['sh']): void {
  const blobs = join(work, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (content: Buffer | string, mediaType: string) => {
    const digest = sha256(content);
    writeFileSync(join(blobs, digest), content);
    return { mediaType, digest: `sha256:${digest}`, size: Buffer.byteLength(content) };
  };
  const layerTar = join(work, 'layer.tar');
  const tar = spawnSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', layerTar, '.']);
  if (tar.status !== 0) throw new Error(`tar of ${rootfs}: ${tar.stderr}`);
  const layerBytes = readFileSync(layerTar);
  const layer = blob(layerBytes, 'application/vnd.oci.image.layer.v1.tar');
  const config = blob(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: cmd, Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] }, rootfs: { type: 'layers', diff_ids: [layer.digest] } }),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = blob(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] }), 'application/vnd.oci.image.manifest.v1+json');
  writeFileSync(join(work, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': ref } }] }));
  writeFileSync(join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const archive = spawnSync('tar', ['-C', work, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
  if (archive.status !== 0) throw new Error(`tar of the image: ${archive.stderr}`);
}
